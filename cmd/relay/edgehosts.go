package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/opencamcloud/camcloud/internal/relay/api"
	"github.com/opencamcloud/camcloud/pkg/taskstate"
)

func newEdgeHostsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "edgehosts", Short: "Edge hosts, what they found on their networks, and onboarding"}
	cmd.AddCommand(newListEdgeHostsCommand(), newCreateEdgeHostCommand(), newDiscoveredCommand(), newOnboardCommand())
	return cmd
}

func newCreateEdgeHostCommand() *cobra.Command {
	var (
		cf        clientFlags
		org, name string
		valid     time.Duration
	)
	c := &cobra.Command{
		Use:   "create",
		Short: "Create an edge host and print its one-time enrollment token",
		Long: `create registers an edge host in --org and prints its one-time enrollment token, shown
only this once. On the edge host run:

  edgehost enroll --relay URL --ca ca.pem --token TOKEN --data DIR`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, orgID, err := cf.orgClient(cmd, org)
			if err != nil {
				return err
			}
			b, _ := json.Marshal(map[string]any{"name": name, "expiresIn": int64(valid / time.Second)})
			var eh struct {
				ID              string    `json:"id"`
				EnrollmentToken string    `json:"enrollmentToken"`
				ExpiresAt       time.Time `json:"expiresAt"`
			}
			if err := cl.do(cmd, "POST", "/api/v1/orgs/"+url.PathEscape(orgID)+"/edgehosts", bytes.NewReader(b), "application/json", &eh); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "edge host: %s\nenrollment token: %s (one use, until %s)\n", eh.ID, eh.EnrollmentToken, eh.ExpiresAt.Format(time.RFC3339))
			return nil
		},
	}
	cf.add(c)
	f := c.Flags()
	f.StringVar(&org, "org", "", "organization ID or name (required)")
	f.StringVar(&name, "name", "", "name of the edge host, e.g. its site (required)")
	f.DurationVar(&valid, "valid", 24*time.Hour, "how long the enrollment token stays valid (at most 168h)")
	_ = c.MarkFlagRequired("name")
	return c
}

func newDiscoveredCommand() *cobra.Command {
	var (
		cf          clientFlags
		org, host   string
		all, asJSON bool
	)
	c := &cobra.Command{
		Use:   "discovered",
		Short: "List the cameras an edge host found and does not manage yet",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, orgID, err := cf.orgClient(cmd, org)
			if err != nil {
				return err
			}
			path := "/api/v1/orgs/" + url.PathEscape(orgID) + "/edgehosts/" + url.PathEscape(host) + "/discovered"
			if all {
				path += "?all=true"
			}
			var page struct {
				Items []struct {
					Serial    string    `json:"serial"`
					Address   string    `json:"address"`
					Source    string    `json:"source"`
					Model     string    `json:"model"`
					Firmware  string    `json:"firmware"`
					LastSeen  time.Time `json:"lastSeen"`
					Onboarded bool      `json:"onboarded"`
				} `json:"items"`
			}
			if err := cl.do(cmd, "GET", path, nil, "", &page); err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(page.Items)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SERIAL\tMODEL\tFIRMWARE\tADDRESS\tFOUND BY\tONBOARDED\tLAST SEEN")
			for _, d := range page.Items {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%v\t%s\n", d.Serial, d.Model, d.Firmware, d.Address, d.Source, d.Onboarded, d.LastSeen.Format(time.RFC3339))
			}
			return tw.Flush()
		},
	}
	cf.add(c)
	f := c.Flags()
	f.StringVar(&org, "org", "", "organization ID or name (required)")
	f.StringVar(&host, "edgehost", "", "edge host ID (required)")
	f.BoolVar(&all, "all", false, "also list cameras already onboarded")
	f.BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	_ = c.MarkFlagRequired("edgehost")
	return c
}

