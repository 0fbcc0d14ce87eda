package egress

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/opencamcloud/camcloud/internal/linkapi"
)

// A VMS server's redirects pass only when they stay on that server; anything a browser
// would take to another host (including "/\host", which browsers read as "//host") is
// refused.
func TestVMSRedirectsStayOnTheServer(t *testing.T) {
	var location string
	vms := newFakeDevice(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", location)
		w.WriteHeader(http.StatusFound)
	})
	addr := vms.addr()
	v := NewVMS(nil, nil)
	v.SetServers([]linkapi.VMSServer{{Name: "rec", Address: addr}})
	srv := httptest.NewServer(v)
	defer srv.Close()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for loc, want := range map[string]int{
		"/login?next=/live":            http.StatusFound,
		"http://" + addr + "/login":    http.StatusFound,
		`/\evil.example/x`:             http.StatusBadGateway,
		"//evil.example/x":             http.StatusBadGateway,
		"http://evil.example/x":        http.StatusBadGateway,
		"https://10.0.0.1:8443/secret": http.StatusBadGateway,
		"javascript:alert(1)":          http.StatusBadGateway,
	} {
		location = loc
		res, err := c.Get(srv.URL + VMSPrefix + "rec/login")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("VMS redirect to %q: %d, want %d", loc, res.StatusCode, want)
		}
	}
}

// VMS servers are on the edge host's network, as devices are: their calls never go to
// a proxy from the environment (which would see the callers' VMS credentials), and the
// wait for an answer is bounded.
func TestVMSTransportStaysOnTheLAN(t *testing.T) {
	tr, ok := NewVMS(nil, nil).rp.Transport.(*http.Transport)
	if !ok {
		t.Fatalf("the VMS proxy uses %T, not its own transport", NewVMS(nil, nil).rp.Transport)
	}
	if tr.Proxy != nil || tr.ResponseHeaderTimeout <= 0 {
		t.Errorf("VMS transport: proxy from the environment %v, header timeout %s", tr.Proxy != nil, tr.ResponseHeaderTimeout)
	}
}
