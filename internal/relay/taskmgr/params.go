package taskmgr

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/opencamcloud/camcloud/internal/relay/releasefiles"
	"github.com/opencamcloud/camcloud/internal/relay/store"
	"github.com/opencamcloud/camcloud/internal/taskkind"
)

var (
	// ErrArtifactGiven: a caller named the release file; the relay picks it.
	ErrArtifactGiven = errors.New("params.artifact: the relay picks the release file")
	// ErrNoCatalog: software tasks need the release catalog.
	ErrNoCatalog = errors.New("no software catalog")
)

// ParamError is a task parameter that is wrong: Field names it as the caller wrote it
// (params, params.version).
type ParamError struct {
	Field string
	Err   error
}

func (e *ParamError) Error() string { return e.Field + ": " + e.Err.Error() }

func (e *ParamError) Unwrap() error { return e.Err }

// TaskParams are a device's task parameters: for firmware and app-install, the release
// file from the catalog that fits the device is added to what the caller gave.
func TaskParams(ctx context.Context, cat *releasefiles.Catalog, kind string, params json.RawMessage, d store.Device) (json.RawMessage, error) {
	switch kind {
	case taskkind.Firmware:
		var p taskkind.FirmwareParams
		if err := json.Unmarshal(params, &p); err != nil {
			return nil, &ParamError{Field: "params", Err: err}
		}
		if p.Artifact.SHA256 != "" {
			return nil, ErrArtifactGiven
		}
		if cat == nil {
			return nil, ErrNoCatalog
		}
		rel, err := cat.Resolve(ctx, store.ReleaseOS, "", p.Version, d.Model)
		if err != nil {
			return nil, err
		}
		p.Artifact = releasefiles.Artifact(rel)
		return json.Marshal(p)
	case taskkind.AppInstall:
		var p taskkind.AppParams
		if err := json.Unmarshal(params, &p); err != nil {
			return nil, &ParamError{Field: "params", Err: err}
		}
		if p.Version == "" {
			return nil, &ParamError{Field: "params.version", Err: errors.New("the application version to install")}
		}
		if p.Artifact != nil {
			return nil, ErrArtifactGiven
		}
		if cat == nil {
			return nil, ErrNoCatalog
		}
		rel, err := cat.Resolve(ctx, store.ReleaseACAP, p.Name, p.Version, d.Model)
		if err != nil {
			return nil, err
		}
		art := releasefiles.Artifact(rel)
		p.Artifact = &art
		return json.Marshal(p)
	}
	return params, nil
}
