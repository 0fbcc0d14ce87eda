package api

import (
	"net"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/internal/problem"
	"github.com/opencamcloud/camcloud/internal/relay/store"
)

var vmsNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

type vmsBody struct {
	Address string `json:"address"` // host:port on the edge host's network
	HTTPS   bool   `json:"https"`
}

// putVMS registers a VMS server of an edge host as an EdgeLink target.
func (a *API) putVMS(w http.ResponseWriter, r *http.Request) error {
	var body vmsBody
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	name := r.PathValue("name")
	if !vmsNameRE.MatchString(name) {
		return problem.Invalid("name", "1 to 63 lower-case letters, digits, '-' or '_'")
	}
	host, port, err := net.SplitHostPort(body.Address)
	if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
		return problem.Invalid("address", "host:port of the VMS server on the edge host's network")
	}
	p := PrincipalFrom(r.Context())
	v, err := a.store.PutVMS(r.Context(), p.Org, store.VMSServer{Name: name, Address: body.Address, HTTPS: body.HTTPS, EdgeHost: r.PathValue("id")})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, viewVMS(v))
}

// vmsView is a VMS server as the API answers it (api/openapi.yaml VMSServer).
type vmsView struct {
	Name      string    `json:"name"`
	Address   string    `json:"address"`
	HTTPS     bool      `json:"https"`
	EdgeHost  string    `json:"edgeHost"`
	CreatedAt time.Time `json:"createdAt"`
}

func viewVMS(v store.VMSServer) vmsView {
	return vmsView{Name: v.Name, Address: v.Address, HTTPS: v.HTTPS, EdgeHost: v.EdgeHost, CreatedAt: v.CreatedAt}
}

func (a *API) listVMS(w http.ResponseWriter, r *http.Request) error {
	list, err := a.store.VMSServers(r.Context(), PrincipalFrom(r.Context()).Org, r.PathValue("id"))
	if err != nil {
		return err
	}
	out := make([]vmsView, 0, len(list))
	for _, v := range list {
		out = append(out, viewVMS(v))
	}
	return writeJSON(w, http.StatusOK, listOf(out))
}

func (a *API) deleteVMS(w http.ResponseWriter, r *http.Request) error {
	if err := a.store.DeleteVMS(r.Context(), PrincipalFrom(r.Context()).Org, r.PathValue("id"), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// vmsCall is EdgeLink to a VMS server an admin registered for the edge host (the route
// table lets operators GET, admins do anything). The caller's credentials for the VMS's
// own API go in X-VMS-Authorization.
func (a *API) vmsCall(w http.ResponseWriter, r *http.Request) error {
	p := PrincipalFrom(r.Context())
	escaped, _, err := edgeLinkPath(r, vmsPattern)
	if err != nil {
		return err
	}
	h, err := a.store.EdgeHost(r.Context(), p.Org, r.PathValue("id"))
	if err != nil {
		return err
	}
	return a.forward(w, r, h.ID, linkapi.VMSPrefix+r.PathValue("name")+"/"+escaped, nil)
}
