package live

import (
	"slices"
	"testing"
)

// A trickle ICE fragment (RFC 8840) gives its credentials and candidates with the media
// section each belongs to; other lines are skipped and a line that is not SDP refused.
func TestParseFragment(t *testing.T) {
	f, err := ParseFragment("a=ice-ufrag:EsAw\r\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\n" +
		"a=candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0\r\nm=video 9 RTP/AVP 96\r\na=mid:1\r\n" +
		"a=candidate:3471623853 1 udp 2122194687 198.51.100.2 61765 typ host generation 0\r\na=end-of-candidates\r\n")
	if err != nil {
		t.Fatal(err)
	}
	want := []Candidate{
		{"candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0", "0"},
		{"candidate:3471623853 1 udp 2122194687 198.51.100.2 61765 typ host generation 0", "1"},
	}
	if f.Ufrag != "EsAw" || f.Pwd != "P2uYro0UCOQ4zxjKXaWCBui1" || !f.End || !slices.Equal(f.Candidates, want) {
		t.Errorf("got %+v", f)
	}
	if _, err := ParseFragment("hello\r\n"); err == nil {
		t.Error("a line that is not SDP was taken")
	}
}
