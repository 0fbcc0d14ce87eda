package main

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/testtool"
)

// TestMetricsAndHealth: with --metrics-listen the edge host serves /healthz (200 while
// its link is up, 503 when the relay is gone) and Prometheus metrics of its link,
// devices and tasks.
func TestMetricsAndHealth(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ro := startRollout(t, 1)
	ro.runEdgeHostFlags(t, append(ro.runFlags(), "--metrics-listen", addr))
	ro.onboardAll(t)
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != 200 {
		t.Fatalf("healthz: %d %s", code, body)
	}
	testtool.WaitFor(t, 10*time.Second, "the metrics show the link and the camera", func() bool {
		_, body := get("/metrics")
		return strings.Contains(body, "camcloud_agent_link_up 1") && strings.Contains(body, `camcloud_agent_devices{reachable="true"} 1`) &&
			strings.Contains(body, `camcloud_agent_tasks{state="succeeded"}`)
	})
	ro.r.Stop(t)
	testtool.WaitFor(t, 15*time.Second, "healthz 503 with the relay gone", func() bool {
		code, _ := get("/healthz")
		return code == http.StatusServiceUnavailable
	})
}
