package api

import (
	"net/http"
	"time"
)

// ICEServer is one entry of RTCConfiguration.iceServers, as a browser takes it.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// ICEServers is the answer of GET /api/v1/orgs/{org}/ice-servers: the servers, and when
// their credentials expire (absent when none carries a credential).
type ICEServers struct {
	ICEServers []ICEServer `json:"iceServers"`
	ExpiresAt  *time.Time  `json:"expiresAt,omitempty"`
}

// ICEProvider hands out the ICE servers of an organization, with credentials of its own.
type ICEProvider interface {
	ICEServers(org string) ICEServers
}

// getICEServers answers the STUN and TURN servers a caller's WebRTC session may use.
// Without TURN on this relay the list is empty: the browser then offers its own
// candidates only, which is what it would do with no list.
func (a *API) getICEServers(w http.ResponseWriter, r *http.Request) error {
	out := ICEServers{ICEServers: []ICEServer{}}
	if a.cfg.ICE != nil {
		out = a.cfg.ICE.ICEServers(PrincipalFrom(r.Context()).Org)
		if out.ICEServers == nil {
			out.ICEServers = []ICEServer{}
		}
	}
	// Credentials: not for shared caches, and a fresh set on every call.
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, out)
}
