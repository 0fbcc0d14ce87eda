package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// newTestRoot has one subcommand with a string and a repeatable flag, recording what it got.
func newTestRoot(got *[2]string) *cobra.Command {
	root := Root("demo", "DEMO", "demo", "")
	sub := &cobra.Command{
		Use: "serve",
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, _ := cmd.Flags().GetString("listen")
			tags, _ := cmd.Flags().GetStringSlice("tag")
			got[0], got[1] = l, strings.Join(tags, ",")
			return nil
		},
	}
	sub.Flags().String("listen", "127.0.0.1:1", "address")
	sub.Flags().StringSlice("tag", nil, "tags")
	root.AddCommand(sub)
	return root
}

func TestPrecedenceFlagEnvFileDefault(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "demo.yaml")
	if err := os.WriteFile(cfg, []byte("listen: 127.0.0.1:3\ntag: [a, b]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		env      string
		want     string
		wantTags string
	}{
		{"default", []string{"serve"}, "", "127.0.0.1:1", ""},
		{"file", []string{"serve", "--config", cfg}, "", "127.0.0.1:3", "a,b"},
		{"env over file", []string{"serve", "--config", cfg}, "127.0.0.1:2", "127.0.0.1:2", "a,b"},
		{"flag over env", []string{"serve", "--config", cfg, "--listen", "127.0.0.1:4"}, "127.0.0.1:2", "127.0.0.1:4", "a,b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.env != "" {
				t.Setenv("DEMO_LISTEN", tt.env)
			}
			var got [2]string
			root := newTestRoot(&got)
			root.SetArgs(tt.args)
			if err := root.ExecuteContext(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got[0] != tt.want || got[1] != tt.wantTags {
				t.Fatalf("listen=%q tags=%q, want %q %q", got[0], got[1], tt.want, tt.wantTags)
			}
		})
	}
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "demo.yaml")
	if err := os.WriteFile(cfg, []byte("lisen: oops\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var got [2]string
	root := newTestRoot(&got)
	root.SetArgs([]string{"serve", "--config", cfg})
	err := root.ExecuteContext(context.Background())
	if err == nil || !strings.Contains(err.Error(), `"lisen"`) {
		t.Fatalf("a misspelt key gave %v, want an error naming it", err)
	}
}

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	var got [2]string
	root := newTestRoot(&got)
	root.SetArgs([]string{"version"})
	root.SetOut(&out)
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "demo dev") {
		t.Fatalf("version printed %q", out.String())
	}
}

// A group of commands given one it lacks fails and names its commands; called bare, it
// shows its help.
func TestUnknownSubcommandOfAGroupFails(t *testing.T) {
	root := Root("demo", "DEMO", "demo", "")
	group := &cobra.Command{Use: "things", Short: "things"}
	group.AddCommand(&cobra.Command{Use: "list", RunE: func(*cobra.Command, []string) error { return nil }})
	root.AddCommand(group)
	RejectUnknownSubcommands(root)
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs([]string{"things", "lst", "--org", "x"})
	err := root.ExecuteContext(context.Background())
	if err == nil || !strings.Contains(err.Error(), `"lst"`) || !strings.Contains(err.Error(), "list") {
		t.Errorf("things lst: %v", err)
	}
	root.SetArgs([]string{"things"})
	if err := root.ExecuteContext(context.Background()); err != nil || !strings.Contains(out.String(), "list") {
		t.Errorf("things alone: %v\n%s", err, out.String())
	}
}

// Every required flag left empty is named at once, so one try shows all that is missing.
func TestRequireFlagsNamesEveryMissingOne(t *testing.T) {
	cmd := &cobra.Command{Use: "enroll"}
	var a, b, c string
	cmd.Flags().StringVar(&a, "relay", "", "")
	cmd.Flags().StringVar(&b, "token", "", "")
	cmd.Flags().StringVar(&c, "ca", "ca.pem", "")
	if err := cmd.Flags().Parse([]string{"--relay", "https://relay.example"}); err != nil {
		t.Fatal(err)
	}
	err := RequireFlags(cmd, "relay", "token", "ca", "data")
	if err == nil || !strings.Contains(err.Error(), "--token is required") || !strings.Contains(err.Error(), "--data is required") ||
		strings.Contains(err.Error(), "--relay") || strings.Contains(err.Error(), "--ca") {
		t.Fatalf("RequireFlags: %v", err)
	}
}
