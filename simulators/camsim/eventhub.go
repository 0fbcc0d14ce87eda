package camsim

import (
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Event is one notification a camera emits, as events:notify carries it (vapix.md 13.1).
type Event struct {
	Topic     string
	Timestamp time.Time
	Source    map[string]string
	Key       map[string]string
	Data      map[string]string
	// Property marks a stateful event: its latest value is sent to each new subscriber
	// right after it configures its filters, then again on every change.
	Property bool
}

// Motion topics camsim emits (vapix.md 13.2): AXIS Video Motion Detection 4 and the ONVIF
// motion region rule.
const (
	TopicVMD4         = "tnsaxis:CameraApplicationPlatform/VMD/Camera1Profile1"
	TopicMotionRegion = "tns1:RuleEngine/MotionRegionDetector/Motion"
)

// subscriberBuffer bounds what a slow event reader can hold back; beyond it events are
// dropped for that reader (and counted), never blocking the camera.
const subscriberBuffer = 64

// eventHub fans a camera's events out to its event streams. The hub owns and closes every
// subscriber channel.
type eventHub struct {
	mu      sync.Mutex
	subs    map[chan Event]struct{}
	state   map[string]Event // latest property event per topic and source (see stateKey)
	dropped atomic.Int64
}

func newEventHub() *eventHub {
	return &eventHub{subs: map[chan Event]struct{}{}, state: map[string]Event{}}
}

// subscribe returns a channel of events and the current state of property events. The
// channel is closed by cancel or when the camera reboots (closeAll).
func (h *eventHub) subscribe() (ch <-chan Event, initial []Event, cancel func()) {
	c := make(chan Event, subscriberBuffer)
	h.mu.Lock()
	h.subs[c] = struct{}{}
	for _, e := range h.state {
		initial = append(initial, e)
	}
	h.mu.Unlock()
	return c, initial, func() {
		h.mu.Lock()
		if _, ok := h.subs[c]; ok {
			delete(h.subs, c)
			close(c)
		}
		h.mu.Unlock()
	}
}

func (h *eventHub) publish(e Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if e.Property {
		h.state[stateKey(e.Topic, e.Source)] = e
	}
	for c := range h.subs {
		select {
		case c <- e:
		default:
			h.dropped.Add(1)
		}
	}
}

// stateKey names one property instance: a topic and its source (two I/O ports share
// their topic and differ in the port).
func stateKey(topic string, source map[string]string) string {
	keys := make([]string, 0, len(source))
	for k := range source {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(topic)
	for _, k := range keys {
		b.WriteString("\x00" + k + "=" + source[k])
	}
	return b.String()
}

// current is the latest event of a property instance, if one was published.
func (h *eventHub) current(topic string, source map[string]string) (Event, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e, ok := h.state[stateKey(topic, source)]
	return e, ok
}

// closeAll ends every stream, as a reboot drops every WebSocket.
func (h *eventHub) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.subs {
		delete(h.subs, c)
		close(c)
	}
}

// motionEvents are the two notifications a motion change produces.
func motionEvents(active bool, at time.Time) []Event {
	v := "0"
	if active {
		v = "1"
	}
	return []Event{
		{Topic: TopicVMD4, Timestamp: at, Source: map[string]string{}, Key: map[string]string{}, Data: map[string]string{"active": v}, Property: true},
		{Topic: TopicMotionRegion, Timestamp: at, Source: map[string]string{"VideoSource": "0", "RuleName": "Motion"}, Key: map[string]string{}, Data: map[string]string{"State": v}, Property: true},
	}
}
