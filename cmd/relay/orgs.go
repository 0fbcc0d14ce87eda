package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

type orgItem struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Role string `json:"role"`
}

func newOrgsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "orgs", Short: "Organizations on a running relay"}
	var (
		cf     clientFlags
		asJSON bool
	)
	list := &cobra.Command{
		Use:   "list",
		Short: "List the organizations you belong to",
		Long:  "List the organizations you belong to, with your role in each.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cf.client(true)
			if err != nil {
				return err
			}
			orgs, err := c.orgs(cmd)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(orgs)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tROLE")
			for _, o := range orgs {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", o.ID, o.Name, o.Role)
			}
			return tw.Flush()
		},
	}
	cf.add(list)
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	cmd.AddCommand(list)
	return cmd
}

func (c *apiClient) orgs(cmd *cobra.Command) ([]orgItem, error) {
	var page struct {
		Items []orgItem `json:"items"`
	}
	if err := c.do(cmd, "GET", "/api/v1/orgs", nil, "", &page); err != nil {
		return nil, err
	}
	return page.Items, nil
}

// resolveOrg accepts an organization ID or an exact name of one of the caller's
// organizations.
func (c *apiClient) resolveOrg(cmd *cobra.Command, org string) (string, error) {
	if org == "" {
		return "", fmt.Errorf("--org is required")
	}
	orgs, err := c.orgs(cmd)
	if err != nil {
		return "", err
	}
	var match []string
	for _, o := range orgs {
		if o.ID == org {
			return o.ID, nil
		}
		if o.Name == org {
			match = append(match, o.ID)
		}
	}
	switch len(match) {
	case 1:
		return match[0], nil
	case 0:
		return "", fmt.Errorf("--org %q: not one of your organizations (see `relay orgs list`)", org)
	}
	return "", fmt.Errorf("--org %q: several of your organizations have this name: %s", org, strings.Join(match, ", "))
}
