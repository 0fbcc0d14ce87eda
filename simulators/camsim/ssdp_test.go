package camsim_test

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/opencamcloud/camcloud/internal/testtool"
	"github.com/opencamcloud/camcloud/simulators/camsim"
	"github.com/opencamcloud/camcloud/simulators/camsim/camsimtest"
)

// search sends an M-SEARCH for st to the SSDP group and returns the answers that come
// within the MX window (1 s) and a margin, by USN, with their LOCATION.
func search(t *testing.T, st string) map[string]string {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: " + st + "\r\n\r\n"
	if _, err := conn.WriteTo([]byte(req), &net.UDPAddr{IP: net.IPv4(239, 255, 255, 250), Port: 1900}); err != nil {
		t.Fatal(err)
	}
	found := map[string]string{}
	// Devices answer within MX seconds; whoever has not answered by then does not.
	_ = conn.SetReadDeadline(time.Now().Add(1500 * time.Millisecond))
	buf := make([]byte, 4096)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return found
		}
		res, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(buf[:n])), nil)
		if err != nil {
			t.Fatalf("answer %q: %v", buf[:n], err)
		}
		if res.StatusCode != http.StatusOK || (res.Header.Get("ST") != st) != (st == "ssdp:all") || !strings.HasPrefix(res.Header.Get("SERVER"), "Linux/") {
			t.Errorf("answer to %s: %q", st, buf[:n])
		}
		found[res.Header.Get("USN")] = res.Header.Get("LOCATION")
	}
}

// An SSDP search finds the cameras whose UPnP is on: out of the box those before AXIS OS
// 12, not the 12.x ones, until Network.UPnP.Enabled is set; the description document
// says who the camera is.
func TestSSDPSearch(t *testing.T) {
	if !testtool.InNetns(t) {
		return
	}
	fleet := camsimtest.Start(t, 2, func(c *camsim.Config) { c.SSDP, c.SSDPInterface = true, "lo" })
	on12, before12 := fleet.Cameras()[0], fleet.Cameras()[1] // P3265-V on 12.11, Q6135-LE on 11.11
	st := "urn:axis-com:service:BasicService:1"
	usn := func(c *camsim.Camera) string {
		return "uuid:Upnp-BasicDevice-1_0-" + c.Info().Serial + "::" + st
	}
	found := search(t, st)
	if len(found) != 1 || found[usn(before12)] == "" {
		t.Fatalf("search found %v; want only %s (UPnP is off on AXIS OS 12 out of the box)", found, before12.Info().Serial)
	}

	res, err := http.Get(found[usn(before12)])
	if err != nil {
		t.Fatal(err)
	}
	var desc struct {
		Device struct {
			DeviceType   string `xml:"deviceType"`
			FriendlyName string `xml:"friendlyName"`
			Manufacturer string `xml:"manufacturer"`
			ModelName    string `xml:"modelName"`
			ModelNumber  string `xml:"modelNumber"`
			SerialNumber string `xml:"serialNumber"`
			UDN          string `xml:"UDN"`
			Presentation string `xml:"presentationURL"`
		} `xml:"device"`
	}
	err = xml.NewDecoder(res.Body).Decode(&desc)
	res.Body.Close()
	info := before12.Info()
	if d := desc.Device; err != nil || d.DeviceType != "urn:schemas-upnp-org:device:Basic:1" || d.Manufacturer != "AXIS" ||
		d.ModelName != "AXIS "+info.Model || d.ModelNumber != info.Model || d.SerialNumber != info.Serial ||
		d.FriendlyName != "AXIS "+info.Model+" - "+info.Serial || d.UDN != "uuid:Upnp-BasicDevice-1_0-"+info.Serial ||
		d.Presentation != info.HTTP+"/" {
		t.Fatalf("description %+v (%v)", desc.Device, err)
	}

	// Turned on through param.cgi, the 12.x camera answers too, and to ssdp:all with
	// each of its four targets.
	hc := digestClient(camsimtest.User, camsimtest.Password)
	res, err = hc.Get(on12.Info().HTTP + "/axis-cgi/param.cgi?action=update&Network.UPnP.Enabled=yes")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if found := search(t, st); len(found) != 2 || found[usn(on12)] == "" {
		t.Fatalf("after enabling UPnP on %s, search found %v", on12.Info().Serial, found)
	}
	all := search(t, "ssdp:all")
	if len(all) != 8 {
		t.Errorf("ssdp:all found %d answers, want 4 targets of 2 cameras: %v", len(all), all)
	}
}
