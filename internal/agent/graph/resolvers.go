package graph

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/pkg/taskengine"
)

type resolver struct {
	cfg Config
}

// The GraphQL object types, resolved field by field from their exported fields.
type (
	agentObj struct{ ID, Org, Version string }
	appObj   struct {
		Name, Version string
		Running       bool
	}
	driftObj  struct{ Cause, Detail string }
	changeObj struct{ Kind, Target, Want, Have string }
	deviceObj struct {
		Serial, Address, Model, HardwareID, Firmware string
		Reachable                                    bool
		Mode, Profile                                string
		Apps                                         []appObj
		Drift                                        []driftObj
		ProfileDiff                                  []changeObj
	}
	discoveredObj struct {
		Serial, Address, Source, Model, Firmware string
		Onboarded                                bool
	}
	taskObj struct {
		ID, Kind, Serial, State, Detail string
		Attempt                         int32
		UpdatedAt                       string
	}
)

func (r *resolver) Agent() agentObj {
	return agentObj(r.cfg.Agent)
}

func (r *resolver) device(rep linkapi.DeviceReport, modes map[string]string) deviceObj {
	d := deviceObj{Serial: rep.Serial, Address: rep.Address, Model: rep.Model, HardwareID: rep.HardwareID,
		Firmware: rep.FirmwareVersion, Reachable: rep.Reachable, Mode: modes[rep.Serial], Profile: rep.Profile,
		Apps: []appObj{}, Drift: []driftObj{}, ProfileDiff: []changeObj{}}
	for _, a := range rep.Apps {
		d.Apps = append(d.Apps, appObj{Name: a.Name, Version: a.Version, Running: a.Running})
	}
	for _, x := range rep.Drift {
		d.Drift = append(d.Drift, driftObj{Cause: x.Cause, Detail: x.Detail})
	}
	for _, c := range rep.Diff {
		d.ProfileDiff = append(d.ProfileDiff, changeObj{Kind: c.Kind, Target: c.Target, Want: c.Want, Have: c.Have})
	}
	return d
}

func (r *resolver) Devices(ctx context.Context) ([]deviceObj, error) {
	if err := spend(ctx, listCost); err != nil {
		return nil, err
	}
	modes := r.cfg.Fleet.Modes()
	out := []deviceObj{}
	for _, rep := range r.cfg.Fleet.LastInventory() {
		out = append(out, r.device(rep, modes))
	}
	return out, nil
}

func (r *resolver) Device(ctx context.Context, args struct{ Serial string }) (*deviceObj, error) {
	if err := spend(ctx, pollCost); err != nil {
		return nil, err
	}
	rep, ok := r.cfg.Fleet.PollDevice(ctx, strings.ToUpper(args.Serial))
	if !ok {
		return nil, nil
	}
	d := r.device(rep, r.cfg.Fleet.Modes())
	return &d, nil
}

func discovered(d linkapi.DiscoveredDevice) discoveredObj {
	return discoveredObj{Serial: d.Serial, Address: d.Address, Source: d.Source, Model: d.Model, Firmware: d.Firmware, Onboarded: d.Onboarded}
}

func (r *resolver) Discovered(ctx context.Context) ([]discoveredObj, error) {
	if err := spend(ctx, listCost); err != nil {
		return nil, err
	}
	out := []discoveredObj{}
	for _, d := range r.cfg.Fleet.Discovered() {
		out = append(out, discovered(d))
	}
	return out, nil
}

func task(rec taskengine.Record) taskObj {
	t := taskObj{ID: rec.ID, Kind: rec.Kind, Serial: rec.Serial, State: string(rec.State), Detail: rec.Detail, Attempt: int32(rec.Attempt)}
	if n := len(rec.Transitions); n > 0 {
		t.UpdatedAt = rec.Transitions[n-1].At.Format(time.RFC3339Nano)
	}
	return t
}

func (r *resolver) Tasks(ctx context.Context, args struct{ Serial *string }) ([]taskObj, error) {
	if err := spend(ctx, listCost); err != nil {
		return nil, err
	}
	recs, err := r.cfg.Fleet.TaskRecords()
	if err != nil {
		return nil, err
	}
	out := []taskObj{}
	for _, rec := range recs {
		if args.Serial == nil || strings.EqualFold(*args.Serial, rec.Serial) {
			out = append(out, task(rec))
		}
	}
	slices.SortFunc(out, func(a, b taskObj) int { return strings.Compare(b.UpdatedAt, a.UpdatedAt) })
	return out, nil
}

func (r *resolver) AddDevice(ctx context.Context, args struct{ Address string }) (discoveredObj, error) {
	if !isAdmin(ctx) {
		return discoveredObj{}, ErrNotAdmin
	}
	d, err := r.cfg.Fleet.AddAddress(ctx, args.Address)
	if err != nil {
		return discoveredObj{}, err
	}
	return discovered(d), nil
}

func (r *resolver) RunTask(ctx context.Context, args struct {
	Serial, Kind string
	Params       *string
}) (taskObj, error) {
	if !isAdmin(ctx) {
		return taskObj{}, ErrNotAdmin
	}
	var params json.RawMessage
	if args.Params != nil {
		params = json.RawMessage(*args.Params)
	}
	rec, err := r.cfg.Fleet.RunLocalTask(args.Kind, strings.ToUpper(args.Serial), params)
	if err != nil {
		return taskObj{}, err
	}
	return task(rec), nil
}
