package vapix

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// LogEntry is one line of a device's system log (vapix.md 14):
//
//	2026-11-26T10:11:12.123+00:00 axis-accc8e000001 [ INFO ] httpd[312]: message
//
// A line in another form keeps only Raw.
type LogEntry struct {
	Time    time.Time
	Host    string
	Level   string // INFO, NOTICE, WARNING, ERR, ...
	Process string // httpd[312]
	Message string
	Raw     string
}

// Login is a login session the log records: who, with which privilege, from where.
type Login struct {
	User      string
	Privilege string // admin, operator, viewer
	From      string
}

var loginMessage = regexp.MustCompile(`^session opened for user (\S+) \((\w+)\) from (\S+)$`)

// Login reports whether the entry records the start of a login session.
func (e LogEntry) Login() (Login, bool) {
	m := loginMessage.FindStringSubmatch(e.Message)
	if m == nil || !strings.HasPrefix(e.Process, "httpd") {
		return Login{}, false
	}
	return Login{User: m[1], Privilege: m[2], From: m[3]}, true
}

// SystemLog reads the device's system log (admin), oldest entry first.
func (c *Client) SystemLog(ctx context.Context) ([]LogEntry, error) {
	b, _, err := c.do(ctx, c.http, "GET", "/axis-cgi/systemlog.cgi", nil, "", nil)
	if err != nil {
		return nil, fmt.Errorf("vapix: system log: %w", err)
	}
	return ParseSystemLog(string(b)), nil
}

// ParseSystemLog splits a system log into entries; it never fails, since a log may hold
// lines of any form.
func ParseSystemLog(text string) []LogEntry {
	var out []LogEntry
	for line := range strings.SplitSeq(text, "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		out = append(out, parseLogLine(line))
	}
	return out
}

func parseLogLine(line string) LogEntry {
	e := LogEntry{Raw: line}
	ts, rest, ok := strings.Cut(line, " ")
	if !ok {
		return e
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return e
	}
	host, rest, ok := strings.Cut(rest, " [")
	if !ok {
		return e
	}
	level, rest, ok := strings.Cut(rest, "] ")
	if !ok {
		return e
	}
	proc, msg, ok := strings.Cut(rest, ": ")
	if !ok {
		return e
	}
	e.Time, e.Host, e.Level, e.Process, e.Message = t, host, strings.TrimSpace(level), proc, msg
	return e
}
