package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/simulators/camsim"
)

func TestHelpAndVersion(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"version"}} {
		var out bytes.Buffer
		root := newRootCommand()
		root.SetArgs(args)
		root.SetOut(&out)
		if err := root.ExecuteContext(context.Background()); err != nil {
			t.Fatalf("camsim %v: %v", args, err)
		}
		if args[0] == "--help" && !strings.Contains(out.String(), "--fault") {
			t.Errorf("--help does not explain --fault:\n%s", out.String())
		}
		if args[0] == "version" && !strings.HasPrefix(out.String(), "camsim ") {
			t.Errorf("version printed %q", out.String())
		}
	}
}

func TestBadFlagsAreRefused(t *testing.T) {
	for _, args := range [][]string{
		{"--fault", "errors=7"},
		{"--count", "-3"},
		{"--listen", "nonsense"},
	} {
		root := newRootCommand()
		root.SetArgs(args)
		root.SetOut(io.Discard)
		root.SetErr(io.Discard)
		if err := root.ExecuteContext(context.Background()); err == nil {
			t.Errorf("camsim %v succeeded, want an error", args)
		}
	}
}

// TestRunPrintsCamerasAndStops runs camsim in-process the way a script would: read one
// JSON object per camera from stdout, use a camera and the control API, then cancel.
func TestRunPrintsCamerasAndStops(t *testing.T) {
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	root := newRootCommand()
	root.SetArgs([]string{"--count", "3", "--listen", "127.0.0.1:0", "--rtsp-listen", "127.0.0.1:0", "--control", "127.0.0.1:0", "--state", t.TempDir(), "--log-level", "error"})
	root.SetOut(pw)
	root.SetErr(io.Discard)
	done := make(chan error, 1)
	go func() {
		done <- root.ExecuteContext(ctx)
		pw.Close()
	}()

	sc := bufio.NewScanner(pr)
	var cams []camsim.Info
	for len(cams) < 3 && sc.Scan() {
		var info camsim.Info
		if err := json.Unmarshal(sc.Bytes(), &info); err != nil {
			t.Fatalf("stdout line %q is not a camera: %v", sc.Text(), err)
		}
		if info.Serial == "" || info.HTTP == "" || info.MAC == "" || info.OAK == "" || info.Model == "" {
			t.Fatalf("camera line lacks fields: %+v", info)
		}
		cams = append(cams, info)
	}
	if len(cams) != 3 {
		t.Fatalf("got %d camera lines, want 3", len(cams))
	}
	resp, err := http.Get(cams[2].HTTP + "/axis-cgi/nosuch.cgi")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("camera answered %d for a path it does not have", resp.StatusCode)
	}
	go io.Copy(io.Discard, pr)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("camsim stopped with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("camsim did not stop after its context was cancelled")
	}
}
