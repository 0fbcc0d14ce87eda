package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

type deviceItem struct {
	Serial          string    `json:"serial"`
	Name            string    `json:"name,omitempty"`
	Model           string    `json:"model,omitempty"`
	Group           string    `json:"group,omitempty"`
	Status          string    `json:"status"`
	Integration     string    `json:"integration"`
	Tier            string    `json:"tier,omitempty"`
	EdgeHost        string    `json:"edgeHost,omitempty"`
	FirmwareVersion string    `json:"firmwareVersion,omitempty"`
	Connected       bool      `json:"connected"`
	LastSeen        time.Time `json:"lastSeen,omitzero"`
	Mode            string    `json:"mode"`
	Profile         string    `json:"profile,omitempty"`
	ModeHistory     []struct {
		Reason string `json:"reason"`
	} `json:"modeHistory,omitempty"`
}

func newDevicesCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "devices", Short: "The device inventory on a running relay"}
	var (
		cf                        clientFlags
		org, status, model, group string
		mode, edgehost, connected string
		asJSON                    bool
		pageSize                  int
	)
	list := &cobra.Command{
		Use:   "list",
		Short: "List the devices of an organization",
		Long:  "List every device of --org (an ID or the name of one of your organizations), page by page.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, orgID, err := cf.orgClient(cmd, org)
			if err != nil {
				return err
			}
			var all []deviceItem
			cursor := ""
			for {
				q := url.Values{"limit": {strconv.Itoa(pageSize)}}
				for k, v := range map[string]string{"status": status, "model": model, "group": group, "mode": mode, "edgehost": edgehost, "connected": connected, "cursor": cursor} {
					if v != "" {
						q.Set(k, v)
					}
				}
				var page struct {
					Items      []deviceItem `json:"items"`
					NextCursor string       `json:"nextCursor"`
				}
				if err := c.do(cmd, "GET", "/api/v1/orgs/"+url.PathEscape(orgID)+"/devices?"+q.Encode(), nil, "", &page); err != nil {
					return err
				}
				all = append(all, page.Items...)
				if page.NextCursor == "" {
					break
				}
				cursor = page.NextCursor
			}
			if asJSON {
				if all == nil {
					all = []deviceItem{}
				}
				return json.NewEncoder(cmd.OutOrStdout()).Encode(all)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SERIAL\tMODEL\tSTATUS\tMODE\tINTEGRATION\tCONNECTED\tFIRMWARE\tPROFILE\tNAME\tLAST MODE CHANGE")
			for _, d := range all {
				why := ""
				if n := len(d.ModeHistory); n > 0 {
					why = d.ModeHistory[n-1].Reason
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%v\t%s\t%s\t%s\t%s\n", d.Serial, d.Model, d.Status, d.Mode, d.Integration, d.Connected, d.FirmwareVersion, d.Profile, d.Name, why)
			}
			return tw.Flush()
		},
	}
	cf.add(list)
	f := list.Flags()
	f.StringVar(&org, "org", "", "organization ID or name (required)")
	f.StringVar(&status, "status", "", "only devices with this status: registered, claimed or onboarded")
	f.StringVar(&model, "model", "", "only devices of this model")
	f.StringVar(&group, "group", "", "only devices in this resource group (ID)")
	f.StringVar(&mode, "mode", "", "only devices in this management mode: managed, connected or standalone")
	f.StringVar(&edgehost, "edgehost", "", "only devices managed by this edge host (ID)")
	f.StringVar(&connected, "connected", "", "only connected (true) or disconnected (false) devices")
	f.IntVar(&pageSize, "page-size", 500, "devices fetched per request")
	f.BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	show := newOrgCommand("show SERIAL", "Show a device: its state, mode history, drift and difference from its profile",
		"show prints everything the inventory knows about the device SERIAL, as JSON.",
		cobra.ExactArgs(1), func(cmd *cobra.Command, cl *apiClient, org string, args []string, _ bool) error {
			return showRaw(cmd, cl, orgPath(org, "devices", args[0]))
		})
	_ = show.Flags().MarkHidden("json")
	var reason string
	setMode := newOrgCommand("set-mode SERIAL MODE", "Switch an onboarded device between managed and connected",
		`set-mode switches the device SERIAL to MODE: managed (it follows its profile; do this once
the cause of a drift is dealt with) or connected (reachable, but left as it is). The switch
is recorded in the device's mode history with --reason.`,
		cobra.ExactArgs(2), func(cmd *cobra.Command, cl *apiClient, org string, args []string, _ bool) error {
			body := map[string]string{"mode": args[1]}
			if reason != "" {
				body["reason"] = reason
			}
			b, _ := json.Marshal(body)
			var d deviceItem
			if err := cl.do(cmd, "PATCH", orgPath(org, "devices", args[0]), bytes.NewReader(b), "application/json", &d); err != nil {
				return err
			}
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "%s is %s\n", d.Serial, d.Mode)
			return err
		})
	setMode.Flags().StringVar(&reason, "reason", "", "why, recorded in the mode history")
	_ = setMode.Flags().MarkHidden("json")
	cmd.AddCommand(list, show, setMode)
	return cmd
}
