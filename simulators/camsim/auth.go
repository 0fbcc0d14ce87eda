package camsim

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/icholy/digest"
)

// nonceLifetime is Apache mod_auth_digest's default: an older nonce is answered with a new
// challenge carrying stale=true (vapix.md 1.1).
const nonceLifetime = 300 * time.Second

// authResult is what the Authorization header of a request proved.
type authResult int

const (
	authNone  authResult = iota // no credentials presented
	authOK                      // valid credentials of an existing account
	authBad                     // unknown user, wrong password, malformed or replayed
	authStale                   // right password on an expired nonce: retry with a fresh one
)

// digestAuth is the server half of HTTP Digest as an Axis camera's Apache does it: MD5,
// qop="auth", nonces in mod_auth_digest form (12 base64 characters of timestamp + 40 hex
// characters of SHA-1), the request URI checked strictly, nonce counts that must increase.
type digestAuth struct {
	realm  string
	secret [20]byte
	now    func() time.Time

	mu   sync.Mutex
	seen map[string]*ncWindow // nonce -> nonce counts accepted
}

// ncWindow remembers the nonce counts accepted for one nonce: the highest, and which of
// the ncWindowSize below it were used. Concurrent requests of one client arrive out of
// order, so a count is accepted once, in any order, as long as it is not too old.
type ncWindow struct {
	max  uint32
	used [ncWindowSize / 64]uint64 // bit nc%ncWindowSize
}

const ncWindowSize = 4096

func (w *ncWindow) bit(nc uint32) (int, uint64) {
	i := nc % ncWindowSize
	return int(i / 64), uint64(1) << (i % 64)
}

func (w *ncWindow) accept(nc uint32) bool {
	switch {
	case nc > w.max:
		if nc-w.max >= ncWindowSize {
			w.used = [ncWindowSize / 64]uint64{}
		} else {
			for n := w.max + 1; n < nc; n++ {
				i, b := w.bit(n)
				w.used[i] &^= b
			}
		}
		w.max = nc
		i, b := w.bit(nc)
		w.used[i] |= b
		return true
	case w.max-nc >= ncWindowSize:
		return false
	default:
		i, b := w.bit(nc)
		if w.used[i]&b != 0 {
			return false
		}
		w.used[i] |= b
		return true
	}
}

func newDigestAuth(realm string) *digestAuth {
	d := &digestAuth{realm: realm, now: time.Now, seen: map[string]*ncWindow{}}
	if _, err := rand.Read(d.secret[:]); err != nil {
		panic(fmt.Sprintf("camsim: no randomness for nonces: %v", err))
	}
	return d
}

func (d *digestAuth) nonceAt(ts time.Time) string {
	var raw [8]byte
	binary.LittleEndian.PutUint64(raw[:], uint64(ts.UnixMicro()))
	stamp := base64.StdEncoding.EncodeToString(raw[:])
	h := sha1.New()
	h.Write([]byte(stamp))
	h.Write(d.secret[:])
	h.Write([]byte(d.realm))
	return stamp + hex.EncodeToString(h.Sum(nil))
}

// checkNonce reports whether the nonce is one of ours and whether it is still fresh.
func (d *digestAuth) checkNonce(nonce string) (ours, fresh bool) {
	if len(nonce) != 52 {
		return false, false
	}
	raw, err := base64.StdEncoding.DecodeString(nonce[:12])
	if err != nil || len(raw) != 8 {
		return false, false
	}
	ts := time.UnixMicro(int64(binary.LittleEndian.Uint64(raw)))
	if subtle.ConstantTimeCompare([]byte(d.nonceAt(ts)), []byte(nonce)) != 1 {
		return false, false
	}
	return true, d.now().Sub(ts) < nonceLifetime
}

// Challenge is the WWW-Authenticate value of a 401: realm, nonce, algorithm, qop in that
// order, as recorded from real devices; stale=true only when a valid nonce expired.
func (d *digestAuth) Challenge(stale bool) string {
	c := fmt.Sprintf(`Digest realm="%s", nonce="%s", algorithm=MD5, qop="auth"`, d.realm, d.nonceAt(d.now()))
	if stale {
		c += ", stale=true"
	}
	return c
}

// Verify checks the Authorization header of r against the accounts lookup knows.
func (d *digestAuth) Verify(r *http.Request, lookup func(name string) (User, bool)) (User, authResult) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return User{}, authNone
	}
	if !digest.IsDigest(h) {
		// Basic (or anything else) is refused over plain HTTP under the default policy.
		return User{}, authBad
	}
	cred, err := digest.ParseCredentials(h)
	if err != nil || cred.Realm != d.realm || cred.URI != r.RequestURI ||
		!strings.EqualFold(cred.QOP, "auth") || cred.Nc <= 0 || cred.Cnonce == "" ||
		(cred.Algorithm != "" && !strings.EqualFold(cred.Algorithm, "MD5")) {
		return User{}, authBad
	}
	u, ok := lookup(cred.Username)
	if !ok {
		return User{}, authBad
	}
	ha1 := md5hex(u.Name + ":" + d.realm + ":" + u.Password)
	ha2 := md5hex(r.Method + ":" + cred.URI)
	want := md5hex(fmt.Sprintf("%s:%s:%08x:%s:%s:%s", ha1, cred.Nonce, cred.Nc, cred.Cnonce, strings.ToLower(cred.QOP), ha2))
	if subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(cred.Response))) != 1 {
		return User{}, authBad
	}
	ours, fresh := d.checkNonce(cred.Nonce)
	switch {
	case !ours:
		return User{}, authBad
	case !fresh:
		return User{}, authStale
	}
	if !d.acceptCount(cred.Nonce, uint32(cred.Nc)) {
		return User{}, authBad
	}
	return u, authOK
}

// acceptCount accepts each nonce count of a nonce once, which stops replays.
func (d *digestAuth) acceptCount(nonce string, nc uint32) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	w, ok := d.seen[nonce]
	if !ok {
		if len(d.seen) > 4096 {
			d.prune()
		}
		w = &ncWindow{}
		d.seen[nonce] = w
	}
	return w.accept(nc)
}

// prune forgets expired nonces; they are refused as stale before their count matters.
func (d *digestAuth) prune() {
	for n := range d.seen {
		if _, fresh := d.checkNonce(n); !fresh {
			delete(d.seen, n)
		}
	}
}

// verifyBasic checks Basic credentials, used only when a fleet enables Basic for clients
// that cannot do Digest.
func verifyBasic(r *http.Request, lookup func(name string) (User, bool)) (User, authResult) {
	name, pass, ok := r.BasicAuth()
	if !ok {
		if r.Header.Get("Authorization") == "" {
			return User{}, authNone
		}
		return User{}, authBad
	}
	u, found := lookup(name)
	if !found || subtle.ConstantTimeCompare([]byte(u.Password), []byte(pass)) != 1 {
		return User{}, authBad
	}
	return u, authOK
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
