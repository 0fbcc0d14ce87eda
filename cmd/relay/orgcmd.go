package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

// orgRun is the body of a command about one organization: a logged-in client, the
// organization's ID (resolved from the ID or name given with --org), the arguments, and
// whether JSON was asked for.
type orgRun func(cmd *cobra.Command, cl *apiClient, org string, args []string, asJSON bool) error

// newOrgCommand makes a command with --org, --json and the connection flags.
func newOrgCommand(use, short, long string, args cobra.PositionalArgs, run orgRun) *cobra.Command {
	var (
		cf     clientFlags
		org    string
		asJSON bool
	)
	c := &cobra.Command{
		Use:   use,
		Short: short,
		Long:  long,
		Args:  args,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, orgID, err := cf.orgClient(cmd, org)
			if err != nil {
				return err
			}
			return run(cmd, cl, orgID, args, asJSON)
		},
	}
	cf.add(c)
	c.Flags().StringVar(&org, "org", "", "organization ID or name (required)")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	return c
}

// orgPath is /api/v1/orgs/ORG followed by the escaped path elements.
func orgPath(org string, elems ...string) string {
	p := "/api/v1/orgs/" + url.PathEscape(org)
	for _, e := range elems {
		p += "/" + url.PathEscape(e)
	}
	return p
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printTable writes a header and rows, aligned.
func printTable(w io.Writer, header string, rows [][]any) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		for i, v := range r {
			if i > 0 {
				fmt.Fprint(tw, "\t")
			}
			fmt.Fprint(tw, v)
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// showRaw GETs path and prints the answer as indented JSON: the whole object, every
// field the API gives.
func showRaw(cmd *cobra.Command, cl *apiClient, path string) error {
	var v json.RawMessage
	if err := cl.do(cmd, "GET", path, nil, "", &v); err != nil {
		return err
	}
	var pretty any
	if err := json.Unmarshal(v, &pretty); err != nil {
		return fmt.Errorf("relay answer: %w", err)
	}
	return printJSON(cmd.OutOrStdout(), pretty)
}
