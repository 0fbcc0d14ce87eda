package api

import (
	"context"
	"strings"

	"github.com/opencamcloud/camcloud/internal/relay/store"
)

// people names the persons behind principal IDs (a job's creator, an audit entry's
// principal) by their e-mail addresses, so that answers show who did something and not
// only an ID. It reads each user once per answer; made per request, not shared.
type people struct {
	store *store.Store
	known map[string]string
}

func (a *API) people() *people { return &people{store: a.store, known: map[string]string{}} }

// email is the e-mail address of the user with this ID; "" for applications, agents and
// users that no longer exist (the ID is all that is left of them).
func (p *people) email(ctx context.Context, id string) string {
	if !strings.HasPrefix(id, "usr_") {
		return ""
	}
	if e, ok := p.known[id]; ok {
		return e
	}
	u, err := p.store.User(ctx, id)
	if err != nil {
		u.Email = "" // gone, or unreadable: the answer keeps the ID
	}
	p.known[id] = u.Email
	return u.Email
}
