// Package ssdp makes simulated cameras discoverable over SSDP/UPnP the way Axis devices
// are (vapix.md section 16): they answer M-SEARCH requests for
// urn:axis-com:service:BasicService:1 (and for upnp:rootdevice, their device type, their
// UUID and ssdp:all) with a LOCATION where a UPnP device description is served, and
// announce themselves with NOTIFY ssdp:alive and ssdp:byebye.
//
// One socket per process and interface answers for every device, each device in answers
// of its own. Like mdns, it is for loopback or a network namespace of a test's own:
// multicast must not leave the machine.
package ssdp

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/opencamcloud/camcloud/simulators/mdns"
)

const (
	// ServiceType is what Axis devices answer to and announce.
	ServiceType = "urn:axis-com:service:BasicService:1"
	// DeviceType is the UPnP device type of their description.
	DeviceType = "urn:schemas-upnp-org:device:Basic:1"
	// Server is the SERVER header Axis devices send (libupnp).
	Server = "Linux/4.14.173-axis8, UPnP/1.0, Portable SDK for UPnP devices/1.8.7"

	port   = 1900
	maxAge = 1800
	maxMX  = 5 // UPnP 1.1: an MX above 5 is treated as 5
)

var groupV4 = &net.UDPAddr{IP: net.IPv4(239, 255, 255, 250), Port: port}

// Device is one camera as SSDP and its description document describe it.
type Device struct {
	Serial        string // 12 upper-case hex digits
	ProdNbr       string // P3265-V
	ProdShortName string // AXIS P3265-V
	ProdFullName  string // AXIS P3265-V Dome Camera
	FriendlyName  string // Network.UPnP.FriendlyName: AXIS P3265-V - ACCC8E010000
	IP            string // the address the camera answers on
	HTTPPort      int    // its VAPIX port, for presentationURL
	// Enabled says whether the device answers now (Network.UPnP.Enabled); nil: always.
	Enabled func() bool
}

// UDN is the device's unique name, uuid:Upnp-BasicDevice-1_0-<SERIAL>.
func (d Device) UDN() string { return "uuid:Upnp-BasicDevice-1_0-" + d.Serial }

// targets are the search targets the device answers, each with its USN.
func (d Device) targets() [][2]string {
	udn := d.UDN()
	return [][2]string{
		{"upnp:rootdevice", udn + "::upnp:rootdevice"},
		{udn, udn},
		{DeviceType, udn + "::" + DeviceType},
		{ServiceType, udn + "::" + ServiceType},
	}
}

func (d Device) enabled() bool { return d.Enabled == nil || d.Enabled() }

// Advertisement is one device on the network until Close: its description server and
// its place in the responders of its interfaces.
type Advertisement struct {
	dev      Device
	location string
	srv      *http.Server
	served   chan struct{}
	resps    []*responder
	once     sync.Once
}

// Advertise serves the device's description on a port of its own (real devices use
// libupnp's port 49152; simulated cameras share an address, so each takes a free port)
// and answers M-SEARCH for it on ifaces; Announce announces it.
func Advertise(d Device, ifaces []net.Interface, log *slog.Logger) (*Advertisement, error) {
	if len(d.Serial) != 12 || net.ParseIP(d.IP) == nil || len(ifaces) == 0 {
		return nil, fmt.Errorf("ssdp: advertise %+v: need a 12-digit serial, an IP and an interface", d)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(d.IP, "0"))
	if err != nil {
		return nil, fmt.Errorf("ssdp: description server: %w", err)
	}
	a := &Advertisement{dev: d, location: "http://" + ln.Addr().String() + "/rootdesc1.xml", served: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /rootdesc1.xml", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", `text/xml; charset="utf-8"`)
		_, _ = w.Write(a.description())
	})
	a.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
	go func() {
		defer close(a.served)
		_ = a.srv.Serve(ln)
	}()
	for _, ifi := range ifaces {
		r, err := responders.Acquire(ifi)
		if err != nil {
			a.Close()
			return nil, fmt.Errorf("ssdp: advertise %s: %w", d.Serial, err)
		}
		a.resps = append(a.resps, r)
		r.add(a)
	}
	return a, nil
}

// Announce sends NOTIFY ssdp:alive for the device, if it is enabled. Advertise leaves it
// to the caller, whose Enabled may need a lock the caller holds while advertising.
func (a *Advertisement) Announce() {
	if !a.dev.enabled() {
		return
	}
	for _, r := range a.resps {
		r.notify(a, "ssdp:alive")
	}
}

// Location is the URL of the device description.
func (a *Advertisement) Location() string { return a.location }

