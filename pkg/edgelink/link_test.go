package edgelink

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/opencamcloud/camcloud/internal/testtool"
)

// wsPair returns the two ends of a real WebSocket over loopback TCP, configured as the
// relay (server) and agent (client) configure theirs.
func wsPair(t *testing.T, writeTimeout time.Duration) (agentEnd, relayEnd *wsConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serverSide := make(chan *websocket.Conn, 1)
	up := websocket.Upgrader{WriteBufferSize: wsWriteBufferSize, WriteBufferPool: writeBufferPool}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		serverSide <- ws
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	d := websocket.Dialer{WriteBufferSize: wsWriteBufferSize, WriteBufferPool: writeBufferPool}
	cws, resp, err := d.Dial("ws://"+ln.Addr().String()+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	agentEnd, relayEnd = newWSConn(cws, writeTimeout), newWSConn(<-serverSide, writeTimeout)
	t.Cleanup(func() { agentEnd.Close(); relayEnd.Close() })
	return agentEnd, relayEnd
}

func TestWSConnReadSpansMessages(t *testing.T) {
	a, r := wsPair(t, time.Second)
	for _, m := range []string{"ab", "", "cdefg", "h"} {
		if err := r.ws.WriteMessage(websocket.BinaryMessage, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	r.Close()
	var got []byte
	buf := make([]byte, 3)
	for {
		n, err := a.Read(buf)
		got = append(got, buf[:n]...)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
	}
	if string(got) != "abcdefgh" {
		t.Errorf("read %q across messages, want %q", got, "abcdefgh")
	}
	// The error stays: a failed wsConn never reads again (gorilla would panic).
	for range 2000 {
		if _, err := a.Read(buf); !errors.Is(err, io.EOF) {
			t.Fatalf("Read after EOF = %v", err)
		}
	}
}

func TestWSConnTextMessageEndsTheLink(t *testing.T) {
	a, r := wsPair(t, time.Second)
	if err := a.ws.WriteMessage(websocket.TextMessage, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Read(make([]byte, 10)); !errors.Is(err, ErrUnexpectedMessage) {
		t.Fatalf("Read of a text message = %v, want ErrUnexpectedMessage", err)
	}
	// The peer is told why.
	_, err := a.Read(make([]byte, 10))
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseUnsupportedData {
		t.Errorf("peer read %v, want close 1003", err)
	}
}

func TestWSConnCoalescesYamuxFrames(t *testing.T) {
	a, r := wsPair(t, time.Second)
	hdr := yamuxHeader(0, 0, 1, 5)
	if _, err := a.Write(hdr); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	ping := yamuxHeader(2, 1, 0, 7) // no body: goes out alone, at once
	if _, err := a.Write(ping); err != nil {
		t.Fatal(err)
	}
	for i, want := range [][]byte{append(hdr, "hello"...), ping} {
		typ, msg, err := r.ws.ReadMessage()
		if err != nil || typ != websocket.BinaryMessage || !bytes.Equal(msg, want) {
			t.Errorf("message %d = %d %x %v, want binary %x", i, typ, msg, err, want)
		}
	}
}

func TestWSConnConcurrentWrites(t *testing.T) {
	a, r := wsPair(t, 5*time.Second)
	const writers, records = 8, 200
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range records {
				rec := fmt.Appendf(nil, "[%d:%04d:%s]", w, i, strings.Repeat("x", i))
				if _, err := a.Write(rec); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	// Each Write is one message: no record may be torn by another writer's.
	go func() { wg.Wait(); a.Close() }()
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	recs := regexp.MustCompile(`\[(\d):(\d{4}):x*\]`).FindAll(data, -1)
	if len(recs) != writers*records || len(bytes.Join(recs, nil)) != len(data) {
		t.Errorf("%d intact records in %d bytes, want %d and nothing else", len(recs), len(data), writers*records)
	}
}

func TestWSConnWriteDeadline(t *testing.T) {
	a, _ := wsPair(t, 200*time.Millisecond)
	// Nobody reads the relay's end: the kernel buffers fill, then the write times out.
	chunk := make([]byte, MaxFrame)
	start := time.Now()
	var err error
	for time.Since(start) < 10*time.Second {
		if _, err = a.Write(chunk); err != nil {
			break
		}
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("write to a peer that does not read: %v, want a timeout", err)
	}
}

func yamuxHeader(typ byte, flags uint16, stream, length uint32) []byte {
	h := make([]byte, yamuxHeaderSize)
	h[1] = typ
	binary.BigEndian.PutUint16(h[2:], flags)
	binary.BigEndian.PutUint32(h[4:], stream)
	binary.BigEndian.PutUint32(h[8:], length)
	return h
}

// TestProtocolDoc keeps PROTOCOL.md's constants table true to the code.
func TestProtocolDoc(t *testing.T) {
	doc, err := os.ReadFile("PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	code := map[string]string{
		"ProtocolVersion":          fmt.Sprint(ProtocolVersion),
		"Subprotocol":              Subprotocol,
		"DefaultKeepAliveInterval": DefaultKeepAliveInterval.String(),
		"DefaultIdleTimeout":       DefaultIdleTimeout.String(),
		"DefaultWriteTimeout":      DefaultWriteTimeout.String(),
		"DefaultStreamWindow":      fmt.Sprint(DefaultStreamWindow),
		"MaxFrame":                 fmt.Sprint(MaxFrame),
		"AgentHostSuffix":          AgentHostSuffix,
		"CloseReplaced":            fmt.Sprint(CloseReplaced),
		"CloseRevoked":             fmt.Sprint(CloseRevoked),
		"MaxAgentStreams":          fmt.Sprint(MaxAgentStreams),
		"DefaultStreamStall":       DefaultStreamStall.String(),
		"DefaultBackoffMin":        DefaultBackoffMin.String(),
		"DefaultBackoffMax":        DefaultBackoffMax.String(),
	}
	documented := map[string]string{}
	for _, m := range regexp.MustCompile("(?m)^\\| `(\\w+)` \\| `([^`]*)` \\|$").FindAllStringSubmatch(string(doc), -1) {
		documented[m[1]] = m[2]
	}
	if !reflect.DeepEqual(documented, code) {
		for name, v := range code {
			if documented[name] != v {
				t.Errorf("PROTOCOL.md has %s = %q, the code %q", name, documented[name], v)
			}
		}
		for name := range documented {
			if _, ok := code[name]; !ok {
				t.Errorf("PROTOCOL.md documents %s, which the test does not know", name)
			}
		}
	}
	// The prose must agree with the table where it repeats it.
	for _, s := range []string{"camcloud-edgelink.v1", "every `DefaultKeepAliveInterval` (10 s)", "`DefaultIdleTimeout` (30 s", "code 4000"} {
		if !strings.Contains(string(doc), s) {
			t.Errorf("PROTOCOL.md lacks %q", s)
		}
	}
}

// wsFrame is a client-to-server WebSocket frame, masked as RFC 6455 requires.
func wsFrame(opcode byte, fin bool, payload []byte) []byte {
	b0 := opcode
	if fin {
		b0 |= 0x80
	}
	out := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		out = append(out, 0x80|byte(n))
	case n < 1<<16:
		out = append(out, 0x80|126)
		out = binary.BigEndian.AppendUint16(out, uint16(n))
	default:
		out = append(out, 0x80|127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	out = append(out, key[:]...)
	for i, b := range payload {
		out = append(out, b^key[i%4])
	}
	return out
}

// The fuzz modes: what the fuzzer's bytes are.
const (
	fuzzRaw      = iota // the raw bytes after the handshake: WebSocket frames or garbage
	fuzzMessage         // the payload of one masked binary message: yamux frames or garbage
	fuzzMessages        // the same, split into messages of 7 bytes
	fuzzModes
)

// fuzzSeeds are the seed corpus: WebSocket and yamux frames, good and bad. The same
// cases are committed under testdata/fuzz/FuzzLinkFrames.
func fuzzSeeds() []struct {
	mode byte
	data []byte
} {
	get := []byte("GET /whoami HTTP/1.1\r\nHost: relay\r\n\r\n")
	stream := func(frames ...[]byte) []byte { return bytes.Join(frames, nil) }
	goodStream := stream(
		yamuxHeader(0, 1, 1, uint32(len(get))), get, // SYN + data on stream 1
		yamuxHeader(2, 1, 0, 42), // ping
		yamuxHeader(1, 4, 1, 0),  // FIN
	)
	yamuxCases := [][]byte{
		goodStream,
		stream(yamuxHeader(0, 1, 1, 5), []byte("GET /")),         // a request cut short
		append([]byte{1}, yamuxHeader(0, 0, 0, 0)[1:]...),        // bad version
		yamuxHeader(9, 0, 0, 0),                                  // bad type
		yamuxHeader(0, 0, 77, 3),                                 // data on a stream never opened
		yamuxHeader(0, 1, 1, 1<<30),                              // beyond the window
		stream(yamuxHeader(1, 1, 3, 0), yamuxHeader(1, 1, 3, 0)), // duplicate SYN
		yamuxHeader(3, 0, 0, 1),                                  // go away: protocol error
		yamuxHeader(1, 8, 5, 0),                                  // RST of nothing
		[]byte("\x00\x00"),                                       // a header cut short
	}
	var out []struct {
		mode byte
		data []byte
	}
	add := func(mode byte, data []byte) {
		out = append(out, struct {
			mode byte
			data []byte
		}{mode, data})
	}
	for _, c := range yamuxCases {
		add(fuzzMessage, c)
		add(fuzzMessages, c)
	}
	for _, raw := range [][]byte{
		[]byte("hello, relay"),
		wsFrame(websocket.BinaryMessage, true, goodStream),
		wsFrame(websocket.TextMessage, true, []byte("hi")),
		wsFrame(websocket.BinaryMessage, true, nil),
		stream(wsFrame(websocket.BinaryMessage, false, goodStream[:10]), wsFrame(0, true, goodStream[10:])), // fragmented
		wsFrame(websocket.PingMessage, true, []byte("p")),
		wsFrame(websocket.CloseMessage, true, websocket.FormatCloseMessage(1000, "bye")),
		wsFrame(websocket.PingMessage, true, bytes.Repeat([]byte("x"), 200)),           // control frame too long
		wsFrame(0x3, true, []byte("reserved opcode")),                                  // reserved
		{0x82, 0x05, 'h', 'e', 'l', 'l', 'o'},                                          // unmasked from a client
		{0xc2, 0x80, 0, 0, 0, 0},                                                       // RSV1 without an extension
		{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4},                            // 64-bit length with the top bit set
		{0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 9, 9}, // a huge message, then EOF
	} {
		add(fuzzRaw, raw)
	}
	return out
}

// FuzzLinkFrames feeds arbitrary bytes to the relay's WebSocket handler after a valid
// handshake, as a misbehaving or hostile agent could, then half-closes. The relay must
// neither panic nor wedge: it ends the session and closes the connection promptly,
// and the agent is offline afterwards.
//
// The seeds are fuzzSeeds, committed under testdata/fuzz/FuzzLinkFrames.
func FuzzLinkFrames(f *testing.F) {
	panics := &panicWatch{}
	r, err := NewRelay(RelayConfig{Handler: relayTestHandler(), Logger: panics.logger()})
	if err != nil {
		f.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	srv := &http.Server{
		Handler:  r.UpgradeHandler(func(*http.Request) (string, error) { return "fuzz-agent", nil }),
		ErrorLog: panics.logLogger(),
	}
	go func() { _ = srv.Serve(ln) }()
	f.Cleanup(func() { _ = srv.Close(); _ = r.Close() })
	addr := ln.Addr().String()

	f.Fuzz(func(t *testing.T, mode byte, data []byte) {
		var wire []byte
		switch mode % fuzzModes {
		case fuzzRaw:
			wire = data
		case fuzzMessage:
			wire = wsFrame(websocket.BinaryMessage, true, data)
		case fuzzMessages:
			for len(data) > 0 {
				n := min(7, len(data))
				wire = append(wire, wsFrame(websocket.BinaryMessage, true, data[:n])...)
				data = data[n:]
			}
		}
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(c, "GET /link HTTP/1.1\r\nHost: relay\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"+
			"Sec-WebSocket-Protocol: %s\r\n\r\n", Subprotocol)
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("handshake: %v %v", resp, err)
		}
		_, _ = c.Write(wire) // the relay may have hung up already
		_ = c.(*net.TCPConn).CloseWrite()
		if _, err := io.Copy(io.Discard, br); errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("relay did not close the link within 10 s of the agent's EOF")
		}
		testtool.WaitFor(t, 10*time.Second, "the agent to be offline", func() bool {
			st, _ := r.Status("fuzz-agent")
			return !st.Connected
		})
		if p := panics.seen(); p != "" {
			t.Fatalf("relay panicked: %s", p)
		}
	})
}

// panicWatch is a log destination that remembers the first line mentioning a panic:
// net/http recovers a panicking handler and only logs it.
type panicWatch struct {
	mu    sync.Mutex
	first string
}

func (p *panicWatch) Write(b []byte) (int, error) {
	if bytes.Contains(b, []byte("panic")) {
		p.mu.Lock()
		if p.first == "" {
			p.first = string(b)
		}
		p.mu.Unlock()
	}
	return len(b), nil
}

func (p *panicWatch) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(p, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func (p *panicWatch) logLogger() *log.Logger { return log.New(p, "", 0) }

func (p *panicWatch) seen() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.first
}

var writeFuzzSeeds = flag.Bool("write-fuzz-seeds", false, "rewrite testdata/fuzz/FuzzLinkFrames from fuzzSeeds")

// TestFuzzSeedsCommitted keeps the committed corpus equal to fuzzSeeds; run with
// -write-fuzz-seeds to rewrite it.
func TestFuzzSeedsCommitted(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzLinkFrames")
	for i, s := range fuzzSeeds() {
		name := filepath.Join(dir, fmt.Sprintf("seed-%02d", i))
		content := fmt.Sprintf("go test fuzz v1\nbyte(%q)\n[]byte(%q)\n", s.mode, s.data)
		if *writeFuzzSeeds {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(name)
		if err != nil || string(got) != content {
			t.Errorf("%s is not seed %d (%v); run go test -run TestFuzzSeedsCommitted -write-fuzz-seeds", name, i, err)
		}
	}
}
