package camsim_test

import (
	"context"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/pkg/vapix"
	"github.com/opencamcloud/camcloud/simulators/camsim"
	"github.com/opencamcloud/camcloud/simulators/camsim/camsimtest"
)

func listParams(t *testing.T, hc *http.Client, cam *camsim.Camera, group string) map[string]string {
	t.Helper()
	resp, err := hc.Get(cam.Info().HTTP + "/axis-cgi/param.cgi?action=list&group=" + group)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSuffix(readAll(t, resp), "\n"), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("param line %q", line)
		}
		m[strings.TrimPrefix(k, "root.")] = v
	}
	return m
}

// Each camera lists the whole tree a real camera has, filled with its own facts.
func TestParamTreeIsTheCamerasOwn(t *testing.T) {
	fleet := camsimtest.Start(t, len(camsim.Models))
	hc := digestClient(camsimtest.User, camsimtest.Password)
	for _, cam := range fleet.Cameras() {
		info := cam.Info()
		model := cam.Identity().Model
		t.Run(info.Model, func(t *testing.T) {
			p := listParams(t, hc, cam, "root")
			// The sample camera lists 799, of which about 200 are its wireless interface,
			// its second PTZ channel and its PIR sensor; the simulated models are wired
			// and have one channel.
			if len(p) < 550 || model.PTZ && len(p) < 650 {
				t.Errorf("%d parameters, a real camera has about 600-800", len(p))
			}
			host, port, _ := net.SplitHostPort(strings.TrimPrefix(info.HTTP, "http://"))
			_, rtspPort, _ := net.SplitHostPort(strings.TrimPrefix(strings.TrimSuffix(info.RTSP, "/axis-media/media.amp"), "rtsp://"))
			want := map[string]string{
				"Properties.System.SerialNumber":   info.Serial,
				"Network.eth0.MACAddress":          info.MAC,
				"Network.eth0.IPAddress":           host,
				"Network.eth0.SubnetMask":          "255.0.0.0",
				"Network.DefaultRouter":            "127.0.0.1",
				"Network.HostName":                 "axis-" + strings.ToLower(info.Serial),
				"Network.RTSP.Port":                rtspPort,
				"System.BoaPort":                   port,
				"Network.UPnP.FriendlyName":        model.ProdShortName() + " - " + info.Serial,
				"Properties.Firmware.Version":      cam.FirmwareVersion(),
				"Network.DHCP.VendorClass":         "AXIS," + model.ProdType + "," + model.ProdNbr + "," + cam.FirmwareVersion(),
				"Properties.Image.Resolution":      strings.Join(model.Resolutions, ","),
				"Image.I0.Appearance.Resolution":   model.Resolutions[0],
				"Properties.System.Architecture":   model.Architecture,
				"Brand.ProdFullName":               model.ProdFullName,
				"Properties.API.Metadata.Metadata": "yes",
				"Properties.API.Metadata.Version":  "1.0",
				"Properties.PTZ.PTZ":               map[bool]string{true: "yes", false: "no"}[model.PTZ],
				"StreamProfile.S0.Name":            "profile_1",
			}
			for k, v := range want {
				if p[k] != v {
					t.Errorf("%s=%q, want %q", k, p[k], v)
				}
			}
			for _, k := range []string{"Properties.EmbeddedDevelopment.Version", "Network.DNSServer1", "Network.Bonjour.Enabled",
				"Network.UPnP.Enabled", "Audio.A0.Enabled", "AudioSource.A0.AudioEncoding", "ImageSource.I0.Sensor.WDR",
				"Input.NbrOfInputs", "Output.NbrOfOutputs", "Storage.S0.DiskID", "StreamCache.Size", "Time.NTP.Server", "HTTPS.Port"} {
				if _, ok := p[k]; !ok {
					t.Errorf("%s missing", k)
				}
			}
			ptz := []string{"PTZ.NbrOfSerPorts", "PTZ.CamPorts.Cam1Port", "PTZ.ImageSource.I0.PTZEnabled", "PTZ.Limit.L1.MaxFieldAngle", "PTZ.Limit.L1.MinFieldAngle"}
			for _, k := range ptz {
				if _, ok := p[k]; ok != model.PTZ {
					t.Errorf("%s listed %v on a model with PTZ %v", k, ok, model.PTZ)
				}
			}
			if p["Network.Interface.I0.dot1x.EAPTLS.PrivateKeyPassword"] != "******" {
				t.Errorf("secrets are listed as ******: %q", p["Network.Interface.I0.dot1x.EAPTLS.PrivateKeyPassword"])
			}
		})
	}
}

