package api

import (
	"errors"
	"net/http"
	"regexp"
	"strings"

	"github.com/opencamcloud/camcloud/internal/problem"
	"github.com/opencamcloud/camcloud/internal/profile"
	"github.com/opencamcloud/camcloud/internal/relay/releasefiles"
	"github.com/opencamcloud/camcloud/internal/relay/store"
)

var (
	releaseVersionRE = regexp.MustCompile(`^\d+(\.\d+){1,3}$`)
	releaseNameRE    = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,26}$`)
	productRE        = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ._-]{0,40}$`)
)

// addRelease is POST /api/v1/releases: the body is the file, the query says what it is.
func (a *API) addRelease(w http.ResponseWriter, r *http.Request) error {
	if a.cfg.Releases == nil {
		return problem.New(problem.Unavailable, "this relay has no software catalog")
	}
	q, err := query(r, "kind", "name", "version", "products", "track")
	if err != nil {
		return err
	}
	rel := store.Release{Kind: q.Get("kind"), Name: q.Get("name"), Version: q.Get("version"), Track: q.Get("track")}
	switch rel.Kind {
	case store.ReleaseOS:
		if rel.Name != "" {
			return problem.Invalid("name", "AXIS OS releases have no name; products says which devices they fit")
		}
		if rel.Track == "" {
			rel.Track = profile.TrackOf(rel.Version)
		} else if !profile.KnownTrack(rel.Track) {
			return problem.Invalid("track", "want one of "+strings.Join(profile.Tracks(), ", "))
		}
	case store.ReleaseACAP:
		if !releaseNameRE.MatchString(rel.Name) {
			return problem.Invalid("name", "the application's package name (up to 26 letters, digits, '_', '.', '-')")
		}
		if rel.Track != "" {
			return problem.Invalid("track", "only AXIS OS releases have a track")
		}
	default:
		return problem.Invalid("kind", "must be os or acap")
	}
	if !releaseVersionRE.MatchString(rel.Version) {
		return problem.Invalid("version", "a version such as 11.11.124 or 1.2.3")
	}
	if p := q.Get("products"); p != "" {
		for _, prod := range strings.Split(p, ",") {
			prod = strings.TrimPrefix(strings.TrimSpace(prod), "AXIS ")
			if !productRE.MatchString(prod) {
				return problem.Invalid("products", "comma-separated product numbers such as P3265-V")
			}
			rel.Products = append(rel.Products, prod)
		}
	}
	rel, err = a.cfg.Releases.Add(r.Context(), rel, r.Body)
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig), errors.Is(err, releasefiles.ErrTooLarge):
		return problem.New(problem.TooLarge, "a release file may be at most 2 GiB")
	case errors.Is(err, store.ErrExists):
		return problem.New(problem.Conflict, "this release is already in the catalog")
	case errors.Is(err, releasefiles.ErrEmpty):
		return problem.New(problem.BadRequest, "send the release file as the request body")
	case err != nil:
		return err
	}
	a.log.InfoContext(r.Context(), "release added", "release", rel.ID, "kind", rel.Kind, "name", rel.Name, "version", rel.Version, "sha256", rel.SHA256)
	w.Header().Set("Location", "/api/v1/releases/"+rel.ID)
	return writeJSON(w, http.StatusCreated, viewRelease(rel))
}

func (a *API) listReleases(w http.ResponseWriter, r *http.Request) error {
	rs, err := a.store.Releases(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listOf(viewReleases(rs)))
}

func (a *API) getRelease(w http.ResponseWriter, r *http.Request) error {
	rel, err := a.store.Release(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewRelease(rel))
}

func (a *API) deleteRelease(w http.ResponseWriter, r *http.Request) error {
	if err := a.store.DeleteRelease(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
