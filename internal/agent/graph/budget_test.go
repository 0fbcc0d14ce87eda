package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/opencamcloud/camcloud/internal/linkapi"
	"github.com/opencamcloud/camcloud/pkg/taskengine"
)

// countFleet is a Fleet that counts the camera polls asked of it.
type countFleet struct{ polls atomic.Int64 }

func (f *countFleet) LastInventory() []linkapi.DeviceReport {
	return []linkapi.DeviceReport{{Serial: "ACCC8E000001"}}
}
func (f *countFleet) PollDevice(_ context.Context, s string) (linkapi.DeviceReport, bool) {
	f.polls.Add(1)
	return linkapi.DeviceReport{Serial: s}, true
}
func (f *countFleet) Modes() map[string]string               { return nil }
func (f *countFleet) Discovered() []linkapi.DiscoveredDevice { return nil }
func (f *countFleet) AddAddress(context.Context, string) (linkapi.DiscoveredDevice, error) {
	return linkapi.DiscoveredDevice{}, nil
}
func (f *countFleet) TaskRecords() ([]taskengine.Record, error) { return nil, nil }
func (f *countFleet) RunLocalTask(string, string, json.RawMessage) (taskengine.Record, error) {
	return taskengine.Record{}, nil
}

func query(t *testing.T, f Fleet, q string) (data map[string]any, errs []map[string]any) {
	t.Helper()
	h, err := Handler(Config{Fleet: f})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]string{"query": q})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/v1/graphql", strings.NewReader(string(body))))
	var res struct {
		Data   map[string]any   `json:"data"`
		Errors []map[string]any `json:"errors"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
		t.Fatalf("answer %d %q: %v", rec.Code, rec.Body, err)
	}
	return res.Data, res.Errors
}

// One query may not make the agent poll a camera hundreds of times through aliases (any
// operator may query): beyond the request's budget, fields answer an error instead.
func TestOneRequestCannotAskForMuchWork(t *testing.T) {
	f := &countFleet{}
	var q strings.Builder
	q.WriteString("{")
	for i := 0; q.Len() < 15<<10; i++ {
		fmt.Fprintf(&q, "a%d:device(serial:\"ACCC8E000001\"){serial} ", i)
	}
	q.WriteString("}")
	_, errs := query(t, f, q.String())
	if n := f.polls.Load(); n > requestBudget/pollCost {
		t.Errorf("one query polled the camera %d times, budget %d", n, requestBudget/pollCost)
	}
	if len(errs) == 0 || !strings.Contains(fmt.Sprint(errs[0]["message"]), "too much") {
		t.Errorf("errors %v, want the budget's", errs)
	}

	// What a VMS asks for normally passes.
	f = &countFleet{}
	data, errs := query(t, f, `{ devices { serial } device(serial:"ACCC8E000001") { serial } tasks { id } discovered { serial } }`)
	if len(errs) != 0 || data["device"] == nil || f.polls.Load() != 1 {
		t.Errorf("ordinary query: data %v, errors %v, polls %d", data, errs, f.polls.Load())
	}
}
