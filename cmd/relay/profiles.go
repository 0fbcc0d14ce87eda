package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

type profileItem struct {
	Name      string            `json:"name"`
	OSTrack   string            `json:"osTrack,omitempty"`
	OSVersion string            `json:"osVersion,omitempty"`
	Apps      []json.RawMessage `json:"apps,omitempty"`
	Params    map[string]string `json:"params,omitempty"`
	Overlay   string            `json:"overlay,omitempty"`
	Default   bool              `json:"default,omitempty"`
}

func newProfilesCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "profiles",
		Short: "Device profiles: the AXIS OS, applications, parameters and overlay managed devices keep",
		Long: `A profile says what a managed device must run: an AXIS OS track or version, applications,
parameter values and an overlay. Devices that differ drift to connected; edge hosts make
jobs to bring managed devices back to their profile. The default profile is the one
onboarding gives when none is named.`,
	}
	list := newOrgCommand("list", "List the organization's profiles", "", cobra.NoArgs,
		func(cmd *cobra.Command, cl *apiClient, org string, _ []string, asJSON bool) error {
			var page struct {
				Items []profileItem `json:"items"`
			}
			if err := cl.do(cmd, "GET", orgPath(org, "profiles"), nil, "", &page); err != nil {
				return err
			}
			if asJSON {
				if page.Items == nil {
					page.Items = []profileItem{}
				}
				return printJSON(cmd.OutOrStdout(), page.Items)
			}
			var rows [][]any
			for _, p := range page.Items {
				rows = append(rows, []any{p.Name, p.Default, p.OSTrack, p.OSVersion, len(p.Apps), len(p.Params), p.Overlay})
			}
			return printTable(cmd.OutOrStdout(), "NAME\tDEFAULT\tOS TRACK\tOS VERSION\tAPPS\tPARAMS\tOVERLAY", rows)
		})
	show := newOrgCommand("show NAME", "Show a profile as JSON", "", cobra.ExactArgs(1),
		func(cmd *cobra.Command, cl *apiClient, org string, args []string, _ bool) error {
			return showRaw(cmd, cl, orgPath(org, "profiles", args[0]))
		})
	_ = show.Flags().MarkHidden("json")
	var file string
	set := newOrgCommand("set NAME", "Create or replace a profile from JSON",
		`set creates the profile NAME, or replaces it, with the JSON object read from --file (or
standard input with --file -), as in GET .../profiles/NAME: osTrack, osVersion, apps,
params, overlay and default. Agents apply it to its devices at their next sync.`,
		cobra.ExactArgs(1), func(cmd *cobra.Command, cl *apiClient, org string, args []string, _ bool) error {
			var raw []byte
			var err error
			if file == "-" {
				raw, err = io.ReadAll(cmd.InOrStdin())
			} else {
				raw, err = os.ReadFile(file)
			}
			if err != nil {
				return fmt.Errorf("--file: %w", err)
			}
			var p map[string]any
			if err := json.Unmarshal(raw, &p); err != nil {
				return fmt.Errorf("--file: not a JSON object: %w", err)
			}
			p["name"] = args[0]
			body, _ := json.Marshal(p)
			var existing json.RawMessage
			err = cl.do(cmd, "GET", orgPath(org, "profiles", args[0]), nil, "", &existing)
			var apiErr *apiError
			switch {
			case err == nil:
				err = cl.do(cmd, "PUT", orgPath(org, "profiles", args[0]), bytes.NewReader(body), "application/json", nil)
			case errors.As(err, &apiErr) && apiErr.Status == 404:
				err = cl.do(cmd, "POST", orgPath(org, "profiles"), bytes.NewReader(body), "application/json", nil)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "profile %s saved\n", args[0])
			return nil
		})
	set.Example = `  echo '{"overlay":"Lobby","osTrack":"active"}' | relay profiles set lobby --org default --file -`
	set.Flags().StringVar(&file, "file", "", "JSON file with the profile (- for standard input; required)")
	_ = set.MarkFlagRequired("file")
	_ = set.Flags().MarkHidden("json")
	del := newOrgCommand("delete NAME", "Delete a profile that no device follows", "", cobra.ExactArgs(1),
		func(cmd *cobra.Command, cl *apiClient, org string, args []string, _ bool) error {
			if err := cl.do(cmd, "DELETE", orgPath(org, "profiles", args[0]), nil, "", nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "profile %s deleted\n", args[0])
			return nil
		})
	_ = del.Flags().MarkHidden("json")
	cmd.AddCommand(list, show, set, del)
	return cmd
}
