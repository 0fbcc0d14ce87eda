package runners

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/opencamcloud/camcloud/internal/taskkind"
	"github.com/opencamcloud/camcloud/pkg/taskengine"
	"github.com/opencamcloud/camcloud/pkg/vapix"
)

func findApp(apps []vapix.App, name string) (vapix.App, bool) {
	for _, a := range apps {
		if strings.EqualFold(a.Name, name) {
			return a, true
		}
	}
	return vapix.App{}, false
}

func running(a vapix.App) bool { return strings.EqualFold(a.Status, "Running") }

// appInstall installs the release's package unless the device has that version, then
// starts it when asked. The catalog's name and version are what the uploader typed, and
// the package says what it really is: after installing, the device's list must show the
// application at that version, or the task fails (as an upgrade whose device runs
// another AXIS OS version after it does).
func (r *runners) appInstall(ctx context.Context, t taskengine.Task, progress func(string)) (json.RawMessage, error) {
	var p taskkind.AppParams
	c, err := r.open(ctx, t, &p)
	if err != nil {
		return nil, err
	}
	apps, err := c.Apps(ctx)
	if err != nil {
		return nil, err
	}
	installed := false
	if a, ok := findApp(apps, p.Name); !ok || a.Version != p.Version {
		if p.Artifact == nil {
			return nil, fmt.Errorf("no release file for %s %s", p.Name, p.Version)
		}
		f, err := r.openArtifact(ctx, *p.Artifact, progress)
		if err != nil {
			return nil, err
		}
		progress("installing " + p.Name + " " + p.Version)
		err = c.InstallApp(ctx, p.Name+"_"+p.Version+".eap", f)
		f.Close()
		if err != nil {
			return nil, err
		}
		installed = true
		if apps, err = c.Apps(ctx); err != nil {
			return nil, fmt.Errorf("list applications after installing %s %s: %w", p.Name, p.Version, err)
		}
		a, ok := findApp(apps, p.Name)
		switch {
		case !ok:
			return nil, fmt.Errorf("the device does not list %s after installing release %s (the package holds another application)", p.Name, p.Artifact.Release)
		case a.Version != p.Version:
			return nil, fmt.Errorf("the device has %s %s after installing release %s, not %s (the package holds another version)", a.Name, a.Version, p.Artifact.Release, p.Version)
		}
	}
	if p.Start {
		if a, ok := findApp(apps, p.Name); ok && !running(a) {
			if err := c.StartApp(ctx, a.Name); err != nil {
				return nil, err
			}
		}
	}
	return result(map[string]any{"name": p.Name, "version": p.Version, "installed": installed}), nil
}

// appControl starts, stops or removes an application, doing nothing when it is already so.
func (r *runners) appControl(ctx context.Context, t taskengine.Task, _ func(string)) (json.RawMessage, error) {
	var p taskkind.AppParams
	c, err := r.open(ctx, t, &p)
	if err != nil {
		return nil, err
	}
	apps, err := c.Apps(ctx)
	if err != nil {
		return nil, err
	}
	a, ok := findApp(apps, p.Name)
	switch t.Kind {
	case taskkind.AppRemove:
		if !ok {
			return result(map[string]any{"name": p.Name, "changed": false}), nil
		}
		err = c.RemoveApp(ctx, a.Name)
	case taskkind.AppStart, taskkind.AppStop:
		if !ok {
			return nil, fmt.Errorf("application %s is not installed", p.Name)
		}
		if running(a) == (t.Kind == taskkind.AppStart) {
			return result(map[string]any{"name": p.Name, "changed": false}), nil
		}
		if t.Kind == taskkind.AppStart {
			err = c.StartApp(ctx, a.Name)
		} else {
			err = c.StopApp(ctx, a.Name)
		}
	}
	if err != nil {
		return nil, err
	}
	return result(map[string]any{"name": p.Name, "changed": true}), nil
}
