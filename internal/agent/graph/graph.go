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
	"net/http"

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
	s, err := graphql.ParseSchema(schema, &resolver{cfg: cfg}, graphql.UseFieldResolvers(), graphql.MaxDepth(8), graphql.MaxQueryLength(16<<10))
	if err != nil {
		return nil, err
	}
	return &relay.Handler{Schema: s}, nil
}

type adminKey struct{}

// WithAdmin marks a request's context as an admin's: mutations are allowed.
func WithAdmin(ctx context.Context) context.Context { return context.WithValue(ctx, adminKey{}, true) }

func isAdmin(ctx context.Context) bool { v, _ := ctx.Value(adminKey{}).(bool); return v }

// ErrNotAdmin: a mutation by someone who is not an admin.
var ErrNotAdmin = errors.New("this needs the admin role")
