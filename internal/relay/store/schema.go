package store

import "github.com/opencamcloud/camcloud/internal/relay/ident"

// The bbolt layout: every bucket name and key encoding is here and nowhere else.
//
// Values are JSON documents of the record types in this package, so a dump with
// `bbolt get` is readable. Keys:
//
//	meta              "schema"                      -> schemaVersion
//	users             userID                        -> User (its TOTP secret sealed, see TwoFactor)
//	users_by_email    ident.Key(email)              -> userID
//	                  "!" userID                    -> userID (a look-alike account, see reindexEmails)
//	orgs              orgID                         -> Org
//	members           orgID "/" userID              -> Member (role, added)
//	member_orgs       userID "/" orgID              -> empty (reverse index of members)
//	tokens            sha256(token), 32 bytes       -> Token
//	token_subjects    subjectID "/" hex(sha256)     -> empty (tokens of a user or client)
//	clients           clientID                      -> Client
//	org_clients       orgID "/" clientID            -> empty
//	invitations       orgID "/" invitationID        -> Invitation
//	invitation_codes  sha256(code)                  -> orgID "/" invitationID
//	groups            orgID "/" groupID             -> Group
//	devices           orgID "/" SERIAL (upper case) -> Device (the organization's record of the device)
//	device_orgs       SERIAL "/" orgID              -> empty (which organizations have a record of a serial)
//	device_owners     SERIAL                        -> orgID (the one organization that proved the device is its own)
//	edgehosts         orgID "/" edgehostID          -> EdgeHost
//	enrollment_tokens sha256(token)                 -> EnrollmentToken
//	profiles          orgID "/" name                -> profile.Profile
//	discovered        orgID "/" edgehostID          -> []linkapi.DiscoveredDevice (the last report)
//	tasks             orgID "/" taskID              -> Task without its transitions
//	task_log          orgID "/" taskID              -> []linkapi.Transition (the task's transitions)
//	jobs              orgID "/" jobID               -> Job
//	job_tasks         jobID "/" taskID              -> empty (the tasks of a job)
//	active_jobs       orgID "/" jobID               -> empty (jobs not ended, for the task manager)
//	releases          releaseID                     -> Release (global: the software catalog)
//	audit             orgID "/" time(8) seq(8)      -> AuditEntry (binary big-endian, time order)
//	vms               orgID "/" edgehostID "/" name -> VMSServer
//	meta              "operator_org"                -> orgID whose admins manage releases
//
// Several organizations may hold a record of one serial as long as none proved it is
// theirs (a light registration, a claim whose OAK no agent has proven): such records block
// nobody. A proof (the device's agent proving its OAK, or an onboarding through the
// organization's edge host with the device's admin credentials) makes device_owners name
// the organization and removes every other organization's record of the serial. Only a
// proven record has an agent (edgeHost, agentId).
//
// An edge host's record lists the serials it must forget (EdgeHost.Forget): devices
// deleted or moved away from it, until it stops reporting them.
//
// Schema 1 kept devices under SERIAL alone, with an org_devices index; Open migrates it.
//
// IDs are a type prefix and random base32 (see newID) and never contain "/", so
// "orgID/" is a safe prefix for a cursor scan. Keep the buckets and the indexes in step
// inside one Update; Check verifies that they are.

// schemaVersion 2: users_by_email is keyed by ident.Key (version 1: the lower-cased
// address) and devices are kept per organization; Open moves a version 1 database on.
const schemaVersion = "2"

var (
	bucketMeta             = []byte("meta")
	bucketUsers            = []byte("users")
	bucketUsersByEmail     = []byte("users_by_email")
	bucketOrgs             = []byte("orgs")
	bucketMembers          = []byte("members")
	bucketMemberOrgs       = []byte("member_orgs")
	bucketTokens           = []byte("tokens")
	bucketTokenSubjects    = []byte("token_subjects")
	bucketClients          = []byte("clients")
	bucketOrgClients       = []byte("org_clients")
	bucketInvitations      = []byte("invitations")
	bucketInvitationCodes  = []byte("invitation_codes")
	bucketGroups           = []byte("groups")
	bucketDevices          = []byte("devices")
	bucketDeviceOrgs       = []byte("device_orgs")
	bucketDeviceOwners     = []byte("device_owners")
	bucketEdgeHosts        = []byte("edgehosts")
	bucketEnrollmentTokens = []byte("enrollment_tokens")
	bucketProfiles         = []byte("profiles")
	bucketDiscovered       = []byte("discovered")
	bucketTasks            = []byte("tasks")
	bucketTaskLog          = []byte("task_log")
	bucketJobs             = []byte("jobs")
	bucketJobTasks         = []byte("job_tasks")
	bucketActiveJobs       = []byte("active_jobs")
	bucketReleases         = []byte("releases")
	bucketAudit            = []byte("audit")
	bucketVMS              = []byte("vms")
)

var allBuckets = [][]byte{
	bucketMeta, bucketUsers, bucketUsersByEmail, bucketOrgs, bucketMembers, bucketMemberOrgs,
	bucketTokens, bucketTokenSubjects, bucketClients, bucketOrgClients, bucketInvitations,
	bucketInvitationCodes, bucketGroups, bucketDevices, bucketDeviceOrgs, bucketDeviceOwners, bucketEdgeHosts,
	bucketEnrollmentTokens, bucketProfiles, bucketDiscovered, bucketTasks,
	bucketTaskLog, bucketJobs, bucketJobTasks, bucketActiveJobs, bucketReleases, bucketAudit, bucketVMS,
}

var (
	keySchema      = []byte("schema")
	keyOperatorOrg = []byte("operator_org")
)

// ID prefixes, so that an ID says what it names.
const (
	prefixUser       = "usr_"
	prefixOrg        = "org_"
	prefixClient     = "cli_"
	prefixInvitation = "inv_"
	prefixGroup      = "grp_"
	prefixEdgeHost   = "eh_"
	prefixJob        = "job_"
	prefixTask       = "tsk_"
	prefixRelease    = "rel_"
)

// pair is the key of a record or index entry that belongs to a parent: parent "/" child.
func pair(parent, child string) []byte { return []byte(parent + "/" + child) }

// prefixOf is the scan prefix of everything under parent.
func prefixOf(parent string) []byte { return []byte(parent + "/") }

// emailKey is the users_by_email key: addresses are the same account when their
// ident.Key is.
func emailKey(email string) []byte { return []byte(ident.Key(email)) }

// lookAlikeKey is the users_by_email entry of an account whose address is another,
// earlier account's under ident.Key (made by a relay that compared addresses only
// lower-cased). No address has this key ("!" and no "@"), so the account is kept with
// its memberships but cannot sign in by address.
func lookAlikeKey(userID string) []byte { return []byte("!" + userID) }
