package main

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/relay/api"
	"github.com/opencamcloud/camcloud/internal/relay/role"
	"github.com/opencamcloud/camcloud/internal/testtool"
	"github.com/opencamcloud/camcloud/pkg/taskstate"
)

type gqlAnswer struct {
	Data   json.RawMessage `json:"data"`
	Errors []struct {
		Message string `json:"message"`
	} `json:"errors"`
}

func (ro *rollout) graphql(t testing.TB, token, query string) gqlAnswer {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"query": query})
	resp, b := ro.call(t, token, "POST", ro.r.URL+ro.orgPath("/edgehosts/"+ro.id.AgentID+"/graphql"), "application/json", bytes.NewReader(body))
	if resp.StatusCode != 200 {
		t.Fatalf("graphql: %d %s", resp.StatusCode, b)
	}
	var a gqlAnswer
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatalf("graphql answer %s: %v", b, err)
	}
	return a
}

// TestGraphQLThroughTheRelayAndLocally queries the edge host's own API through the relay
// (operators read, only admins change) and on the edge host itself with its token.
func TestGraphQLThroughTheRelayAndLocally(t *testing.T) {
	ro := startRollout(t, 2)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	local := ln.Addr().String()
	ln.Close()
	ro.runEdgeHostFlags(t, append(ro.runFlags(), "--graphql-listen", local))
	ro.onboardAll(t)
	serial := ro.fleet.Cameras()[0].Info().Serial

	op := ro.member(t, "op@example.com", role.Operator)
	var q struct {
		Agent      struct{ ID string }
		Discovered []struct{ Serial, Model string }
		Device     struct {
			Serial, Firmware, Mode string
			Reachable              bool
		}
	}
	a := ro.graphql(t, op, `{ agent { id } discovered { serial model } device(serial: "`+serial+`") { serial firmware mode reachable } }`)
	if len(a.Errors) > 0 || json.Unmarshal(a.Data, &q) != nil {
		t.Fatalf("query: %+v %s", a.Errors, a.Data)
	}
	if q.Agent.ID != ro.id.AgentID || len(q.Discovered) != 2 || q.Device.Serial != serial || !q.Device.Reachable || q.Device.Mode != "managed" || q.Device.Firmware == "" {
		t.Fatalf("query answered %+v", q)
	}
	mutation := `mutation { runTask(serial: "` + serial + `", kind: "overlay", params: "{\"text\":\"Lobby\"}") { id state } }`
	if a := ro.graphql(t, op, mutation); len(a.Errors) == 0 || !strings.Contains(a.Errors[0].Message, "admin") {
		t.Fatalf("an operator's mutation: %+v %s", a.Errors, a.Data)
	}
	a = ro.graphql(t, ro.token, mutation)
	var ran struct{ RunTask struct{ ID, State string } }
	if len(a.Errors) > 0 || json.Unmarshal(a.Data, &ran) != nil || !strings.HasPrefix(ran.RunTask.ID, "tsk_local_") {
		t.Fatalf("admin runTask: %+v %s", a.Errors, a.Data)
	}
	testtool.WaitFor(t, 10*time.Second, "the overlay on the camera and the task at the relay", func() bool {
		ov := ro.fleet.Cameras()[0].State().Overlays
		var task api.TaskView
		ro.r.Do(t, http.MethodGet, ro.orgPath("/tasks/"+ran.RunTask.ID), ro.token, nil).JSON(t, &task)
		return len(ov) == 1 && ov[0].Text == "Lobby" && task.State == taskstate.Succeeded && task.CreatedBy == "agent"
	})
	if a := ro.graphql(t, ro.token, `mutation { runTask(serial: "`+serial+`", kind: "firmware", params: "{\"version\":\"12.0.1\"}") { id } }`); len(a.Errors) == 0 || !strings.Contains(a.Errors[0].Message, "job at the relay") {
		t.Fatalf("a firmware task made locally: %+v", a.Errors)
	}

	// On the edge host itself, with the token of its data directory.
	tok, err := os.ReadFile(filepath.Join(ro.data, graphTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	post := func(token string) (int, string) {
		req, _ := http.NewRequest("POST", "http://"+local+"/graphql", strings.NewReader(`{"query":"{ devices { serial mode } }"}`))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		return resp.StatusCode, b.String()
	}
	if code, _ := post("wrong"); code != http.StatusUnauthorized {
		t.Fatalf("local API with a wrong token: %d", code)
	}
	testtool.WaitFor(t, 10*time.Second, "the local API lists both managed cameras", func() bool {
		code, body := post(strings.TrimSpace(string(tok)))
		return code == 200 && strings.Count(body, `"mode":"managed"`) == 2
	})
	// edgehost status shows them too, from the snapshot the running agent keeps.
	out, err := run(t, "status", "--data", ro.data)
	if err != nil || !strings.Contains(out, ro.id.AgentID) || !strings.Contains(out, serial) || strings.Count(out, "managed") != 2 {
		t.Fatalf("status: %v\n%s", err, out)
	}
}