func TestParamUpdateAndAddOnTheWholeTree(t *testing.T) {
	cam := camsimtest.Start(t, 1).Cameras()[0]
	hc := digestClient(camsimtest.User, camsimtest.Password)
	get := func(q string) string {
		resp, err := hc.Get(cam.Info().HTTP + "/axis-cgi/param.cgi?" + q)
		if err != nil {
			t.Fatal(err)
		}
		return readAll(t, resp)
	}
	if out := get("action=update&root.Audio.A0.Enabled=yes&ImageSource.I0.Sensor.Brightness=70"); out != "OK\n" {
		t.Fatalf("update deep params: %q", out)
	}
	if p := listParams(t, hc, cam, "Audio.A0.Enabled,ImageSource.I0.Sensor.Brightness"); p["Audio.A0.Enabled"] != "yes" || p["ImageSource.I0.Sensor.Brightness"] != "70" {
		t.Fatalf("after update: %v", p)
	}
	for q, failing := range map[string]string{
		"action=update&Properties.API.Metadata.Version=2.0": "root.Properties.API.Metadata.Version",
		"action=update&Network.eth0.IPAddress=10.0.0.9":     "root.Network.eth0.IPAddress",
		"action=update&Audio.A0.Enabled=maybe":              "root.Audio.A0.Enabled",
		"action=update&Does.Not.Exist=1":                    "root.Does.Not.Exist",
	} {
		if out := get(q); !strings.HasPrefix(out, "# Error: Error setting '"+failing+"'") {
			t.Errorf("%s: %q", q, out)
		}
	}
	// StreamProfile.MaxGroups bounds the instances: S0 exists, 25 more fit.
	for i := 1; i < 26; i++ {
		if out := get("action=add&template=streamprofile&group=StreamProfile&StreamProfile.S.Name=p" + string(rune('a'+i))); !strings.HasSuffix(out, " OK\n") {
			t.Fatalf("add %d: %q", i, out)
		}
	}
	if out := get("action=add&template=streamprofile&group=StreamProfile&StreamProfile.S.Name=full"); !strings.HasPrefix(out, "# Error:") {
		t.Fatalf("add beyond StreamProfile.MaxGroups: %q", out)
	}
}

