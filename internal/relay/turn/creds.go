package turn

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // the TURN REST API scheme is HMAC-SHA1; coturn checks the same.
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SecretSize is the length of a generated shared secret in bytes.
const SecretSize = 32

// NewSecret returns a random shared secret, base64 text (as coturn's
// static-auth-secret takes it: the secret is the string itself, not its decoding).
func NewSecret() string {
	b := make([]byte, SecretSize)
	_, _ = rand.Read(b) // never fails since Go 1.24
	return base64.RawURLEncoding.EncodeToString(b)
}

// Credential is a short-lived TURN username and password for one organization.
type Credential struct {
	Username  string    // "<expiry-unix>:<org>"
	Password  string    // base64(HMAC-SHA1(secret, Username))
	ExpiresAt time.Time // the expiry the username carries, to the second
}

// NewCredential derives the credential for org that expires at expires. Anyone who
// holds secret computes the same password, which is what lets coturn (with
// use-auth-secret and the same static-auth-secret) check it instead of this package.
func NewCredential(secret, org string, expires time.Time) Credential {
	u := strconv.FormatInt(expires.Unix(), 10) + ":" + org
	return Credential{Username: u, Password: password(secret, u), ExpiresAt: time.Unix(expires.Unix(), 0).UTC()}
}

func password(secret, username string) string {
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

var errMalformed = errors.New("not an <expiry>:<organization> username")

// parseUsername splits a REST API username into its expiry and organization.
func parseUsername(u string) (time.Time, string, error) {
	ts, org, ok := strings.Cut(u, ":")
	if !ok || org == "" {
		return time.Time{}, "", errMalformed
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sec <= 0 {
		return time.Time{}, "", fmt.Errorf("%w: expiry %q", errMalformed, ts)
	}
	return time.Unix(sec, 0), org, nil
}
