// Package graph is the edge host's own GraphQL API (graph-gophers/graphql-go): the
// devices it manages with their state, drift and difference from their profile, what it
// found on its network, and its tasks; mutations add a device by address and run a task.
// The relay reaches it over the agent link (EdgeLink, /api/v1/orgs/{org}/edgehosts/{id}/graphql)
// and it is served on the edge host itself for an on-premise VMS.
package graph

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"

	graphql "github.com/graph-gophers/graphql-go"
	"github.com/graph-gophers/graphql-go/relay"

	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/pkg/taskengine"
)

//go:embed schema.graphql
var schema string

// Fleet is what the API shows and does (a *fleet.Manager).
type Fleet interface {
	LastInventory() []linkapi.DeviceReport
	PollDevice(ctx context.Context, serial string) (linkapi.DeviceReport, bool)
	Modes() map[string]string // serial -> mode
	Discovered() []linkapi.DiscoveredDevice
	AddAddress(ctx context.Context, addr string) (linkapi.DiscoveredDevice, error)
	TaskRecords() ([]taskengine.Record, error)
	RunLocalTask(kind, serial string, params json.RawMessage) (taskengine.Record, error)
}

// Agent identifies the edge host.
type Agent struct {
	ID, Org, Version string
}

// Config is what the API needs.
type Config struct {
	Fleet Fleet
	Agent Agent
}

// Handler serves the API: POST {"query": ..., "variables": ...}. Mutations need an
// admin (see WithAdmin).
func Handler(cfg Config) (http.Handler, error) {
	if cfg.Fleet == nil {
		return nil, errors.New("graph: Config.Fleet is required")
	}
	s, err := graphql.ParseSchema(schema, &resolver{cfg: cfg}, graphql.UseFieldResolvers(), graphql.MaxDepth(8),
		graphql.MaxQueryLength(16<<10), graphql.MaxParallelism(4))
	if err != nil {
		return nil, err
	}
	h := &relay.Handler{Schema: s}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b budget
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), budgetKey{}, &b)))
	}), nil
}

// requestBudget bounds the work one request may ask for: aliases make one query ask
// for the same field hundreds of times, and a device field reads the camera live.
const (
	requestBudget = 16 // units per request
	listCost      = 1  // devices, discovered, tasks: read from memory or the journal
	pollCost      = 4  // device(serial): polls the camera
)

// budget is what a request has spent of requestBudget.
type budget struct{ spent atomic.Int32 }

type budgetKey struct{}

// ErrTooMuch: a request asked for more than requestBudget allows.
var ErrTooMuch = fmt.Errorf("this request asks for too much at once: at most %d list fields, or %d device fields, per request", requestBudget/listCost, requestBudget/pollCost)

// spend takes cost from the request's budget; requests served without Handler's budget
// (tests calling resolvers directly) are not limited.
func spend(ctx context.Context, cost int32) error {
	b, _ := ctx.Value(budgetKey{}).(*budget)
	if b != nil && b.spent.Add(cost) > requestBudget {
		return ErrTooMuch
	}
	return nil
}

type adminKey struct{}

// WithAdmin marks a request's context as an admin's: mutations are allowed.
func WithAdmin(ctx context.Context) context.Context { return context.WithValue(ctx, adminKey{}, true) }

func isAdmin(ctx context.Context) bool { v, _ := ctx.Value(adminKey{}).(bool); return v }

// ErrNotAdmin: a mutation by someone who is not an admin.
var ErrNotAdmin = errors.New("this needs the admin role")
