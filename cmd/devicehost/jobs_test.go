package main

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/relay/api"
	"github.com/opencamcloud/camcloud/internal/relay/relaytest"
	"github.com/opencamcloud/camcloud/internal/relay/store"
	"github.com/opencamcloud/camcloud/internal/testtool"
	"github.com/opencamcloud/camcloud/simulators/camsim"
	"github.com/opencamcloud/camcloud/simulators/camsim/camsimtest"
)

// TestJobsAndEdgeLinkOnTheCamera: the agent on a camera is a whole agent for its one
// camera: a firmware rollout that includes it runs there (the release file fetched and
// checked by the agent on the camera), and EdgeLink reaches the camera through it.
func TestJobsAndEdgeLinkOnTheCamera(t *testing.T) {
	r := relaytest.Start(t, relaytest.RealClock)
	cam := camsimtest.Start(t, 1).Cameras()[0]
	org := claim(t, r, cam.Info().Serial, cam.Info().OAK)
	cancel, done := enrollAndRun(t, r, cam, "--report-interval", "300ms")
	defer func() { cancel(); <-done }()
	tok := r.Login(t, relaytest.AdminEmail, relaytest.AdminPassword)
	testtool.WaitFor(t, 30*time.Second, "the camera managed and connected", func() bool {
		d, err := r.Store.Device(context.Background(), org, cam.Info().Serial)
		return err == nil && d.Connected && d.EffectiveMode() == "managed"
	})

	img := camsim.FirmwareImage(camsim.FirmwareHeader{Version: "12.30.9"})
	req, _ := http.NewRequest(http.MethodPost, r.URL+"/api/v1/releases?kind=os&version=12.30.9", bytes.NewReader(img))
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := r.Client.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("publish: %v %v", resp, err)
	}
	resp.Body.Close()
	res := r.Do(t, http.MethodPost, "/api/v1/orgs/"+org+"/jobs", tok, map[string]any{"kind": "firmware", "params": map[string]string{"version": "12.30.9"}, "all": true})
	if res.Status != http.StatusCreated {
		t.Fatalf("job: %d %s", res.Status, res.Body)
	}
	var j struct{ ID, State string }
	res.JSON(t, &j)
	testtool.WaitFor(t, 30*time.Second, "the job to succeed", func() bool {
		var got api.JobView
		r.Do(t, http.MethodGet, "/api/v1/orgs/"+org+"/jobs/"+j.ID, tok, nil).JSON(t, &got)
		return got.State == store.JobSucceeded
	})
	if cam.FirmwareVersion() != "12.30.9" || cam.Counters().FirmwareUploads != 1 {
		t.Fatalf("camera runs %s after %d uploads", cam.FirmwareVersion(), cam.Counters().FirmwareUploads)
	}

	req, _ = http.NewRequest(http.MethodGet, r.URL+"/api/v1/orgs/"+org+"/devices/"+cam.Info().Serial+"/vapix/axis-cgi/jpg/image.cgi", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err = r.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("snapshot through EdgeLink: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}