// Close says goodbye (ssdp:byebye), stops answering and stops the description server.
func (a *Advertisement) Close() {
	if a == nil {
		return
	}
	a.once.Do(func() {
		for _, r := range a.resps {
			r.remove(a)
			if a.dev.enabled() {
				r.notify(a, "ssdp:byebye")
			}
			responders.Release(r.ifi)
		}
		_ = a.srv.Close()
		<-a.served
	})
}

// description is the UPnP device description (vapix.md section 16).
func (a *Advertisement) description() []byte {
	d := a.dev
	type service struct {
		ServiceType string `xml:"serviceType"`
		ServiceID   string `xml:"serviceId"`
		ControlURL  string `xml:"controlURL"`
		EventSubURL string `xml:"eventSubURL"`
		SCPDURL     string `xml:"SCPDURL"`
	}
	type device struct {
		DeviceType       string    `xml:"deviceType"`
		FriendlyName     string    `xml:"friendlyName"`
		Manufacturer     string    `xml:"manufacturer"`
		ManufacturerURL  string    `xml:"manufacturerURL"`
		ModelDescription string    `xml:"modelDescription"`
		ModelName        string    `xml:"modelName"`
		ModelNumber      string    `xml:"modelNumber"`
		ModelURL         string    `xml:"modelURL"`
		SerialNumber     string    `xml:"serialNumber"`
		UDN              string    `xml:"UDN"`
		Services         []service `xml:"serviceList>service"`
		PresentationURL  string    `xml:"presentationURL"`
	}
	type root struct {
		XMLName xml.Name `xml:"urn:schemas-upnp-org:device-1-0 root"`
		Major   int      `xml:"specVersion>major"`
		Minor   int      `xml:"specVersion>minor"`
		Device  device   `xml:"device"`
	}
	doc := root{Major: 1, Minor: 0, Device: device{
		DeviceType:       DeviceType,
		FriendlyName:     d.FriendlyName,
		Manufacturer:     "AXIS",
		ManufacturerURL:  "http://www.axis.com/",
		ModelDescription: d.ProdFullName,
		ModelName:        d.ProdShortName,
		ModelNumber:      d.ProdNbr,
		ModelURL:         "http://www.axis.com/",
		SerialNumber:     d.Serial,
		UDN:              d.UDN(),
		Services: []service{{
			ServiceType: ServiceType,
			ServiceID:   "urn:axis-com:serviceId:BasicServiceId",
			ControlURL:  "/upnp/control/BasicServiceId",
			EventSubURL: "/upnp/event/BasicServiceId",
			SCPDURL:     "/scpd_basic.xml",
		}},
		PresentationURL: "http://" + net.JoinHostPort(d.IP, strconv.Itoa(d.HTTPPort)) + "/",
	}}
	out, _ := xml.MarshalIndent(doc, "", " ")
	return append([]byte(xml.Header), append(out, '\n')...)
}

// Search is an M-SEARCH request.
type Search struct {
	ST  string // search target
	MAN string // "ssdp:discover", quotes included
	MX  int    // seconds the answer may wait; -1 when absent or not a number
}

// ErrNotSearch is ParseSearch's answer to anything but an M-SEARCH request.
var ErrNotSearch = errors.New("ssdp: not an M-SEARCH request")

// ParseSearch reads an M-SEARCH request (UPnP Device Architecture 1.1, 1.3.2): the
// request line "M-SEARCH * HTTP/1.1", then headers, names case-insensitive.
func ParseSearch(b []byte) (Search, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 1024), 8192)
	if !sc.Scan() || strings.TrimSpace(sc.Text()) != "M-SEARCH * HTTP/1.1" {
		return Search{}, ErrNotSearch
	}
	s := Search{MX: -1}
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if line == "" {
			break
		}
		if strings.ContainsRune(line, '\r') {
			return Search{}, fmt.Errorf("ssdp: stray carriage return in %q", line)
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return Search{}, fmt.Errorf("ssdp: header line %q without a colon", line)
		}
		value = strings.TrimSpace(value)
		switch strings.ToUpper(strings.TrimSpace(name)) {
		case "ST":
			s.ST = value
		case "MAN":
			s.MAN = value
		case "MX":
			if n, err := strconv.Atoi(value); err == nil && n >= 0 {
				s.MX = n
			}
		}
	}
	if err := sc.Err(); err != nil {
		return Search{}, fmt.Errorf("ssdp: %w", err)
	}
	if s.MAN != `"ssdp:discover"` || s.ST == "" {
		return Search{}, fmt.Errorf("ssdp: M-SEARCH without MAN \"ssdp:discover\" or ST")
	}
	return s, nil
}

