package camsim

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

// Event streaming over WebSocket (vapix.md 13.1): /vapix/ws-data-stream?sources=events,
// authenticated by the upgrade request's Digest credentials or by a single-use token
// from /axis-cgi/wssession.cgi. The client sends events:configure with topic filters;
// each matching event is sent as events:notify, once per matching filter.

const (
	wsSessionLifetime = 15 * time.Second
	wsWriteTimeout    = 10 * time.Second
	wsMaxMessage      = 64 << 10
)

var wsUpgrader = websocket.Upgrader{
	ReadBufferSize:  4096,
	WriteBufferSize: 4096,
	// The camera serves its own pages and has no list of origins to check against.
	CheckOrigin: func(*http.Request) bool { return true },
}

func (c *Camera) handleWSSession(q *request) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	c.mu.Lock()
	if c.wsTokens == nil {
		c.wsTokens = map[string]time.Time{}
	}
	now := c.now()
	for t, exp := range c.wsTokens {
		if now.After(exp) {
			delete(c.wsTokens, t)
		}
	}
	c.wsTokens[token] = now.Add(wsSessionLifetime)
	c.mu.Unlock()
	q.text(http.StatusOK, token+"\n")
}

// takeWSToken consumes a wssession token; false when unknown, used or expired.
func (c *Camera) takeWSToken(token string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	exp, ok := c.wsTokens[token]
	delete(c.wsTokens, token)
	return ok && !c.now().After(exp)
}

type eventFilter struct {
	TopicFilter   string `json:"topicFilter"`
	ContentFilter string `json:"contentFilter,omitempty"`
}

type configureParams struct {
	EventFilterList []eventFilter `json:"eventFilterList"`
}

func (c *Camera) handleEventStream(q *request) {
	if tok := q.r.URL.Query().Get("wssession"); tok != "" {
		if !c.takeWSToken(tok) {
			q.challenge()
			return
		}
	} else if !q.require(Viewer, false) {
		return
	}
	if src := q.r.URL.Query().Get("sources"); src != "events" {
		q.text(http.StatusBadRequest, "Error: unsupported sources '"+src+"'\n")
		return
	}
	conn, err := wsUpgrader.Upgrade(q.w, q.r, nil)
	if err != nil {
		return // the upgrader answered the client
	}
	defer conn.Close()
	conn.SetReadLimit(wsMaxMessage)

	events, _, cancel := c.events.subscribe()
	defer func() { cancel() }() // the subscription of the moment (configure makes a new one)

	// The reader goroutine owns reading; it hands configure requests to this goroutine,
	// which owns writing. It ends when the connection closes, which the deferred Close
	// does when this handler returns.
	configs := make(chan jsonRequest)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		for {
			_, msg, err := conn.ReadMessage()
			if err != nil {
				return
			}
			var req jsonRequest
			if json.Unmarshal(msg, &req) != nil {
				req = jsonRequest{Method: "invalid"}
			}
			select {
			case configs <- req:
			case <-q.r.Context().Done():
				return
			}
		}
	}()

	var filters []eventFilter
	write := func(v any) bool {
		_ = conn.SetWriteDeadline(time.Now().Add(wsWriteTimeout))
		return conn.WriteJSON(v) == nil
	}
	for {
		select {
		case <-readDone:
			return
		case req := <-configs:
			reply := jsonReply{APIVersion: "1.0", Context: req.Context, Method: req.Method}
			var p configureParams
			switch {
			case req.Method != "events:configure":
				reply.Error = &jsonError{Code: 1100, Message: "Internal Error"}
			case json.Unmarshal(req.Params, &p) != nil || !validFilters(p.EventFilterList):
				reply.Error = &jsonError{Code: 1100, Message: "Internal Error"}
			default:
				filters = p.EventFilterList
				reply.Data = struct{}{}
			}
			var initial []Event
			if reply.Error == nil {
				// Stateful events report their current state right after configure. The
				// state and the live events come from one subscription, taken before the
				// reply: a change made once the client has the reply arrives once, after
				// the state, never also inside it.
				cancel()
				events, initial, cancel = c.events.subscribe()
			}
			if !write(reply) {
				return
			}
			for _, e := range initial {
				if !c.notify(write, filters, e) {
					return
				}
			}
		case e, ok := <-events:
			if !ok {
				// The camera reboots: the stream ends as the device drops it.
				return
			}
			if !c.notify(write, filters, e) {
				return
			}
		}
	}
}

// notify sends e once per matching filter.
func (c *Camera) notify(write func(any) bool, filters []eventFilter, e Event) bool {
	for _, f := range filters {
		if !TopicMatches(f.TopicFilter, e.Topic) {
			continue
		}
		msg := map[string]any{
			"apiVersion": "1.0",
			"method":     "events:notify",
			"params": map[string]any{"notification": map[string]any{
				"topic":     e.Topic,
				"timestamp": e.Timestamp.UnixMilli(),
				"message":   map[string]any{"source": nonNil(e.Source), "key": nonNil(e.Key), "data": nonNil(e.Data)},
			}},
		}
		if !write(msg) {
			return false
		}
	}
	return true
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func validFilters(fs []eventFilter) bool {
	for _, f := range fs {
		if strings.TrimSpace(f.TopicFilter) == "" || len(f.TopicFilter) > 1024 {
			return false
		}
	}
	return len(fs) > 0
}

// TopicMatches applies an ONVIF topic expression to a topic: alternatives separated by
// "|", each either a concrete topic or a topic ending in "//." that matches it and
// everything below it ("//." alone matches every topic). Namespace prefixes (tns1:,
// tnsaxis:) are compared leniently: a segment matches with or without its prefix.
func TopicMatches(filter, topic string) bool {
	for _, alt := range strings.Split(filter, "|") {
		alt = strings.TrimSpace(alt)
		subtree := strings.HasSuffix(alt, "//.")
		alt = strings.TrimSuffix(alt, "//.")
		if alt == "" {
			if subtree {
				return true
			}
			continue // an empty alternative names no topic
		}
		fs, ts := topicSegments(alt), topicSegments(topic)
		if len(fs) > len(ts) || !subtree && len(fs) != len(ts) {
			continue
		}
		match := true
		for i := range fs {
			if fs[i] != ts[i] {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}

func topicSegments(t string) []string {
	parts := strings.Split(strings.Trim(t, "/"), "/")
	for i, p := range parts {
		if _, local, ok := strings.Cut(p, ":"); ok {
			parts[i] = local
		}
	}
	return parts
}
