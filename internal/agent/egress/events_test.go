package egress

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/opencamcloud/camcloud/simulators/camsim"
)

// TestEventStreamThroughProxy opens the camera's VAPIX event stream over WebSocket
// through the proxy, with no credentials on the caller's side: the proxy answers the
// camera's Digest challenge on the upgrade request and splices the connection.
func TestEventStreamThroughProxy(t *testing.T) {
	fleet, inv := startCameras(t, 1)
	cam := fleet.Cameras()[0]
	_, srv := startProxy(t, inv)
	ctx := ctxT(t)

	u := "ws" + strings.TrimPrefix(srv.URL, "http") + PathPrefix + cam.Info().Serial + "/vapix/vapix/ws-data-stream?sources=events"
	conn, res, err := (&websocket.Dialer{HandshakeTimeout: 10 * time.Second}).DialContext(ctx, u, nil)
	if err != nil {
		if res != nil {
			t.Fatalf("dial: %v (HTTP %d)", err, res.StatusCode)
		}
		t.Fatal(err)
	}
	defer conn.Close()
	if res.Header.Get("Www-Authenticate") != "" {
		t.Fatal("the upgrade answer carries a challenge")
	}
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	_ = conn.SetWriteDeadline(time.Now().Add(20 * time.Second))
	configure := map[string]any{"apiVersion": "1.0", "context": "egress", "method": "events:configure",
		"params": map[string]any{"eventFilterList": []map[string]string{{"topicFilter": camsim.TopicVMD4}}}}
	if err := conn.WriteJSON(configure); err != nil {
		t.Fatal(err)
	}
	var reply struct {
		Method string          `json:"method"`
		Error  json.RawMessage `json:"error"`
	}
	if err := conn.ReadJSON(&reply); err != nil || reply.Method != "events:configure" || reply.Error != nil {
		t.Fatalf("configure reply %+v, %v", reply, err)
	}
	// The stateful motion event reports its current state (inactive) right away; then
	// the motion triggered below.
	cam.TriggerMotion(true)
	for {
		var n struct {
			Method string `json:"method"`
			Params struct {
				Notification struct {
					Topic   string `json:"topic"`
					Message struct {
						Data map[string]string `json:"data"`
					} `json:"message"`
				} `json:"notification"`
			} `json:"params"`
		}
		if err := conn.ReadJSON(&n); err != nil {
			t.Fatalf("no motion event through the proxy: %v", err)
		}
		if n.Method != "events:notify" || n.Params.Notification.Topic != camsim.TopicVMD4 {
			t.Fatalf("unexpected message %+v", n)
		}
		if n.Params.Notification.Message.Data["active"] == "1" {
			break
		}
	}
}

// TestEventStreamWithSessionToken uses the typed client, which takes a wssession token
// (through the proxy, with the agent's account) and opens the stream with it.
func TestEventStreamWithSessionToken(t *testing.T) {
	fleet, inv := startCameras(t, 1)
	cam := fleet.Cameras()[0]
	_, srv := startProxy(t, inv)
	ctx := ctxT(t)
	stream, err := viaProxy(t, srv, cam.Info().Serial).Events(ctx, camsim.TopicMotionRegion)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	// The camera subscribed the stream before it answered configure: no wait needed.
	cam.TriggerMotion(true)
	for {
		e, err := stream.Next()
		if err != nil {
			t.Fatal(err)
		}
		if e.Data["State"] == "1" {
			return
		}
	}
}

// TestUpgradeRefusedWithoutDevice: a WebSocket to an unknown device is refused before
// anything is dialled.
func TestUpgradeRefusedWithoutDevice(t *testing.T) {
	_, srv := startProxy(t, &inventory{})
	u := "ws" + strings.TrimPrefix(srv.URL, "http") + PathPrefix + "ACCC8E000001/vapix/vapix/ws-data-stream?sources=events"
	_, res, err := websocket.DefaultDialer.Dial(u, nil)
	if err == nil || res == nil || res.StatusCode != http.StatusNotFound {
		t.Fatalf("dial to an unknown device: %v, %v", res, err)
	}
}