// responder is the process's SSDP socket on one interface.
type responder struct {
	ifi  net.Interface
	conn *ipv4.PacketConn
	done chan struct{}

	mu  sync.RWMutex
	ads map[*Advertisement]struct{}
}

// responders are the process's SSDP sockets, one per interface, shared by every
// advertisement on it.
var responders = mdns.PerInterface[*responder]{
	Open: func(ifi net.Interface) (*responder, error) {
		conn, err := mdns.ListenGroup(ifi, groupV4, port, 2) // UPnP: multicast TTL 2 by default
		if err != nil {
			return nil, fmt.Errorf("ssdp: %w", err)
		}
		r := &responder{ifi: ifi, conn: conn, done: make(chan struct{}), ads: map[*Advertisement]struct{}{}}
		go r.serve()
		return r, nil
	},
	Close: func(r *responder) {
		_ = r.conn.Close()
		<-r.done
	},
}

func (r *responder) add(a *Advertisement) {
	r.mu.Lock()
	r.ads[a] = struct{}{}
	r.mu.Unlock()
}

func (r *responder) remove(a *Advertisement) {
	r.mu.Lock()
	delete(r.ads, a)
	r.mu.Unlock()
}

func (r *responder) serve() {
	defer close(r.done)
	buf := make([]byte, 8192)
	for {
		n, cm, src, err := r.conn.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if cm != nil && cm.IfIndex != 0 && cm.IfIndex != r.ifi.Index {
			continue
		}
		from, ok := src.(*net.UDPAddr)
		if !ok {
			continue
		}
		s, err := ParseSearch(buf[:n])
		if err != nil {
			continue // NOTIFY from others, or a malformed request: no answer
		}
		multicast := cm == nil || cm.Dst == nil || cm.Dst.IsMulticast()
		if multicast && s.MX < 0 {
			continue // a multicast search must say how long answers may wait
		}
		r.answer(s, from, multicast)
	}
}

// answer sends every enabled device's responses to s, after a random delay within MX
// for a multicast search (so that devices do not answer all at once), at once for a
// unicast one.
func (r *responder) answer(s Search, to *net.UDPAddr, multicast bool) {
	r.mu.RLock()
	ads := make([]*Advertisement, 0, len(r.ads))
	for a := range r.ads {
		ads = append(ads, a)
	}
	r.mu.RUnlock()
	for _, a := range ads {
		if !a.dev.enabled() {
			continue
		}
		var msgs [][]byte
		for _, t := range a.dev.targets() {
			if s.ST == "ssdp:all" || s.ST == t[0] {
				msgs = append(msgs, a.response(t[0], t[1]))
			}
		}
		if len(msgs) == 0 {
			continue
		}
		send := func() {
			for _, m := range msgs {
				_, _ = r.conn.WriteTo(m, &ipv4.ControlMessage{IfIndex: r.ifi.Index}, to)
			}
		}
		if !multicast || s.MX == 0 {
			send()
			continue
		}
		time.AfterFunc(rand.N(time.Duration(min(s.MX, maxMX))*time.Second), send)
	}
}

// response is the answer to a search for st.
func (a *Advertisement) response(st, usn string) []byte {
	return []byte("HTTP/1.1 200 OK\r\n" +
		"CACHE-CONTROL: max-age=" + strconv.Itoa(maxAge) + "\r\n" +
		"DATE: " + time.Now().UTC().Format(http.TimeFormat) + "\r\n" +
		"EXT:\r\n" +
		"LOCATION: " + a.location + "\r\n" +
		"SERVER: " + Server + "\r\n" +
		"ST: " + st + "\r\n" +
		"USN: " + usn + "\r\n\r\n")
}

// notify announces the device (nts ssdp:alive) or its leaving (ssdp:byebye), one
// message per target.
func (r *responder) notify(a *Advertisement, nts string) {
	for _, t := range a.dev.targets() {
		var b strings.Builder
		b.WriteString("NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n")
		if nts == "ssdp:alive" {
			b.WriteString("CACHE-CONTROL: max-age=" + strconv.Itoa(maxAge) + "\r\nLOCATION: " + a.location + "\r\n")
		}
		b.WriteString("NT: " + t[0] + "\r\nNTS: " + nts + "\r\n")
		if nts == "ssdp:alive" {
			b.WriteString("SERVER: " + Server + "\r\n")
		}
		b.WriteString("USN: " + t[1] + "\r\n\r\n")
		_, _ = r.conn.WriteTo([]byte(b.String()), &ipv4.ControlMessage{IfIndex: r.ifi.Index}, groupV4)
	}
}
