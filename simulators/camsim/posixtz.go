package camsim

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// posixTZ is a POSIX TZ string (Time.POSIXTimeZone, time.cgi posixTimeZone) such as
// "CET-1CEST,M3.5.0,M10.5.0/3" or "<UTC1>-1<UTC2>-2,M3.5.0/2:00:00,M10.5.0/3:00:00":
// a standard zone, optionally a daylight-saving zone and the rules for when it applies.
// Only the month/week/day rule form (Mm.w.d) is accepted; it is the one Axis cameras
// list.
type posixTZ struct {
	std, dst         string
	stdEast, dstEast int // seconds east of UTC
	hasDST           bool
	start, end       tzRule
}

type tzRule struct {
	month, week, day int // Mm.w.d: week 5 is the last
	at               int // seconds after local midnight
}

var errBadTZ = errors.New("invalid POSIX time zone")

// parsePosixTZ parses a TZ string; client input, so it never panics.
func parsePosixTZ(s string) (posixTZ, error) {
	var z posixTZ
	p := tzParser{s: s}
	var err error
	if z.std, err = p.name(); err != nil {
		return z, err
	}
	off, err := p.offset()
	if err != nil {
		return z, err
	}
	z.stdEast = -off
	if p.done() {
		return z, nil
	}
	if z.dst, err = p.name(); err != nil {
		return z, err
	}
	z.hasDST = true
	z.dstEast = z.stdEast + 3600
	if !p.done() && p.peek() != ',' {
		off, err := p.offset()
		if err != nil {
			return z, err
		}
		z.dstEast = -off
	}
	if p.done() {
		// No rules: the US rules are the POSIX default, but a camera always lists
		// them; refuse rather than guess.
		return z, fmt.Errorf("%w: %q has no DST rules", errBadTZ, s)
	}
	for _, r := range []*tzRule{&z.start, &z.end} {
		if !p.eat(',') {
			return z, fmt.Errorf("%w: %q", errBadTZ, s)
		}
		if *r, err = p.rule(); err != nil {
			return z, err
		}
	}
	if !p.done() {
		return z, fmt.Errorf("%w: trailing %q", errBadTZ, s[p.i:])
	}
	return z, nil
}

type tzParser struct {
	s string
	i int
}

func (p *tzParser) done() bool { return p.i >= len(p.s) }
func (p *tzParser) peek() byte { return p.s[p.i] }
func (p *tzParser) eat(b byte) bool {
	if !p.done() && p.s[p.i] == b {
		p.i++
		return true
	}
	return false
}

func (p *tzParser) name() (string, error) {
	if p.eat('<') {
		end := strings.IndexByte(p.s[p.i:], '>')
		if end < 3 {
			return "", fmt.Errorf("%w: zone name in %q", errBadTZ, p.s)
		}
		n := p.s[p.i : p.i+end]
		p.i += end + 1
		return n, nil
	}
	start := p.i
	for !p.done() && (p.peek() >= 'A' && p.peek() <= 'Z' || p.peek() >= 'a' && p.peek() <= 'z') {
		p.i++
	}
	if p.i-start < 3 {
		return "", fmt.Errorf("%w: zone name in %q", errBadTZ, p.s)
	}
	return p.s[start:p.i], nil
}

// offset parses [+-]hh[:mm[:ss]] into seconds (west of UTC, as POSIX writes it).
func (p *tzParser) offset() (int, error) {
	sign := 1
	if p.eat('-') {
		sign = -1
	} else {
		p.eat('+')
	}
	secs, err := p.clock(24)
	return sign * secs, err
}

// clock parses hh[:mm[:ss]] with hh up to maxHour.
func (p *tzParser) clock(maxHour int) (int, error) {
	h, err := p.number(0, maxHour)
	if err != nil {
		return 0, err
	}
	secs := h * 3600
	for _, mul := range []int{60, 1} {
		if !p.eat(':') {
			break
		}
		n, err := p.number(0, 59)
		if err != nil {
			return 0, err
		}
		secs += n * mul
	}
	return secs, nil
}

func (p *tzParser) number(lo, hi int) (int, error) {
	start := p.i
	for !p.done() && p.peek() >= '0' && p.peek() <= '9' && p.i-start < 3 {
		p.i++
	}
	n, err := strconv.Atoi(p.s[start:p.i])
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%w: number at %d of %q", errBadTZ, start, p.s)
	}
	return n, nil
}

func (p *tzParser) rule() (tzRule, error) {
	var r tzRule
	var err error
	if !p.eat('M') {
		return r, fmt.Errorf("%w: only Mm.w.d rules: %q", errBadTZ, p.s)
	}
	if r.month, err = p.number(1, 12); err != nil {
		return r, err
	}
	if !p.eat('.') {
		return r, fmt.Errorf("%w: %q", errBadTZ, p.s)
	}
	if r.week, err = p.number(1, 5); err != nil {
		return r, err
	}
	if !p.eat('.') {
		return r, fmt.Errorf("%w: %q", errBadTZ, p.s)
	}
	if r.day, err = p.number(0, 6); err != nil {
		return r, err
	}
	r.at = 2 * 3600
	if p.eat('/') {
		if r.at, err = p.offset(); err != nil {
			return r, err
		}
	}
	return r, nil
}

// transition is when a rule takes effect in a year, in UTC, given the offset in force
// before it.
func (r tzRule) transition(year, eastBefore int) time.Time {
	first := time.Date(year, time.Month(r.month), 1, 0, 0, 0, 0, time.UTC)
	day := 1 + (r.day-int(first.Weekday())+7)%7 + (r.week-1)*7
	if last := first.AddDate(0, 1, -1).Day(); day > last {
		day -= 7
	}
	local := time.Date(year, time.Month(r.month), day, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.at) * time.Second)
	return local.Add(-time.Duration(eastBefore) * time.Second)
}

// zone is the zone in force at t: its name and offset east of UTC. dstEnabled false
// keeps standard time all year, as a camera with Time.DST.Enabled=no does.
func (z posixTZ) zone(t time.Time, dstEnabled bool) (string, int) {
	if !z.hasDST || !dstEnabled {
		return z.std, z.stdEast
	}
	y := t.UTC().Year()
	start := z.start.transition(y, z.stdEast)
	end := z.end.transition(y, z.dstEast)
	var inDST bool
	if start.Before(end) {
		inDST = !t.Before(start) && t.Before(end)
	} else { // southern hemisphere: DST spans the new year
		inDST = !(!t.Before(end) && t.Before(start))
	}
	if inDST {
		return z.dst, z.dstEast
	}
	return z.std, z.stdEast
}

// local is t in the zone, as a time with a fixed offset.
func (z posixTZ) local(t time.Time, dstEnabled bool) time.Time {
	name, east := z.zone(t, dstEnabled)
	return t.In(time.FixedZone(name, east))
}
