package camsim

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
)

// The simulated firmware image. Real AXIS OS images are signed binaries; camsim accepts
// an image that starts with two lines:
//
//	CAMSIM-FIRMWARE 1
//	{"version":"12.11.80","buildDate":"Sep 01 2026 10:00","products":["P3265-V"]}
//
// followed by any payload (its length is what a test wants an upload to weigh). An empty
// products list fits every model. Anything else is "invalid image" (fwmgr error 415); an
// image for other products is error 421.
const firmwareMagic = "CAMSIM-FIRMWARE 1"

// FirmwareHeader is what a simulated firmware image says about itself.
type FirmwareHeader struct {
	Version   string   `json:"version"`
	BuildDate string   `json:"buildDate,omitempty"`
	Products  []string `json:"products,omitempty"`
}

// Fits reports whether the image may be installed on a product (ProdNbr).
func (h FirmwareHeader) Fits(prodNbr string) bool {
	return len(h.Products) == 0 || slices.Contains(h.Products, prodNbr)
}

// FirmwareImage builds a small simulated image for tests.
func FirmwareImage(h FirmwareHeader) []byte {
	var b bytes.Buffer
	_ = WriteFirmwareImage(&b, h, 1024)
	return b.Bytes()
}

// WriteFirmwareImage writes a simulated image whose payload is size pseudo-random bytes,
// without holding it in memory, so tests can stream images of hundreds of MiB.
func WriteFirmwareImage(w io.Writer, h FirmwareHeader, size int64) error {
	hdr, err := json.Marshal(h)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(w, "%s\n%s\n", firmwareMagic, hdr); err != nil {
		return err
	}
	src := rand.NewChaCha8([32]byte{1})
	_, err = io.CopyN(w, src, size)
	return err
}

// FirmwareImageSize is the length of an image written with a payload of size bytes.
func FirmwareImageSize(h FirmwareHeader, size int64) int64 {
	hdr, _ := json.Marshal(h)
	return int64(len(firmwareMagic)+1+len(hdr)+1) + size
}

var errBadImage = errors.New("not a camsim firmware image")

// maxFirmwareHeader bounds how much of an upload is read looking for the header.
const maxFirmwareHeader = 4096

// ParseFirmwareHeader reads the header of an image from r, leaving r at the payload.
func ParseFirmwareHeader(r *bufio.Reader) (FirmwareHeader, error) {
	var h FirmwareHeader
	magic, err := readLine(r)
	if err != nil || magic != firmwareMagic {
		return h, errBadImage
	}
	line, err := readLine(r)
	if err != nil {
		return h, errBadImage
	}
	dec := json.NewDecoder(strings.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return h, fmt.Errorf("%w: %v", errBadImage, err)
	}
	if !validVersion(h.Version) {
		return h, fmt.Errorf("%w: version %q", errBadImage, h.Version)
	}
	return h, nil
}

func readLine(r *bufio.Reader) (string, error) {
	var b strings.Builder
	for b.Len() < maxFirmwareHeader {
		c, err := r.ReadByte()
		if err != nil {
			return "", err
		}
		if c == '\n' {
			return b.String(), nil
		}
		b.WriteByte(c)
	}
	return "", errBadImage
}

// validVersion accepts AXIS OS versions: dot-separated numbers, e.g. 12.11.77 or 11.11.124.1.
func validVersion(v string) bool {
	parts := strings.Split(v, ".")
	if len(parts) < 2 || len(parts) > 4 {
		return false
	}
	for _, p := range parts {
		if p == "" || len(p) > 6 || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}

// compareVersions orders AXIS OS versions numerically.
func compareVersions(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(pa), len(pb)); i++ {
		var x, y int
		if i < len(pa) {
			fmt.Sscan(pa[i], &x)
		}
		if i < len(pb) {
			fmt.Sscan(pb[i], &y)
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}
