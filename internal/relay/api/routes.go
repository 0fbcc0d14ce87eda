package api

import (
	"net/http"

	"github.com/opencamcloud/camcloud/internal/relay/role"
)

// Access says who may call a route.
type Access int

const (
	// Public routes need no credentials (token endpoint, health, metrics).
	Public Access = iota
	// OptionalAuth routes work without credentials but use them when given
	// (accepting an invitation as a logged-in user or as a new one).
	OptionalAuth
	// Authenticated routes take any valid bearer token, of a person or an application.
	Authenticated
	// UserOnly routes take only a person's token (creating an organization).
	UserOnly
	// Org routes act inside the organization named by {org}: the caller must belong to it
	// (else 404) and hold at least MinRole there (else 403).
	Org
	// Agent routes take an enrolled agent's client certificate (mutual TLS with the
	// relay's CA) instead of a bearer token: the agent link.
	Agent
	// RelayAdmin routes are for the people who run the relay: admins of its operator
	// organization (the one made at first start). They manage the software catalog.
	RelayAdmin
)

// String names the access level for tests and documentation.
func (a Access) String() string {
	switch a {
	case Public:
		return "public"
	case OptionalAuth:
		return "optional-auth"
	case Authenticated:
		return "authenticated"
	case UserOnly:
		return "user"
	case Org:
		return "org"
	case Agent:
		return "agent"
	case RelayAdmin:
		return "relay-admin"
	}
	return "unknown"
}

// Route is one row of the permission table.
type Route struct {
	Method  string
	Pattern string // net/http ServeMux pattern, also the OpenAPI path
	Access  Access
	MinRole role.Role // for Access == Org
	// SecretPath marks routes whose path holds a secret (an invitation code): the log
	// shows only the pattern.
	SecretPath bool
	// MaxBody overrides Config.MaxBodyBytes for routes that take files; -1: no limit.
	MaxBody int64
	// EdgeLink marks the routes through the agent link: every call of a member of the
	// organization is audited, refused ones included.
	EdgeLink bool
	// CORS marks routes other origins may call (WHEP players): their answers, errors
	// included, allow any origin, since they authenticate with bearer tokens.
	CORS   bool
	handle func(*API, http.ResponseWriter, *http.Request) error
}

// vapixPattern is EdgeLink to a device's VAPIX; vmsPattern to a VMS server.
const (
	vapixPattern = "/api/v1/orgs/{org}/devices/{serial}/vapix/{path...}"
	vmsPattern   = "/api/v1/orgs/{org}/edgehosts/{id}/vms/{name}/{path...}"
)

