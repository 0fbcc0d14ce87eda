package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/testtool"
)

// secretServer is a server on loopback that is not a camera: it answers every request
// with a secret, as a metadata service or a host's own admin API would.
const secretText = "SECRET-9c41-not-for-callers"

func secretServer(t *testing.T) (addr string, hits *atomic.Int32) {
	t.Helper()
	hits = &atomic.Int32{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Error(w, secretText, http.StatusInternalServerError)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), hits
}

// waitLinked waits until the relay has the edge host's link.
func (e *edgeHostEnv) waitLinked(t *testing.T) {
	t.Helper()
	testtool.WaitFor(t, 10*time.Second, "the edge host's link up", func() bool {
		var h struct{ Connected bool }
		e.r.Do(t, http.MethodGet, e.orgPath("/edgehosts/"+e.id.AgentID), e.token, nil).JSON(t, &h)
		return h.Connected
	})
}

// TestEdgeHostReachesOnlyAllowedNetworks: an organization admin points a VMS
// registration and the GraphQL addDevice probe at services on the edge host's own
// loopback. With --allow-device-net naming another network, the edge host connects to
// none, says which address and which flag, and shows nothing of what the server would
// have answered. (Link-local and metadata addresses are refused by the same check;
// package allownet tests them without dialing, since a test sends nothing off this
// machine.)
func TestEdgeHostReachesOnlyAllowedNetworks(t *testing.T) {
	addr, hits := secretServer(t)
	ro := &rollout{edgeHostEnv: startEdgeHostEnv(t)}
	flags := ro.runFlags()
	for i := range flags {
		if flags[i] == loopbackNets {
			flags[i] = "192.0.2.0/24"
		}
	}
	ro.runEdgeHostFlags(t, flags)
	ro.waitLinked(t)

	base := ro.r.URL + ro.orgPath("/edgehosts/"+ro.id.AgentID+"/vms")
	port := addr[strings.LastIndex(addr, ":")+1:]
	for name, target := range map[string]string{"local": addr, "other": "127.0.0.2:" + port} {
		res := ro.r.Do(t, http.MethodPut, ro.orgPath("/edgehosts/"+ro.id.AgentID+"/vms/"+name), ro.token, map[string]any{"address": target})
		if res.Status != http.StatusOK {
			t.Fatalf("register %s: %d %s", name, res.Status, res.Body)
		}
	}
	for name, ip := range map[string]string{"local": "127.0.0.1", "other": "127.0.0.2"} {
		var status int
		var body []byte
		testtool.WaitFor(t, 10*time.Second, "the edge host knows VMS server "+name, func() bool {
			resp, b := ro.call(t, ro.token, "GET", base+"/"+name+"/latest/meta-data", "", nil)
			status, body = resp.StatusCode, b
			return status != http.StatusNotFound && status != http.StatusServiceUnavailable
		})
		if status != http.StatusForbidden || !strings.Contains(string(body), "problems/address-refused") ||
			!strings.Contains(string(body), ip) || !strings.Contains(string(body), "--allow-device-net") || strings.Contains(string(body), "SECRET") {
			t.Errorf("VMS server %s at %s: %d %s", name, ip, status, body)
		}
	}

	for _, target := range []string{addr, "127.0.0.2:" + port, "localhost:" + port} {
		a := ro.graphql(t, ro.token, `mutation { addDevice(address: "`+target+`") { serial } }`)
		if len(a.Errors) == 0 {
			t.Errorf("addDevice(%s) answered %s", target, a.Data)
			continue
		}
		msg := a.Errors[0].Message
		if !strings.Contains(msg, "--allow-device-net") || strings.Contains(msg, "SECRET") ||
			!strings.Contains(msg, strings.Split(strings.TrimPrefix(target, "localhost:"), ":")[0]) && !strings.Contains(msg, "127.0.0.1") {
			t.Errorf("addDevice(%s): %q", target, msg)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the server on loopback was reached %d times", n)
	}
}

// TestAddDeviceDoesNotEchoTheAnswer: where the address is allowed but answers as no
// camera does, the probe's error says so without a word of the answer.
func TestAddDeviceDoesNotEchoTheAnswer(t *testing.T) {
	addr, hits := secretServer(t)
	ro := &rollout{edgeHostEnv: startEdgeHostEnv(t)}
	ro.runEdgeHostFlags(t, ro.runFlags())
	ro.waitLinked(t)
	a := ro.graphql(t, ro.token, `mutation { addDevice(address: "`+addr+`") { serial } }`)
	if hits.Load() == 0 || len(a.Errors) == 0 || strings.Contains(a.Errors[0].Message, "SECRET") || !strings.Contains(a.Errors[0].Message, "HTTP 500") {
		t.Fatalf("addDevice(%s) after %d requests: %+v %s", addr, hits.Load(), a.Errors, a.Data)
	}
	t.Logf("addDevice(%s): %s", addr, a.Errors[0].Message)
}
