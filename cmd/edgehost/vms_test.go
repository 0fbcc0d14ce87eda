package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/relay/role"
	"github.com/opencamcloud/camcloud/internal/testtool"
)

// TestEdgeLinkToRegisteredVMS reaches a VMS server on the edge host's network through
// the relay once an admin registered it, and nothing that is not registered.
func TestEdgeLinkToRegisteredVMS(t *testing.T) {
	var mu sync.Mutex
	var seen []http.Header
	vms := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Clone())
		mu.Unlock()
		if r.URL.Path == "/away" {
			http.Redirect(w, r, "http://192.0.2.1/elsewhere", http.StatusFound)
			return
		}
		io.WriteString(w, "vms "+r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
	}))
	defer vms.Close()
	ro := startRollout(t, 1)
	ro.runEdgeHostFlags(t, ro.runFlags())
	ro.onboardAll(t)
	base := ro.r.URL + ro.orgPath("/edgehosts/"+ro.id.AgentID+"/vms")

	if resp, b := ro.call(t, ro.token, "GET", base+"/recorder/api/status", "", nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unregistered VMS: %d %s", resp.StatusCode, b)
	}
	res := ro.r.Do(t, http.MethodPut, ro.orgPath("/edgehosts/"+ro.id.AgentID+"/vms/recorder"), ro.token,
		map[string]any{"address": strings.TrimPrefix(vms.URL, "http://")})
	if res.Status != http.StatusOK {
		t.Fatalf("register: %d %s", res.Status, res.Body)
	}
	// The edge host learns the list at its next full report.
	var body []byte
	testtool.WaitFor(t, 10*time.Second, "the VMS server reachable through the relay", func() bool {
		req, _ := http.NewRequest("GET", base+"/recorder/api/status?x=1", nil)
		req.Header.Set("Authorization", "Bearer "+ro.token)
		req.Header.Set("X-VMS-Authorization", "Basic dm1zOnNlY3JldA==")
		resp, err := ro.r.Client.Do(req)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, _ = io.ReadAll(resp.Body)
		return resp.StatusCode == 200
	})
	if string(body) != "vms GET /api/status?x=1" {
		t.Fatalf("VMS answered %q", body)
	}
	mu.Lock()
	h := seen[len(seen)-1]
	mu.Unlock()
	if h.Get("Authorization") != "Basic dm1zOnNlY3JldA==" || strings.Contains(h.Get("Authorization"), ro.token) || h.Get("X-Vms-Authorization") != "" {
		t.Fatalf("headers at the VMS: %v", h)
	}
	op := ro.member(t, "op@example.com", role.Operator)
	if resp, _ := ro.call(t, op, "GET", base+"/recorder/api/status", "", nil); resp.StatusCode != 200 {
		t.Errorf("operator GET: %d", resp.StatusCode)
	}
	if resp, _ := ro.call(t, op, "POST", base+"/recorder/api/config", "application/json", bytes.NewReader([]byte("{}"))); resp.StatusCode != http.StatusForbidden {
		t.Errorf("operator POST: %d", resp.StatusCode)
	}
	for _, bad := range []struct {
		path string
		want int
	}{
		{"/recorder/api/%2e%2e/%2e%2e/secret", http.StatusBadRequest},
		{"/recorder/away", http.StatusBadGateway},
		{"/other/api", http.StatusNotFound},
	} {
		if resp, b := ro.call(t, ro.token, "GET", base+bad.path, "", nil); resp.StatusCode != bad.want {
			t.Errorf("GET %s: %d %s, want %d", bad.path, resp.StatusCode, b, bad.want)
		}
	}
}

// TestAddedCameraThatIsOffIsAddedWhenItComesUp: a camera given with --add that does not
// answer yet (off, rebooting) is tried again until it does.
func TestAddedCameraThatIsOffIsAddedWhenItComesUp(t *testing.T) {
	ro := startRollout(t, 1)
	cam := ro.fleet.Cameras()[0]
	cam.PowerOff()
	ro.runEdgeHostFlags(t, append(ro.runFlags(), "--mdns-interval", "200ms"))
	path := ro.orgPath("/edgehosts/" + ro.id.AgentID + "/discovered")
	time.Sleep(500 * time.Millisecond) // mDNS rounds in which the camera that is off must not be listed
	var l listOf[discoveredJSON]
	ro.r.Do(t, http.MethodGet, path, ro.token, nil).JSON(t, &l)
	if len(l.Items) != 0 {
		t.Fatalf("a camera that is off was listed: %+v", l.Items)
	}
	if err := cam.PowerOn(); err != nil {
		t.Fatal(err)
	}
	testtool.WaitFor(t, 10*time.Second, "the camera listed once it answers", func() bool {
		l = listOf[discoveredJSON]{}
		ro.r.Do(t, http.MethodGet, path, ro.token, nil).JSON(t, &l)
		return len(l.Items) == 1 && l.Items[0].Serial == cam.Info().Serial
	})
}
