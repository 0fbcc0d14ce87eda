package vapix

import (
	"context"
	"errors"
	"fmt"
	"net"
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
	conn      *websocket.Conn
	keepalive time.Duration // how often to ping
	idle      time.Duration // how long without a message or a pong ends the stream
	stop      chan struct{} // closed by Close; stops the keepalive goroutine
	once      sync.Once
	wg        sync.WaitGroup
	cancel    func() bool // stops watching the caller's context
}

// defaultKeepalive is how often the client pings, as Axis' own clients do (vapix.md
// 13.1).
const defaultKeepalive = 15 * time.Second

// streamIdle is how long a stream may go without a message or a pong: two pings
// unanswered and a third of an interval more for a slow answer (35 s by default). A
// device that stops answering without closing the connection (power cut, wedged web
// server) sends nothing else that would tell.
func streamIdle(keepalive time.Duration) time.Duration { return 2*keepalive + keepalive/3 }

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
	s := &EventStream{conn: conn, keepalive: c.keepalive, idle: streamIdle(c.keepalive), stop: make(chan struct{})}
	// Next sets the read deadline as it waits and on every message; a pong, which the
	// device sends only while it is alive, moves it too.
	conn.SetPongHandler(func(string) error { return conn.SetReadDeadline(time.Now().Add(s.idle)) })
	s.cancel = context.AfterFunc(ctx, func() { s.Close() })
	s.wg.Add(1)
	go s.ping()
	return s, nil
}

func (s *EventStream) ping() {
	defer s.wg.Done()
	t := time.NewTicker(s.keepalive)
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
// the device rebooted or stopped answering, the context was cancelled); a device that
// sent neither a message nor an answer to a ping for a while (35 s by default) is
// ErrUnavailable.
func (s *EventStream) Next() (Event, error) {
	for {
		_ = s.conn.SetReadDeadline(time.Now().Add(s.idle))
		_, msg, err := s.conn.ReadMessage()
		if err != nil {
			select {
			case <-s.stop:
				return Event{}, fmt.Errorf("vapix: events: %w", ErrStreamClosed)
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return Event{}, fmt.Errorf("vapix: events: %w: no message and no answer to pings for %s", ErrUnavailable, s.idle)
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
