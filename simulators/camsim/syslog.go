package camsim

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/icholy/digest"
)

// syslogSize is how many lines a camera's system log keeps, oldest dropped first, as the
// bounded log of a real device rotates.
const syslogSize = 1000

// syslogTimeFormat is the timestamp of each line (vapix.md 14).
const syslogTimeFormat = "2006-01-02T15:04:05.000-07:00"

// systemLog is a camera's system log: boots, firmware and application changes, and every
// new login session, so that a manager can tell when someone used the camera's local
// accounts.
type systemLog struct {
	mu       sync.Mutex
	lines    []string // ring of syslogSize
	next     int
	full     bool
	sessions map[string]time.Time // user + session key -> last use
}

// add appends a line: level is INFO, NOTICE, WARNING or ERR; process as "httpd[312]".
func (l *systemLog) add(now time.Time, host, level, process, msg string) {
	line := fmt.Sprintf("%s %s [ %s ] %s: %s", now.Format(syslogTimeFormat), host, level, process, msg)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lines == nil {
		l.lines = make([]string, syslogSize)
	}
	l.lines[l.next] = line
	l.next = (l.next + 1) % syslogSize
	if l.next == 0 {
		l.full = true
	}
}

// text is the whole log, oldest line first.
func (l *systemLog) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	if l.full {
		for _, s := range l.lines[l.next:] {
			b.WriteString(s)
			b.WriteByte('\n')
		}
	}
	for _, s := range l.lines[:l.next] {
		b.WriteString(s)
		b.WriteByte('\n')
	}
	return b.String()
}

// newSession reports whether this authenticated request starts a session: the first
// request with a Digest nonce (a client keeps its nonce for its requests), or a Basic
// request from a new client address, for this user. Sessions idle for 10 minutes end.
func (l *systemLog) newSession(now time.Time, user string, r *http.Request) bool {
	key := user + "\x00"
	if c, err := digest.ParseCredentials(r.Header.Get("Authorization")); err == nil {
		key += c.Nonce
	} else {
		key += r.RemoteAddr
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sessions == nil {
		l.sessions = map[string]time.Time{}
	}
	last, seen := l.sessions[key]
	l.sessions[key] = now
	if len(l.sessions) > 4096 {
		for k, t := range l.sessions {
			if now.Sub(t) > 10*time.Minute {
				delete(l.sessions, k)
			}
		}
	}
	return !seen || now.Sub(last) > 10*time.Minute
}

// logf adds a line to the camera's system log.
func (c *Camera) logf(level, process, format string, args ...any) {
	c.syslog.add(c.now(), c.id.HostName(), level, process, fmt.Sprintf(format, args...))
}

// noteLogin logs the start of a login session of an account (vapix.md 14: the system log
// is where a device shows who used it).
func (c *Camera) noteLogin(u User, r *http.Request) {
	if !c.syslog.newSession(c.now(), u.Name, r) {
		return
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	c.logf("INFO", "httpd[312]", "session opened for user %s (%s) from %s", u.Name, privilegeName(u.Level()), host)
}

func privilegeName(p Privilege) string {
	switch p {
	case Admin:
		return "admin"
	case Operator:
		return "operator"
	case Viewer:
		return "viewer"
	}
	return "anonymous"
}

// handleSystemLog is GET /axis-cgi/systemlog.cgi: the log as text/plain.
func (c *Camera) handleSystemLog(q *request) {
	q.text(http.StatusOK, c.syslog.text())
}
