package camsim_test

import (
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/opencamcloud/camcloud/simulators/camsim"
	"github.com/opencamcloud/camcloud/simulators/camsim/camsimtest"
)

// jsonRead is the path and read-only method of each JSON API a camera may list.
var jsonRead = map[string]struct{ path, method string }{
	"api-discovery":      {"apidiscovery.cgi", "getApiList"},
	"basic-device-info":  {"basicdeviceinfo.cgi", "getAllProperties"},
	"fwmgr":              {"firmwaremanagement.cgi", "status"},
	"systemready":        {"systemready.cgi", "systemready"},
	"dynamicoverlay":     {"dynamicoverlay/dynamicoverlay.cgi", "list"},
	"time-service":       {"time.cgi", "getDateTimeInfo"},
	"ntp":                {"ntp.cgi", "getNTPInfo"},
	"oak":                {"oak.cgi", "getOAK"},
	"mdnssd":             {"mdnssd.cgi", "getMdnssdInfo"},
	"stream-profiles":    {"streamprofile.cgi", "list"},
	"network-settings":   {"network_settings.cgi", "getNetworkInfo"},
	"io-port-management": {"io/portmanagement.cgi", "getPorts"},
	"view-area":          {"viewarea/info.cgi", "list"},
}

// legacyRead is the read request of each API that is not JSON, and what its answer must
// hold.
var legacyRead = map[string]struct{ path, contentType, holds string }{
	"param-cgi":       {"param.cgi?action=list&group=Properties.API.Metadata", "text/plain", "Properties.API.Metadata.Version="},
	"user-management": {"pwdgrp.cgi?action=get", "text/plain", "admin="},
	"packagemanager":  {"applications/list.cgi", "text/xml", `<reply result="ok">`},
	"application":     {"applications/list.cgi", "text/xml", `<reply result="ok">`},
	"ptz-control":     {"com/ptz.cgi?query=position", "text/plain", "pan="},
	"media-cgi":       {"jpg/image.cgi", "image/jpeg", "\xff\xd8"},
}

type apiEntry struct {
	ID      string `json:"id"`
	Version string `json:"version"`
}

// TestEveryListedAPIAnswers walks each model's own getApiList and calls every API's read
// method: a client that finds an API in the list gets a well-formed answer from it.
func TestEveryListedAPIAnswers(t *testing.T) {
	fleet := camsimtest.Start(t, len(camsim.Models))
	hc := digestClient(camsimtest.User, camsimtest.Password)
	for _, cam := range fleet.Cameras() {
		t.Run(cam.Info().Model, func(t *testing.T) {
			base := cam.Info().HTTP + "/axis-cgi/"
			list := postJSON(t, hc, base+"apidiscovery.cgi", `{"apiVersion":"1.0","method":"getApiList"}`)
			raw, _ := json.Marshal(list["data"].(map[string]any)["apiList"])
			var apis []apiEntry
			if err := json.Unmarshal(raw, &apis); err != nil || len(apis) == 0 {
				t.Fatalf("apiList %s: %v", raw, err)
			}
			for _, api := range apis {
				if r, ok := jsonRead[api.ID]; ok {
					checkJSONRead(t, hc, base+r.path, api, r.method)
				} else if r, ok := legacyRead[api.ID]; ok {
					checkLegacyRead(t, hc, base+r.path, r.contentType, r.holds)
				} else if api.ID == "event-streaming-over-websocket" {
					checkEventStream(t, hc, cam)
				} else {
					t.Errorf("listed API %s (%s): the walk knows no read method for it", api.ID, api.Version)
				}
			}
		})
	}
}

// checkJSONRead calls method and getSupportedVersions and checks the answers have the
// form of vapix.md section 2.
func checkJSONRead(t *testing.T, hc *http.Client, url string, api apiEntry, method string) {
	t.Helper()
	major, _, _ := strings.Cut(api.Version, ".")
	body := `{"apiVersion":"` + major + `.0","context":"walk","method":"` + method + `"}`
	reply := postJSONReply(t, hc, url, body)
	if reply["error"] != nil {
		t.Errorf("%s %s: error %v", api.ID, method, reply["error"])
		return
	}
	v, _ := reply["apiVersion"].(string)
	if gotMajor, _, _ := strings.Cut(v, "."); gotMajor != major {
		t.Errorf("%s %s: apiVersion %q, listed %s", api.ID, method, v, api.Version)
	}
	if reply["context"] != "walk" {
		t.Errorf("%s %s: context %v not echoed", api.ID, method, reply["context"])
	}
	// basicdeviceinfo leaves method out of its replies (vapix.md section 2).
	if m, ok := reply["method"]; ok && m != method || !ok && api.ID != "basic-device-info" {
		t.Errorf("%s %s: method %v", api.ID, method, reply["method"])
	}
	if _, ok := reply["data"].(map[string]any); !ok {
		t.Errorf("%s %s: data %v is not an object", api.ID, method, reply["data"])
	}
	sv := postJSONReply(t, hc, url, `{"context":"v","method":"getSupportedVersions"}`)
	data, _ := sv["data"].(map[string]any)
	versions, _ := data["apiVersions"].([]any)
	found := false
	for _, v := range versions {
		if s, _ := v.(string); strings.HasPrefix(s, major+".") {
			found = true
		}
	}
	if !found {
		t.Errorf("%s getSupportedVersions: %v, listed %s", api.ID, sv, api.Version)
	}
}

func postJSONReply(t *testing.T, hc *http.Client, url, body string) map[string]any {
	t.Helper()
	resp, err := hc.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); resp.StatusCode != http.StatusOK || ct != "application/json" {
		t.Fatalf("%s: HTTP %d %s", url, resp.StatusCode, ct)
	}
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("%s: not JSON: %v", url, err)
	}
	return m
}

func checkLegacyRead(t *testing.T, hc *http.Client, url, contentType, holds string) {
	t.Helper()
	resp, err := hc.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if resp.StatusCode != http.StatusOK || ct != contentType || !strings.Contains(string(b), holds) {
		t.Errorf("%s: HTTP %d %s, %.80q; want %s holding %q", url, resp.StatusCode, ct, b, contentType, holds)
	}
}

// checkEventStream opens the event WebSocket with a wssession token and configures it.
func checkEventStream(t *testing.T, hc *http.Client, cam *camsim.Camera) {
	t.Helper()
	resp, err := hc.Get(cam.Info().HTTP + "/axis-cgi/wssession.cgi")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	u := "ws" + strings.TrimPrefix(cam.Info().HTTP, "http") + "/vapix/ws-data-stream?sources=events&wssession=" + strings.TrimSpace(string(b))
	conn, _, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Errorf("event stream: %v", err)
		return
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if err := conn.WriteJSON(map[string]any{"apiVersion": "1.0", "context": "walk", "method": "events:configure",
		"params": map[string]any{"eventFilterList": []map[string]string{{"topicFilter": "//."}}}}); err != nil {
		t.Fatal(err)
	}
	var reply map[string]any
	if err := conn.ReadJSON(&reply); err != nil || reply["method"] != "events:configure" || reply["error"] != nil || reply["data"] == nil {
		t.Errorf("events:configure: %v, %v", reply, err)
	}
}