// Stream profiles made through streamprofile.cgi are parameters as well, are saved with
// the state, and are what Camera.StreamProfile returns.
func TestStreamProfileAPI(t *testing.T) {
	dir := t.TempDir()
	fleet := camsimtest.Start(t, 1, camsimtest.WithState(dir))
	cam := fleet.Cameras()[0]
	hc := digestClient(camsimtest.User, camsimtest.Password)
	url := cam.Info().HTTP + "/axis-cgi/streamprofile.cgi"
	call := func(method, params string) map[string]any {
		return postJSONReply(t, hc, url, `{"apiVersion":"1.0","method":"`+method+`","params":`+params+`}`)
	}
	list := call("list", `{"streamProfileName":[]}`)
	if d := list["data"].(map[string]any); d["maxProfiles"] != float64(26) || len(d["streamProfile"].([]any)) != 1 {
		t.Fatalf("list: %v", list)
	}
	if r := call("create", `{"streamProfile":[{"name":"gate","description":"Gate 720p","parameters":"resolution=1280x720&fps=15&videokeyframeinterval=30"}]}`); r["error"] != nil {
		t.Fatalf("create: %v", r)
	}
	for method, params := range map[string]string{
		"create": `{"streamProfile":[{"name":"gate","parameters":""}]}`,
		"update": `{"streamProfile":[{"name":"nosuch","parameters":"fps=1"}]}`,
		"remove": `{"streamProfileName":[{"name":"nosuch"}]}`,
	} {
		want := map[string]int{"create": 1000, "update": 2006, "remove": 2006}[method]
		if r := call(method, params); errCode(r) != want {
			t.Errorf("%s %s: %v, want error %d", method, params, r, want)
		}
	}
	if r := postJSONReply(t, hc, url, `{"apiVersion":"2.0","method":"list"}`); errCode(r) != 2000 {
		t.Errorf("version 2.0: %v", r)
	}
	if r := postJSONReply(t, hc, url, `{"apiVersion":"1.0","method":"bogus"}`); errCode(r) != 2005 {
		t.Errorf("unknown method: %v", r)
	}
	if p := listParams(t, hc, cam, "StreamProfile"); p["StreamProfile.S1.Name"] != "gate" || p["StreamProfile.S1.Parameters"] != "resolution=1280x720&fps=15&videokeyframeinterval=30" {
		t.Errorf("param.cgi sees %v", p)
	}
	if r := call("update", `{"streamProfile":[{"name":"gate","description":"Gate 1080p","parameters":"resolution=1920x1080"}]}`); r["error"] != nil {
		t.Fatalf("update: %v", r)
	}
	if r := call("remove", `{"streamProfileName":[{"name":"profile_1"}]}`); r["error"] != nil {
		t.Fatalf("remove: %v", r)
	}
	// A viewer may list but not change profiles.
	admin, _ := vapix.New(vapix.Config{BaseURL: cam.Info().HTTP, User: camsimtest.User, Password: camsimtest.Password})
	if err := admin.AddUser(context.Background(), "viewer1", "pw1", vapix.RoleViewer, ""); err != nil {
		t.Fatal(err)
	}
	resp, err := digestClient("viewer1", "pw1").Post(url, "application/json", strings.NewReader(`{"apiVersion":"1.0","method":"create","params":{"streamProfile":[{"name":"v","parameters":""}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer creates a profile: HTTP %d", resp.StatusCode)
	}

	// The state outlives camsim.
	fleet.Close()
	cam = camsimtest.Start(t, 1, camsimtest.WithState(dir)).Cameras()[0]
	p, ok := cam.StreamProfile("gate")
	if !ok || p.Parameters != "resolution=1920x1080" || p.Description != "Gate 1080p" {
		t.Fatalf("after restart: %+v, %v", p, ok)
	}
	if v, err := p.Values(); err != nil || v.Get("resolution") != "1920x1080" {
		t.Fatalf("values %v, %v", v, err)
	}
	if _, ok := cam.StreamProfile("profile_1"); ok {
		t.Fatal("removed profile back after restart")
	}
}

func TestTimeAPI(t *testing.T) {
	cam := camsimtest.Start(t, 1).Cameras()[0]
	hc := digestClient(camsimtest.User, camsimtest.Password)
	url := cam.Info().HTTP + "/axis-cgi/time.cgi"
	call := func(method, params string) map[string]any {
		return postJSONReply(t, hc, url, `{"apiVersion":"1.0","context":"c","method":"`+method+`","params":`+params+`}`)
	}
	if r := call("setDateTime", `{"dateTime":"2026-07-01T10:00:00Z"}`); r["error"] != nil {
		t.Fatalf("setDateTime: %v", r)
	}
	info := call("getDateTimeInfo", `{}`)["data"].(map[string]any)
	// Summer in Stockholm: CEST, two hours east.
	if !strings.HasPrefix(info["dateTime"].(string), "2026-07-01T10:00") || !strings.HasPrefix(info["localDateTime"].(string), "2026-07-01T12:00") ||
		!strings.HasSuffix(info["localDateTime"].(string), "+02:00") || info["dstEnabled"] != true || info["posixTimeZone"] != "CET-1CEST,M3.5.0,M10.5.0/3" {
		t.Fatalf("getDateTimeInfo: %v", info)
	}
	if r := call("setTimeZone", `{"timeZone":"America/New_York"}`); r["error"] != nil {
		t.Fatalf("setTimeZone: %v", r)
	}
	all := call("getAllDateTimeInfo", `{}`)["data"].(map[string]any)
	if all["timeZone"] != "America/New_York" || !strings.HasSuffix(all["localDateTime"].(string), "-04:00") || len(all["timeZones"].([]any)) == 0 {
		t.Fatalf("getAllDateTimeInfo: %v", all)
	}
	if p := listParams(t, hc, cam, "Time.POSIXTimeZone,Time.TimeZone"); p["Time.POSIXTimeZone"] != "EST5EDT,M3.2.0,M11.1.0" || p["Time.TimeZone"] != "America/New_York" {
		t.Fatalf("param.cgi disagrees: %v", p)
	}
	if r := call("setPosixTimeZone", `{"posixTimeZone":"<UTC1>-1<UTC2>-2,M3.5.0/2:00:00,M10.5.0/3:00:00","enableDst":false}`); r["error"] != nil {
		t.Fatalf("setPosixTimeZone: %v", r)
	}
	if info := call("getDateTimeInfo", `{}`)["data"].(map[string]any); !strings.HasSuffix(info["localDateTime"].(string), "+01:00") || info["dstEnabled"] != false {
		t.Fatalf("DST off: %v", info)
	}
	for _, c := range []struct {
		body string
		code int
	}{
		{`{"apiVersion":"1.0","method":"bogus"}`, 4000},
		{`{"apiVersion":"2.0","method":"getDateTimeInfo"}`, 4001},
		{`{"apiVersion":"1.0","method":"setPosixTimeZone","params":{"posixTimeZone":"nonsense"}}`, 4002},
		{`{"apiVersion":"1.0","method":"setTimeZone","params":{"timeZone":"Mars/Olympus"}}`, 4002},
	} {
		if r := postJSONReply(t, hc, url, c.body); errCode(r) != c.code {
			t.Errorf("%s: %v, want %d", c.body, r, c.code)
		}
	}
}

func TestNTPAPI(t *testing.T) {
	cam := camsimtest.Start(t, 1).Cameras()[0]
	hc := digestClient(camsimtest.User, camsimtest.Password)
	url := cam.Info().HTTP + "/axis-cgi/ntp.cgi"
	r := postJSONReply(t, hc, url, `{"apiVersion":"1.0","method":"setNTPClientConfiguration","params":{"enabled":true,"serversSource":"static","staticServers":["ntp1.example","ntp2.example"]}}`)
	if r["error"] != nil {
		t.Fatalf("set: %v", r)
	}
	client := postJSONReply(t, hc, url, `{"apiVersion":"1.0","method":"getNTPInfo"}`)["data"].(map[string]any)["client"].(map[string]any)
	if client["enabled"] != true || client["serversSource"] != "static" || len(client["staticServers"].([]any)) != 2 {
		t.Fatalf("getNTPInfo: %v", client)
	}
	if p := listParams(t, hc, cam, "Time.NTP.Server,Time.ObtainFromDHCP"); p["Time.NTP.Server"] != "ntp1.example,ntp2.example" || p["Time.ObtainFromDHCP"] != "no" {
		t.Fatalf("param.cgi: %v", p)
	}
}

// nextEvent reads events until one of topic arrives.
// nextEvent returns the next event of topic whose data item name has the value want,
// skipping others (the power-on states sent after configure among them).
func nextEvent(t *testing.T, s *vapix.EventStream, topic, name, want string) vapix.Event {
	t.Helper()
	for range 1000 {
		e, err := s.Next()
		if err != nil {
			t.Fatalf("waiting for %s %s=%s: %v", topic, name, want, err)
		}
		if e.Topic == topic && e.Data[name] == want {
			return e
		}
	}
	t.Fatalf("no %s %s=%s in 1000 events", topic, name, want)
	return vapix.Event{}
}

// Events besides motion, triggered on the control API, arrive with their recorded
// source and data; a property's state is sent to a stream configured after it changed.
func TestEventTopicsFromControlAPI(t *testing.T) {
	fleet := camsimtest.Start(t, len(camsim.Models))
	cam := fleet.Cameras()[0] // P3265-V: one configurable I/O port
	ctl := httptest.NewServer(fleet.ControlHandler())
	defer ctl.Close()
	post := func(path string) int {
		resp, err := http.Post(ctl.URL+"/cameras/"+cam.Info().Serial+path, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, _ := vapix.New(vapix.Config{BaseURL: cam.Info().HTTP, User: camsimtest.User, Password: camsimtest.Password})
	s, err := c.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cases := []struct {
		path, topic  string
		source, data [2]string
	}{
		{"/tampering", camsim.TopicTampering, [2]string{"Source", "0"}, [2]string{"State", "1"}},
		{"/daynight?day=false", camsim.TopicDayNight, [2]string{"VideoSourceConfigurationToken", "1"}, [2]string{"day", "0"}},
		{"/input?port=1", camsim.TopicIOPort, [2]string{"port", "1"}, [2]string{"state", "1"}},
		{"/vmd?profile=2", camsim.TopicVMD4Profile(2), [2]string{}, [2]string{"active", "1"}},
	}
	for _, tc := range cases {
		if code := post(tc.path); code != http.StatusNoContent {
			t.Fatalf("POST %s: %d", tc.path, code)
		}
		e := nextEvent(t, s, tc.topic, tc.data[0], tc.data[1])
		if tc.source[0] != "" && e.Source[tc.source[0]] != tc.source[1] {
			t.Errorf("%s: %+v", tc.path, e)
		}
	}
	nextEvent(t, s, camsim.TopicVMD4Any, "active", "1")
	// A stream configured now gets every property's current state first.
	s2, err := c.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	// Every property instance once (the P3265-V has one port, so one per topic), each
	// with its current state.
	seen := map[string]vapix.Event{}
	for missing := len(cases); missing > 0; {
		e, err := s2.Next()
		if err != nil {
			t.Fatalf("initial states: %v (have %v)", err, seen)
		}
		if _, dup := seen[e.Topic]; dup {
			t.Fatalf("%s sent twice among the initial states (have %v)", e.Topic, seen)
		}
		seen[e.Topic] = e
		for _, tc := range cases {
			if tc.topic == e.Topic {
				if e.Data[tc.data[0]] != tc.data[1] {
					t.Errorf("initial state of %s: %+v, want %s=%s", tc.topic, e, tc.data[0], tc.data[1])
				}
				missing--
			}
		}
	}
	// The input is closed in io/portmanagement.cgi while active.
	hc := digestClient(camsimtest.User, camsimtest.Password)
	ports := postJSONReply(t, hc, cam.Info().HTTP+"/axis-cgi/io/portmanagement.cgi", `{"apiVersion":"1.0","method":"getPorts"}`)
	item := ports["data"].(map[string]any)["items"].([]any)[0].(map[string]any)
	if item["port"] != "0" || item["state"] != "closed" || item["normalState"] != "open" || item["direction"] != "input" {
		t.Errorf("getPorts while active: %v", item)
	}
	if code := post("/input?port=1&active=false"); code != http.StatusNoContent {
		t.Fatal(code)
	}
	ports = postJSONReply(t, hc, cam.Info().HTTP+"/axis-cgi/io/portmanagement.cgi", `{"apiVersion":"1.0","method":"getPorts"}`)
	if item := ports["data"].(map[string]any)["items"].([]any)[0].(map[string]any); item["state"] != "open" {
		t.Errorf("getPorts after: %v", item)
	}
	// Ports and profiles the camera does not have.
	for _, path := range []string{"/input?port=2", "/vmd?profile=11"} {
		if code := post(path); code != http.StatusNotFound {
			t.Errorf("POST %s: %d", path, code)
		}
	}
	m3106 := fleet.Cameras()[2]
	ports = postJSONReply(t, hc, m3106.Info().HTTP+"/axis-cgi/io/portmanagement.cgi", `{"apiVersion":"1.0","method":"getPorts"}`)
	if d := ports["data"].(map[string]any); d["numberOfPorts"] != float64(0) || d["items"] != nil {
		t.Errorf("%s ports: %v", m3106.Info().Model, d)
	}
}

// A camera that has seen no event yet still reports every property's state after
// events:configure, as real cameras do: a client learns the state without waiting for a
// change. Q6135-LE has one input and one output port.
func TestNewStreamGetsEveryPropertyAtPowerOn(t *testing.T) {
	cam := camsimtest.Start(t, 2).Cameras()[1]
	if m := cam.Info().Model; m != "Q6135-LE" {
		t.Fatalf("second camera is %s, want Q6135-LE", m)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, _ := vapix.New(vapix.Config{BaseURL: cam.Info().HTTP, User: camsimtest.User, Password: camsimtest.Password})
	s, err := c.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	want := map[string]string{
		camsim.TopicVMD4:         "active=0",
		camsim.TopicVMD4Any:      "active=0",
		camsim.TopicMotionRegion: "State=0",
		camsim.TopicTampering:    "State=0",
		camsim.TopicDayNight:     "day=1",
		camsim.TopicIOPort:       "state=0",
		camsim.TopicRelay:        "LogicalState=inactive",
	}
	got := map[string]string{}
	for len(got) < len(want) {
		e, err := s.Next()
		if err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
		for k, v := range e.Data {
			got[e.Topic] = k + "=" + v
		}
	}
	if !maps.Equal(got, want) {
		t.Fatalf("power-on states\n got %v\nwant %v", got, want)
	}
}
