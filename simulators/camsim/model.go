package camsim

import (
	"crypto/sha256"
	"fmt"
	"strings"
)

// Model is a camera product as basicdeviceinfo and param.cgi describe it.
type Model struct {
	ProdNbr       string // P3265-V
	ProdFullName  string // AXIS P3265-V Dome Camera
	ProdType      string // Dome Camera
	HardwareID    string
	Soc           string
	Architecture  string // aarch64 or armv7hf: what ACAP packages must match
	Firmware      string // AXIS OS version a new camera of this model runs
	BuildDate     string // Mon DD YYYY HH:MM
	PTZ           bool   // mechanical PTZ: ptz.cgi moves, limits and presets
	Resolutions   []string
	FirmwarePart  string
	FirmwareBuild string
}

// ProdShortName is "AXIS " + ProdNbr, as Axis devices report it.
func (m Model) ProdShortName() string { return "AXIS " + m.ProdNbr }

// Models is the catalog a fleet assigns from, round-robin by camera index. The facts follow
// real devices of each family; hardware IDs and build dates of models other than the
// P3265-V are plausible values, not recordings.
var Models = []Model{
	{
		ProdNbr: "P3265-V", ProdFullName: "AXIS P3265-V Dome Camera", ProdType: "Dome Camera",
		HardwareID: "931.11", Soc: "Axis Artpec-8", Architecture: "aarch64",
		Firmware: "12.11.77", BuildDate: "Jul 08 2026 12:25", FirmwarePart: "7454651131", FirmwareBuild: "77",
		Resolutions: []string{"1920x1080", "1280x720", "800x450", "640x360", "480x270", "320x180"},
	},
	{
		ProdNbr: "Q6135-LE", ProdFullName: "AXIS Q6135-LE PTZ Network Camera", ProdType: "PTZ Network Camera",
		HardwareID: "76C", Soc: "Axis Artpec-7", Architecture: "armv7hf",
		Firmware: "11.11.124", BuildDate: "Mar 12 2025 09:14", FirmwarePart: "6310244185", FirmwareBuild: "124",
		PTZ:         true,
		Resolutions: []string{"1920x1080", "1280x720", "640x360", "320x180"},
	},
	{
		ProdNbr: "M3106-L Mk II", ProdFullName: "AXIS M3106-L Mk II Network Camera", ProdType: "Network Camera",
		HardwareID: "7A2", Soc: "Axis Artpec-6", Architecture: "armv7hf",
		Firmware: "10.12.250", BuildDate: "Nov 18 2024 07:52", FirmwarePart: "5128833470", FirmwareBuild: "250",
		Resolutions: []string{"2304x1728", "1920x1080", "1280x720", "640x480", "320x240"},
	},
	{
		ProdNbr: "P1455-LE", ProdFullName: "AXIS P1455-LE Network Camera", ProdType: "Bullet Camera",
		HardwareID: "7C8", Soc: "Axis Artpec-7", Architecture: "armv7hf",
		Firmware: "11.11.124", BuildDate: "Mar 12 2025 09:14", FirmwarePart: "6310244185", FirmwareBuild: "124",
		Resolutions: []string{"1920x1080", "1280x720", "640x360", "320x180"},
	},
	{
		ProdNbr: "M5075-G", ProdFullName: "AXIS M5075-G PTZ Camera", ProdType: "PTZ Dome Network Camera",
		HardwareID: "8B1", Soc: "Axis Artpec-8", Architecture: "aarch64",
		Firmware: "12.11.77", BuildDate: "Jul 08 2026 12:25", FirmwarePart: "7454651131", FirmwareBuild: "77",
		PTZ:         true,
		Resolutions: []string{"1920x1080", "1280x720", "640x360", "320x180"},
	},
}

// SerialPrefix is the Axis OUI camsim allocates serial numbers under (vapix.md section 16).
const SerialPrefix = "ACCC8E"

// Identity is what never changes about a camera: derived from its index, so a fleet started
// again with the same flags has the same cameras.
type Identity struct {
	Index  int
	Serial string // 12 upper-case hex digits; equal to the MAC address
	Model  Model
	OAK    string // owner authentication key, XXXX-XXXX-XXXX
}

// MAC is the serial number written as a colon-separated MAC address.
func (id Identity) MAC() string {
	var b strings.Builder
	for i := 0; i < len(id.Serial); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(id.Serial[i : i+2])
	}
	return b.String()
}

// Realm is the HTTP and RTSP Digest realm of the camera.
func (id Identity) Realm() string { return "AXIS_" + id.Serial }

// HostName is the camera's network host name, axis-<serial in lower case>.
func (id Identity) HostName() string { return "axis-" + strings.ToLower(id.Serial) }

// NewIdentity derives the identity of the camera at index (offset shifts the serial range
// so that several camsim processes can run side by side without sharing serials).
func NewIdentity(index, offset int) Identity {
	serial := fmt.Sprintf("%s%06X", SerialPrefix, 0x010000+offset+index)
	return Identity{
		Index:  index,
		Serial: serial,
		Model:  Models[index%len(Models)],
		OAK:    oakFor(serial),
	}
}

// oakFor derives a stable owner authentication key from the serial. Real keys are printed
// on the box; their format is undocumented (vapix.md section 17), so camsim uses 12
// characters of [A-Z0-9] in groups of four.
func oakFor(serial string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	sum := sha256.Sum256([]byte("camsim-oak:" + serial))
	var b strings.Builder
	for i := 0; i < 12; i++ {
		if i > 0 && i%4 == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(alphabet[int(sum[i])%len(alphabet)])
	}
	return b.String()
}
