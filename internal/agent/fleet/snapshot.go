package fleet

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/opencamcloud/camcloud/internal/atomicfile"
	"github.com/opencamcloud/camcloud/internal/linkapi"
)

// Snapshot is what the manager last read of its devices, kept in a file for `status`.
type Snapshot struct {
	At      time.Time              `json:"at"`
	Devices []linkapi.DeviceReport `json:"devices"`
	Modes   map[string]string      `json:"modes"`
}

// writeSnapshot replaces the snapshot file atomically.
func (m *Manager) writeSnapshot(devices []linkapi.DeviceReport) error {
	if m.cfg.Snapshot == "" {
		return nil
	}
	b, err := json.Marshal(Snapshot{At: m.cfg.Now().UTC(), Devices: devices, Modes: m.Modes()})
	if err != nil {
		return err
	}
	return atomicfile.Write(m.cfg.Snapshot, b, 0o600)
}

// DescribeSnapshot prints the devices of the snapshot in dataDir as a table; nothing
// when there is none (the agent never ran or manages nothing yet).
func DescribeSnapshot(w io.Writer, dataDir string) error {
	b, err := os.ReadFile(filepath.Join(dataDir, SnapshotFile))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	var s Snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("%s: %w", SnapshotFile, err)
	}
	fmt.Fprintf(w, "\ndevices (as read %s):\n", s.At.Local().Format("2006-01-02 15:04:05 MST"))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERIAL\tMODEL\tFIRMWARE\tADDRESS\tREACHABLE\tMODE\tDRIFT\tPROFILE DIFFERENCES")
	for _, d := range s.Devices {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%s\t%d\t%d\n", d.Serial, d.Model, d.FirmwareVersion, d.Address, d.Reachable, s.Modes[d.Serial], len(d.Drift), len(d.Diff))
	}
	return tw.Flush()
}
