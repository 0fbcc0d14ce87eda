package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/opencamcloud/camcloud/internal/relay/api"
)

func newReleasesCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "releases",
		Short: "The software catalog: AXIS OS and application files that jobs and profiles install",
	}
	var (
		cf     clientFlags
		asJSON bool
	)
	list := &cobra.Command{
		Use:   "list",
		Short: "List the releases in the catalog, oldest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := cf.client(true)
			if err != nil {
				return err
			}
			var page struct {
				Items []api.ReleaseView `json:"items"`
			}
			if err := cl.do(cmd, "GET", "/api/v1/releases", nil, "", &page); err != nil {
				return err
			}
			if asJSON {
				if page.Items == nil {
					page.Items = []api.ReleaseView{}
				}
				return printJSON(cmd.OutOrStdout(), page.Items)
			}
			var rows [][]any
			for _, r := range page.Items {
				products := strings.Join(r.Products, ",")
				if products == "" {
					products = "all"
				}
				rows = append(rows, []any{r.ID, r.Kind, r.Name, r.Version, r.Track, products, r.Size, r.CreatedAt.Format(time.RFC3339)})
			}
			return printTable(cmd.OutOrStdout(), "ID\tKIND\tNAME\tVERSION\tTRACK\tPRODUCTS\tSIZE\tADDED", rows)
		},
	}
	cf.add(list)
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")

	var (
		ucf                                clientFlags
		kind, version, name, products, trk string
	)
	upload := &cobra.Command{
		Use:   "upload FILE",
		Short: "Add a release file to the catalog (admins of the relay's own organization)",
		Long: `upload streams FILE (an AXIS OS image or an ACAP package, up to 2 GiB) to the relay, which
records its SHA-256 and size and signs them with its release key. Jobs and profiles then
install it by version: relay jobs create --kind firmware --params '{"version":"..."}'.`,
		Example: `  relay releases upload AXIS_OS_12.20.1.bin --kind os --version 12.20.1 --products P3265-V,Q6135-LE`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := ucf.client(true)
			if err != nil {
				return err
			}
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			cl.http.Timeout = 0 // a large file takes as long as it takes; the relay cuts off a stalled upload
			q := url.Values{"kind": {kind}, "version": {version}}
			for k, v := range map[string]string{"name": name, "products": products, "track": trk} {
				if v != "" {
					q.Set(k, v)
				}
			}
			var r api.ReleaseView
			if err := cl.do(cmd, "POST", "/api/v1/releases?"+q.Encode(), f, "application/octet-stream", &r); err != nil {
				return err
			}
			b, _ := json.Marshal(r)
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "release %s added: %s\n", r.ID, b)
			return err
		},
	}
	ucf.add(upload)
	uf := upload.Flags()
	uf.StringVar(&kind, "kind", "", "os (AXIS OS) or acap (an application; required)")
	uf.StringVar(&version, "version", "", "the release's version (required)")
	uf.StringVar(&name, "name", "", "the application's package name (acap)")
	uf.StringVar(&products, "products", "", "comma-separated product numbers the file fits (default: all)")
	uf.StringVar(&trk, "track", "", "AXIS OS track: active, lts-2024, lts-2022 or lts-2020 (default: from the version)")
	_ = upload.MarkFlagRequired("kind")
	_ = upload.MarkFlagRequired("version")
	cmd.AddCommand(list, upload)
	return cmd
}