func newOnboardCommand() *cobra.Command {
	var (
		cf            clientFlags
		org, host     string
		serials       []string
		user, profile string
		passwordEnv   string
		wait          bool
	)
	c := &cobra.Command{
		Use:   "onboard",
		Short: "Onboard discovered cameras: the edge host makes its own account on each and manages them",
		Long: `onboard gives an edge host the admin credentials of cameras it found. It uses them once to
create its own VAPIX account on each camera, keeps that account's password encrypted, and
manages the cameras with --profile (default: the organization's default profile). The
admin password is read from the environment variable named by --password-env, never
from the command line, and is not stored by the relay. Follow the tasks it prints with
relay tasks list --kind onboard, or wait for them with --wait.`,
		Example: `  CAMERA_PASSWORD=... relay edgehosts onboard --org default --edgehost eh_... \
      --serial ACCC8E000001 --serial ACCC8E000002 --device-user root`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pass := os.Getenv(passwordEnv)
			if pass == "" {
				return fmt.Errorf("set the cameras' admin password in $%s", passwordEnv)
			}
			if len(serials) == 0 {
				return errors.New("name the cameras with --serial (see relay edgehosts discovered)")
			}
			cl, orgID, err := cf.orgClient(cmd, org)
			if err != nil {
				return err
			}
			type dev struct {
				Serial   string `json:"serial"`
				Username string `json:"username"`
				Password string `json:"password"`
			}
			body := struct {
				Devices []dev  `json:"devices"`
				Profile string `json:"profile,omitempty"`
			}{Profile: profile}
			for _, s := range serials {
				body.Devices = append(body.Devices, dev{Serial: s, Username: user, Password: pass})
			}
			b, _ := json.Marshal(body)
			var tasks struct {
				Items []api.TaskView `json:"items"`
			}
			path := "/api/v1/orgs/" + url.PathEscape(orgID) + "/edgehosts/" + url.PathEscape(host) + "/onboard"
			if err := cl.do(cmd, "POST", path, bytes.NewReader(b), "application/json", &tasks); err != nil {
				return err
			}
			if wait {
				for i, t := range tasks.Items {
					end, err := waitTask(cmd, cl, orgID, t.ID)
					if err != nil {
						return err
					}
					tasks.Items[i].State, tasks.Items[i].Detail = end.State, end.Detail
				}
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TASK\tSERIAL\tSTATE\tDETAIL")
			failed := 0
			for _, t := range tasks.Items {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.ID, t.Serial, t.State, t.Detail)
				if wait && t.State != taskstate.Succeeded {
					failed++
				}
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if failed > 0 {
				return fmt.Errorf("%d of %d cameras were not onboarded (relay tasks show TASK --org %s tells why)", failed, len(tasks.Items), org)
			}
			return nil
		},
	}
	cf.add(c)
	f := c.Flags()
	f.StringVar(&org, "org", "", "organization ID or name (required)")
	f.StringVar(&host, "edgehost", "", "edge host ID (required)")
	f.StringSliceVar(&serials, "serial", nil, "serial number of a camera to onboard (repeatable)")
	f.StringVar(&user, "device-user", "root", "admin account on the cameras")
	f.StringVar(&passwordEnv, "password-env", "CAMERA_PASSWORD", "environment variable holding the cameras' admin password")
	f.StringVar(&profile, "profile", "", "profile the cameras get (default: the organization's default)")
	f.BoolVar(&wait, "wait", false, "wait until every camera's onboarding task has ended; fail if one did not succeed")
	_ = c.MarkFlagRequired("edgehost")
	return c
}

func newListEdgeHostsCommand() *cobra.Command {
	return newOrgCommand("list", "List the edge hosts with their link state", "", cobra.NoArgs,
		func(cmd *cobra.Command, cl *apiClient, org string, _ []string, asJSON bool) error {
			var page struct {
				Items []struct {
					ID        string    `json:"id"`
					Name      string    `json:"name"`
					Enrolled  bool      `json:"enrolled"`
					Connected bool      `json:"connected"`
					LastSeen  time.Time `json:"lastSeen,omitzero"`
				} `json:"items"`
			}
			if err := cl.do(cmd, "GET", orgPath(org, "edgehosts"), nil, "", &page); err != nil {
				return err
			}
			if asJSON {
				if page.Items == nil {
					return printJSON(cmd.OutOrStdout(), []any{})
				}
				return printJSON(cmd.OutOrStdout(), page.Items)
			}
			var rows [][]any
			for _, e := range page.Items {
				seen := ""
				if !e.LastSeen.IsZero() {
					seen = e.LastSeen.Format(time.RFC3339)
				}
				rows = append(rows, []any{e.ID, e.Name, e.Enrolled, e.Connected, seen})
			}
			return printTable(cmd.OutOrStdout(), "ID\tNAME\tENROLLED\tCONNECTED\tLAST SEEN", rows)
		})
}

// waitTask polls a task until it is in an end state, or the command's context ends
// (Ctrl-C).
func waitTask(cmd *cobra.Command, cl *apiClient, org, id string) (api.TaskView, error) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		var t api.TaskView
		if err := cl.do(cmd, "GET", orgPath(org, "tasks", id), nil, "", &t); err != nil {
			return t, err
		}
		if t.State.Final() {
			return t, nil
		}
		select {
		case <-cmd.Context().Done():
			return t, fmt.Errorf("waiting for task %s: %w", id, context.Cause(cmd.Context()))
		case <-tick.C:
		}
	}
}
