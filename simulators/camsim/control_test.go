package camsim_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/opencamcloud/camcloud/simulators/camsim"
	"github.com/opencamcloud/camcloud/simulators/camsim/camsimtest"
)

func TestControlAPI(t *testing.T) {
	fleet := camsimtest.Start(t, 3)
	ctl := httptest.NewServer(fleet.ControlHandler())
	defer ctl.Close()
	cam := fleet.Cameras()[1]
	serial := cam.Info().Serial

	resp, err := http.Get(ctl.URL + "/cameras")
	if err != nil {
		t.Fatal(err)
	}
	var list []camsim.CameraStatus
	if err := json.Unmarshal([]byte(readAll(t, resp)), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 || list[1].Serial != serial || !list[1].Up || list[1].Firmware == "" {
		t.Fatalf("GET /cameras = %+v", list)
	}

	put := func(path, body string) int {
		req, _ := http.NewRequest(http.MethodPut, ctl.URL+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := put("/cameras/"+serial+"/faults", "errors=0.3,latency=5ms"); s != http.StatusNoContent {
		t.Fatalf("PUT faults: %d", s)
	}
	if f := cam.Faults(); f.ErrorRate != 0.3 || f.Latency.Milliseconds() != 5 {
		t.Fatalf("faults after PUT: %+v", f)
	}
	if s := put("/cameras/"+serial+"/faults", "errors=lots"); s != http.StatusBadRequest {
		t.Fatalf("PUT bad faults: %d, want 400", s)
	}
	if s := put("/faults", ""); s != http.StatusNoContent || cam.Faults() != (camsim.Faults{}) {
		t.Fatalf("PUT /faults with an empty body must heal every camera: %d %+v", s, cam.Faults())
	}

	resp, err = http.Post(ctl.URL+"/cameras/NOSUCHCAMERA/motion", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("motion on an unknown camera: %d, want 404", resp.StatusCode)
	}

	resp, err = http.Get(ctl.URL + "/cameras/" + strings.ToLower(serial))
	if err != nil {
		t.Fatal(err)
	}
	var one camsim.CameraStatus
	if err := json.Unmarshal([]byte(readAll(t, resp)), &one); err != nil || one.Counters == nil {
		t.Fatalf("GET /cameras/{serial}: %+v, %v", one, err)
	}
}
