package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

// meAnswer is GET /api/v1/me.
type meAnswer struct {
	Kind      string    `json:"kind"`
	ID        string    `json:"id"`
	Email     string    `json:"email,omitempty"`
	Name      string    `json:"name,omitempty"`
	TwoFactor bool      `json:"twoFactor"`
	Orgs      []orgItem `json:"orgs"`
}

func newWhoamiCommand() *cobra.Command {
	var (
		cf     clientFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "whoami",
		Short: "Show who the saved login (or --token) is on the relay",
		Long: `Show who the bearer token belongs to: the person (e-mail address, ID, whether
two-step verification is on) or the application, and the organizations with the role
in each.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cf.client(true)
			if err != nil {
				return err
			}
			var me meAnswer
			if err := c.do(cmd, "GET", "/api/v1/me", nil, "", &me); err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(me)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			if me.Kind == "client" {
				fmt.Fprintf(tw, "application\t%s (%s)\n", me.Name, me.ID)
			} else {
				twoStep := "off"
				if me.TwoFactor {
					twoStep = "on"
				}
				fmt.Fprintf(tw, "user\t%s (%s)\n", me.Email, me.ID)
				fmt.Fprintf(tw, "two-step verification\t%s\n", twoStep)
			}
			if len(me.Orgs) == 0 {
				fmt.Fprintln(tw, "organizations\tnone")
			}
			for i, o := range me.Orgs {
				label := ""
				if i == 0 {
					label = "organizations"
				}
				fmt.Fprintf(tw, "%s\t%s (%s)\t%s\n", label, o.Name, o.ID, o.Role)
			}
			return tw.Flush()
		},
	}
	cf.add(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the relay's JSON answer")
	return cmd
}
