package vapix

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// EventStream is a subscription to a device's events over WebSocket (vapix.md 13.1).
// Read events with Next; Close (or cancelling the context given to Events) ends it.
type EventStream struct {
	conn   *websocket.Conn
	stop   chan struct{} // closed by Close; stops the keepalive goroutine
	once   sync.Once
	wg     sync.WaitGroup
	cancel func() bool // stops watching the caller's context
}

// keepalive is how often the client pings, as Axis' own clients do.
const keepalive = 15 * time.Second

// Events subscribes to the events whose topics match any of the ONVIF topic filters
// ("//." for all). The WebSocket is authorized with a single-use wssession token taken
// with the client's Digest credentials, so the upgrade itself needs no challenge.
func (c *Client) Events(ctx context.Context, topicFilters ...string) (*EventStream, error) {
	if len(topicFilters) == 0 {
		topicFilters = []string{"//."}
	}
	b, _, err := c.do(ctx, c.http, http.MethodGet, "/axis-cgi/wssession.cgi", nil, "", nil)
	if err != nil {
		return nil, fmt.Errorf("vapix: events: session token: %w", err)
	}
	token := strings.TrimSpace(string(b))
	u := *c.base
	u.Scheme = map[string]string{"http": "ws", "https": "wss"}[u.Scheme]
	u.Path += "/vapix/ws-data-stream"
	u.RawQuery = url.Values{"sources": {"events"}, "wssession": {token}}.Encode()
	dialer := websocket.Dialer{HandshakeTimeout: 10 * time.Second, Proxy: nil}
	conn, resp, err := dialer.DialContext(ctx, u.String(), nil)
	if err != nil {
		if resp != nil {
			if se := statusError(resp.StatusCode, nil); se != nil {
				err = se
			}
		}
		return nil, fmt.Errorf("vapix: events: %w", transportError(err))
	}
	filters := make([]map[string]string, 0, len(topicFilters))
	for _, f := range topicFilters {
		filters = append(filters, map[string]string{"topicFilter": f})
	}
	configure := map[string]any{"apiVersion": "1.0", "context": "camcloud", "method": "events:configure",
		"params": map[string]any{"eventFilterList": filters}}
	_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := conn.WriteJSON(configure); err != nil {
		conn.Close()
		return nil, fmt.Errorf("vapix: events: configure: %w", err)
	}
	// The first message answers configure.
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, msg, err := conn.ReadMessage()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("vapix: events: configure: %w", transportError(err))
	}
	if _, _, err := ParseEventMessage(msg); err != nil {
		conn.Close()
		return nil, fmt.Errorf("vapix: events: configure: %w", err)
	}
	_ = conn.SetReadDeadline(time.Time{})

	s := &EventStream{conn: conn, stop: make(chan struct{})}
	s.cancel = context.AfterFunc(ctx, func() { s.Close() })
	s.wg.Add(1)
	go s.ping()
	return s, nil
}

func (s *EventStream) ping() {
	defer s.wg.Done()
	t := time.NewTicker(keepalive)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			if err := s.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(5*time.Second)); err != nil {
				return
			}
		}
	}
}

// Next blocks until the next event. It returns an error once the stream ended (closed,
// the device rebooted, the context was cancelled).
func (s *EventStream) Next() (Event, error) {
	for {
		_, msg, err := s.conn.ReadMessage()
		if err != nil {
			select {
			case <-s.stop:
				return Event{}, fmt.Errorf("vapix: events: %w", ErrStreamClosed)
			default:
			}
			return Event{}, fmt.Errorf("vapix: events: %w", transportError(err))
		}
		ev, ok, err := ParseEventMessage(msg)
		if err != nil {
			return Event{}, fmt.Errorf("vapix: events: %w", err)
		}
		if ok {
			return ev, nil
		}
	}
}

// ErrStreamClosed is returned by Next after Close.
var ErrStreamClosed = errors.New("vapix: event stream closed")

// Close ends the stream and waits for its keepalive goroutine.
func (s *EventStream) Close() error {
	s.once.Do(func() {
		close(s.stop)
		_ = s.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		_ = s.conn.Close()
	})
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
	return nil
}