// table is the one permission table: the router is built from it and the tests walk it.
// Roles (DESIGN.md): viewer — live video only, so it may see the organization, its
// devices and groups; operator — also device operation, so it sees edge hosts and their
// link state; admin — everything, including people, clients, devices and edge hosts.
var table = []Route{
	{Method: "GET", Pattern: "/healthz", Access: Public, handle: (*API).healthz},
	{Method: "GET", Pattern: "/metrics", Access: Public, handle: (*API).serveMetrics},

	{Method: "POST", Pattern: "/api/v1/auth/token", Access: Public, handle: (*API).token},
	{Method: "POST", Pattern: "/api/v1/auth/revoke", Access: Authenticated, handle: (*API).revoke},
	{Method: "GET", Pattern: "/api/v1/me", Access: Authenticated, handle: (*API).me},
	{Method: "GET", Pattern: "/api/v1/auth/two-factor", Access: UserOnly, handle: (*API).getTwoFactor},
	{Method: "POST", Pattern: "/api/v1/auth/two-factor", Access: UserOnly, handle: (*API).startTwoFactor},
	{Method: "POST", Pattern: "/api/v1/auth/two-factor/confirm", Access: UserOnly, handle: (*API).confirmTwoFactor},
	{Method: "POST", Pattern: "/api/v1/auth/two-factor/disable", Access: UserOnly, handle: (*API).disableTwoFactor},
	{Method: "POST", Pattern: "/api/v1/auth/two-factor/recovery-codes", Access: UserOnly, handle: (*API).renewRecoveryCodes},
	{Method: "POST", Pattern: "/api/v1/agent/enroll", Access: Public, handle: (*API).enrollEdgeHost},
	{Method: "GET", Pattern: "/api/v1/agent/link", Access: Agent, handle: (*API).agentLink},
	{Method: "POST", Pattern: "/api/v1/agent/challenge", Access: Public, handle: (*API).deviceChallenge},
	{Method: "POST", Pattern: "/api/v1/agent/enroll-device", Access: Public, handle: (*API).enrollDevice},
	{Method: "GET", Pattern: "/api/v1/releases", Access: Authenticated, handle: (*API).listReleases},
	{Method: "POST", Pattern: "/api/v1/releases", Access: RelayAdmin, MaxBody: 2<<30 + 1, handle: (*API).addRelease},
	{Method: "GET", Pattern: "/api/v1/releases/{id}", Access: Authenticated, handle: (*API).getRelease},
	{Method: "DELETE", Pattern: "/api/v1/releases/{id}", Access: RelayAdmin, handle: (*API).deleteRelease},
	{Method: "POST", Pattern: "/api/v1/invitations/{code}/accept", Access: OptionalAuth, SecretPath: true, handle: (*API).acceptInvitation},

	{Method: "POST", Pattern: "/api/v1/orgs", Access: UserOnly, handle: (*API).createOrg},
	{Method: "GET", Pattern: "/api/v1/orgs", Access: Authenticated, handle: (*API).listOrgs},
	{Method: "GET", Pattern: "/api/v1/orgs/{org}", Access: Org, MinRole: role.Viewer, handle: (*API).getOrg},
	{Method: "PATCH", Pattern: "/api/v1/orgs/{org}", Access: Org, MinRole: role.Admin, handle: (*API).patchOrg},
	{Method: "DELETE", Pattern: "/api/v1/orgs/{org}", Access: Org, MinRole: role.Admin, handle: (*API).deleteOrg},

	{Method: "GET", Pattern: "/api/v1/orgs/{org}/members", Access: Org, MinRole: role.Admin, handle: (*API).listMembers},
	{Method: "GET", Pattern: "/api/v1/orgs/{org}/members/{user}", Access: Org, MinRole: role.Admin, handle: (*API).getMember},
	{Method: "PATCH", Pattern: "/api/v1/orgs/{org}/members/{user}", Access: Org, MinRole: role.Admin, handle: (*API).patchMember},
	{Method: "DELETE", Pattern: "/api/v1/orgs/{org}/members/{user}", Access: Org, MinRole: role.Admin, handle: (*API).deleteMember},

	{Method: "POST", Pattern: "/api/v1/orgs/{org}/invitations", Access: Org, MinRole: role.Admin, handle: (*API).createInvitation},
	{Method: "GET", Pattern: "/api/v1/orgs/{org}/invitations", Access: Org, MinRole: role.Admin, handle: (*API).listInvitations},
	{Method: "DELETE", Pattern: "/api/v1/orgs/{org}/invitations/{id}", Access: Org, MinRole: role.Admin, handle: (*API).deleteInvitation},

	{Method: "POST", Pattern: "/api/v1/orgs/{org}/clients", Access: Org, MinRole: role.Admin, handle: (*API).createClient},
	{Method: "GET", Pattern: "/api/v1/orgs/{org}/clients", Access: Org, MinRole: role.Admin, handle: (*API).listClients},
	{Method: "GET", Pattern: "/api/v1/orgs/{org}/clients/{id}", Access: Org, MinRole: role.Admin, handle: (*API).getClient},
	{Method: "DELETE", Pattern: "/api/v1/orgs/{org}/clients/{id}", Access: Org, MinRole: role.Admin, handle: (*API).deleteClient},

	{Method: "POST", Pattern: "/api/v1/orgs/{org}/resource-groups", Access: Org, MinRole: role.Admin, handle: (*API).createGroup},
	{Method: "GET", Pattern: "/api/v1/orgs/{org}/resource-groups", Access: Org, MinRole: role.Viewer, handle: (*API).listGroups},
	{Method: "GET", Pattern: "/api/v1/orgs/{org}/resource-groups/{id}", Access: Org, MinRole: role.Viewer, handle: (*API).getGroup},
	{Method: "PATCH", Pattern: "/api/v1/orgs/{org}/resource-groups/{id}", Access: Org, MinRole: role.Admin, handle: (*API).patchGroup},
	{Method: "DELETE", Pattern: "/api/v1/orgs/{org}/resource-groups/{id}", Access: Org, MinRole: role.Admin, handle: (*API).deleteGroup},

	{Method: "GET", Pattern: "/api/v1/orgs/{org}/devices", Access: Org, MinRole: role.Viewer, handle: (*API).listDevices},
	{Method: "POST", Pattern: "/api/v1/orgs/{org}/devices", Access: Org, MinRole: role.Admin, handle: (*API).addDevice},
	{Method: "GET", Pattern: "/api/v1/orgs/{org}/devices/{serial}", Access: Org, MinRole: role.Viewer, handle: (*API).getDevice},
	{Method: "PATCH", Pattern: "/api/v1/orgs/{org}/devices/{serial}", Access: Org, MinRole: role.Admin, handle: (*API).patchDevice},
	{Method: "DELETE", Pattern: "/api/v1/orgs/{org}/devices/{serial}", Access: Org, MinRole: role.Admin, handle: (*API).deleteDevice},

	// EdgeLink: operators and admins reach VAPIX (which calls, vapix decides); viewers do not.
	{Method: "GET", Pattern: vapixPattern, Access: Org, MinRole: role.Operator, MaxBody: -1, EdgeLink: true, handle: (*API).vapix},
	{Method: "POST", Pattern: vapixPattern, Access: Org, MinRole: role.Operator, MaxBody: -1, EdgeLink: true, handle: (*API).vapix},
	{Method: "PUT", Pattern: vapixPattern, Access: Org, MinRole: role.Operator, MaxBody: -1, EdgeLink: true, handle: (*API).vapix},
	{Method: "PATCH", Pattern: vapixPattern, Access: Org, MinRole: role.Operator, MaxBody: -1, EdgeLink: true, handle: (*API).vapix},
	{Method: "DELETE", Pattern: vapixPattern, Access: Org, MinRole: role.Operator, MaxBody: -1, EdgeLink: true, handle: (*API).vapix},
	{Method: "POST", Pattern: "/api/v1/orgs/{org}/edgehosts/{id}/graphql", Access: Org, MinRole: role.Operator, EdgeLink: true, handle: (*API).graphql},
	{Method: "GET", Pattern: "/api/v1/orgs/{org}/edgehosts/{id}/vms", Access: Org, MinRole: role.Operator, handle: (*API).listVMS},
	{Method: "PUT", Pattern: "/api/v1/orgs/{org}/edgehosts/{id}/vms/{name}", Access: Org, MinRole: role.Admin, handle: (*API).putVMS},
	{Method: "DELETE", Pattern: "/api/v1/orgs/{org}/edgehosts/{id}/vms/{name}", Access: Org, MinRole: role.Admin, handle: (*API).deleteVMS},
	{Method: "GET", Pattern: vmsPattern, Access: Org, MinRole: role.Operator, MaxBody: -1, EdgeLink: true, handle: (*API).vmsCall},
	{Method: "POST", Pattern: vmsPattern, Access: Org, MinRole: role.Admin, MaxBody: -1, EdgeLink: true, handle: (*API).vmsCall},
	{Method: "PUT", Pattern: vmsPattern, Access: Org, MinRole: role.Admin, MaxBody: -1, EdgeLink: true, handle: (*API).vmsCall},
	{Method: "PATCH", Pattern: vmsPattern, Access: Org, MinRole: role.Admin, MaxBody: -1, EdgeLink: true, handle: (*API).vmsCall},
	{Method: "DELETE", Pattern: vmsPattern, Access: Org, MinRole: role.Admin, MaxBody: -1, EdgeLink: true, handle: (*API).vmsCall},
	// Live video (WHEP): viewers and up; preflight needs no credentials.
	{Method: "POST", Pattern: whepPattern, Access: Org, MinRole: role.Viewer, MaxBody: maxWHEPBody, CORS: true, handle: (*API).whepOffer},
	{Method: "OPTIONS", Pattern: whepPattern, Access: Public, CORS: true, handle: (*API).whepOptions},
	{Method: "PATCH", Pattern: whepSessionPattern, Access: Org, MinRole: role.Viewer, MaxBody: maxWHEPBody, CORS: true, handle: (*API).whepPatch},
	{Method: "DELETE", Pattern: whepSessionPattern, Access: Org, MinRole: role.Viewer, CORS: true, handle: (*API).whepDelete},
	{Method: "OPTIONS", Pattern: whepSessionPattern, Access: Public, CORS: true, handle: (*API).whepOptions},
	{Method: "GET", Pattern: "/api/v1/orgs/{org}/audit", Access: Org, MinRole: role.Admin, handle: (*API).auditLog},
	// WebRTC: STUN/TURN servers with short-lived credentials; viewers watch live video.
	{Method: "GET", Pattern: "/api/v1/orgs/{org}/ice-servers", Access: Org, MinRole: role.Viewer, handle: (*API).getICEServers},

	{Method: "POST", Pattern: "/api/v1/orgs/{org}/edgehosts", Access: Org, MinRole: role.Admin, handle: (*API).createEdgeHost},
	{Method: "GET", Pattern: "/api/v1/orgs/{org}/edgehosts", Access: Org, MinRole: role.Operator, handle: (*API).listEdgeHosts},
	{Method: "GET", Pattern: "/api/v1/orgs/{org}/edgehosts/{id}", Access: Org, MinRole: role.Operator, handle: (*API).getEdgeHost},
	{Method: "DELETE", Pattern: "/api/v1/orgs/{org}/edgehosts/{id}", Access: Org, MinRole: role.Admin, handle: (*API).deleteEdgeHost},
	{Method: "GET", Pattern: "/api/v1/orgs/{org}/edgehosts/{id}/discovered", Access: Org, MinRole: role.Operator, handle: (*API).listDiscovered},
	{Method: "POST", Pattern: "/api/v1/orgs/{org}/edgehosts/{id}/onboard", Access: Org, MinRole: role.Admin, handle: (*API).onboard},

	{Method: "GET", Pattern: "/api/v1/orgs/{org}/profiles", Access: Org, MinRole: role.Operator, handle: (*API).listProfiles},
	{Method: "POST", Pattern: "/api/v1/orgs/{org}/profiles", Access: Org, MinRole: role.Admin, handle: (*API).createProfile},
	{Method: "GET", Pattern: "/api/v1/orgs/{org}/profiles/{name}", Access: Org, MinRole: role.Operator, handle: (*API).getProfile},
	{Method: "PUT", Pattern: "/api/v1/orgs/{org}/profiles/{name}", Access: Org, MinRole: role.Admin, handle: (*API).putProfile},
	{Method: "DELETE", Pattern: "/api/v1/orgs/{org}/profiles/{name}", Access: Org, MinRole: role.Admin, handle: (*API).deleteProfile},

	{Method: "POST", Pattern: "/api/v1/orgs/{org}/jobs", Access: Org, MinRole: role.Admin, handle: (*API).createJob},
	{Method: "GET", Pattern: "/api/v1/orgs/{org}/jobs", Access: Org, MinRole: role.Operator, handle: (*API).listJobs},
	{Method: "GET", Pattern: "/api/v1/orgs/{org}/jobs/{id}", Access: Org, MinRole: role.Operator, handle: (*API).getJob},
	{Method: "POST", Pattern: "/api/v1/orgs/{org}/jobs/{id}/cancel", Access: Org, MinRole: role.Admin, handle: (*API).cancelJob},
	{Method: "GET", Pattern: "/api/v1/orgs/{org}/jobs/{id}/events", Access: Org, MinRole: role.Operator, handle: (*API).jobEvents},
	{Method: "GET", Pattern: "/api/v1/orgs/{org}/tasks", Access: Org, MinRole: role.Operator, handle: (*API).listTasks},
	{Method: "GET", Pattern: "/api/v1/orgs/{org}/tasks/{id}", Access: Org, MinRole: role.Operator, handle: (*API).getTask},
}

// Routes returns a copy of the permission table.
func Routes() []Route {
	out := make([]Route, len(table))
	copy(out, table)
	for i := range out {
		out[i].handle = nil
	}
	return out
}
