package camsim

import (
	"bufio"
	"bytes"
	"net/url"
	"testing"
	"time"
)

// Parsers of what clients send the camera: bad input is an error, never a panic.

func FuzzParseEAP(f *testing.F) {
	var pkg bytes.Buffer
	_ = BuildEAP(&pkg, EAPManifest{AppName: "hello", Vendor: "Example", Version: "1.0.0"}, 16)
	f.Add(pkg.Bytes())
	f.Add([]byte("not a package"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseEAP(bytes.NewReader(b))
		if err == nil && m.validate() != nil {
			t.Fatalf("accepted an invalid manifest %+v", m)
		}
	})
}

func FuzzParseFirmwareHeader(f *testing.F) {
	f.Add(FirmwareImage(FirmwareHeader{Version: "12.11.80", Products: []string{"P3265-V"}}))
	f.Add([]byte(firmwareMagic + "\n{}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseFirmwareHeader(bufio.NewReader(bytes.NewReader(b)))
		if err == nil && !validVersion(h.Version) {
			t.Fatalf("accepted version %q", h.Version)
		}
	})
}

func FuzzTopicMatches(f *testing.F) {
	f.Add("tnsaxis:CameraApplicationPlatform/VMD//.", TopicVMD4)
	f.Add("//.", TopicMotionRegion)
	f.Add("tns1:Device/tnsaxis:IO/VirtualInput|tns1:RuleEngine//.", "tns1:Device/tnsaxis:IO/VirtualInput")
	f.Fuzz(func(t *testing.T, filter, topic string) {
		if TopicMatches(filter, topic) && filter == "" {
			t.Fatal("an empty filter matched")
		}
		if topic != "" && !TopicMatches("//.", topic) {
			t.Fatal("//. must match every topic")
		}
	})
}

func TestTopicMatches(t *testing.T) {
	for _, tc := range []struct {
		filter, topic string
		want          bool
	}{
		{"tnsaxis:CameraApplicationPlatform/VMD//.", TopicVMD4, true},
		{"tnsaxis:CameraApplicationPlatform/VMD//.", TopicMotionRegion, false},
		{"//.", TopicMotionRegion, true},
		{"tns1:RuleEngine/MotionRegionDetector/Motion", TopicMotionRegion, true},
		{"tns1:RuleEngine/MotionRegionDetector", TopicMotionRegion, false},
		{"tns1:Device/tnsaxis:IO/Port|tns1:RuleEngine//.", TopicMotionRegion, true},
		{"CameraApplicationPlatform/VMD/Camera1Profile1", TopicVMD4, true},
	} {
		if got := TopicMatches(tc.filter, tc.topic); got != tc.want {
			t.Errorf("TopicMatches(%q, %q) = %v", tc.filter, tc.topic, got)
		}
	}
}

// FuzzParseRecordQuery: record/list.cgi arguments parse or are refused, never panic, and
// what parses is a usable query.
func FuzzParseRecordQuery(f *testing.F) {
	f.Add("recordingid=all")
	f.Add("listentity=recordingid&eventid=continuous_nas&starttime=2011-08-12T08:12:11Z&stoptime=2011-08-14T10:10:00Z")
	f.Add("listentity=eventid&diskid=SD_DISK")
	f.Add("recordingid=all&maxnumberofresults=-1&startatresultnumber=x&sortorder=ascending")
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := parseRecordQuery(v)
		if err != nil {
			return
		}
		if q.first < 0 || q.max < -1 || (q.entity != "recording" && q.entity != "eventid" && q.entity != "source") {
			t.Fatalf("parsed %q into %+v", raw, q)
		}
		_ = q.matches(Recording{Start: time.Unix(0, 0)}, time.Now())
	})
}
