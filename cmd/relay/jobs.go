package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/opencamcloud/camcloud/internal/relay/api"
	"github.com/opencamcloud/camcloud/internal/relay/store"
	"github.com/opencamcloud/camcloud/pkg/taskstate"
)

func newJobsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "jobs", Short: "Rollouts: tasks over many devices (firmware, apps, settings)"}
	cmd.AddCommand(newJobsCreateCommand(), newJobsListCommand(), newJobsShowCommand(), newJobsCancelCommand())
	return cmd
}

func newJobsCreateCommand() *cobra.Command {
	var (
		cf                         clientFlags
		org, kind, params, group   string
		devices                    []string
		all, follow                bool
		inFlight, perMinute, abort int
		abortPct                   float64
		attempts, backoff          int
		window                     string
	)
	c := &cobra.Command{
		Use:   "create",
		Short: "Start a job and follow its progress",
		Long: `create starts a job: one task of --kind per selected device (--device, --group or --all),
rolled out with at most --max-in-flight at once. --params is the kind's JSON parameters,
for example '{"version":"12.20.1"}' for firmware (the relay picks each device's release
file from its catalog). With --follow (the default) it shows the rollout's progress until
it ends; Ctrl-C stops following, not the job.`,
		Example: `  relay jobs create --org default --kind firmware --params '{"version":"12.20.1"}' --all \
      --max-in-flight 50 --retries 2 --abort-percent 10`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, orgID, err := cf.orgClient(cmd, org)
			if err != nil {
				return err
			}
			body := map[string]any{"kind": kind, "all": all}
			if params != "" {
				if !json.Valid([]byte(params)) {
					return errors.New("--params is not JSON")
				}
				body["params"] = json.RawMessage(params)
			}
			if len(devices) > 0 {
				body["devices"] = devices
			}
			if group != "" {
				body["group"] = group
			}
			policy := map[string]any{"maxInFlight": inFlight, "maxPerMinute": perMinute, "abortCount": abort, "abortPercent": abortPct}
			if window != "" {
				start, end, ok := strings.Cut(window, "-")
				if !ok {
					return errors.New("--window: HH:MM-HH:MM (UTC)")
				}
				policy["window"] = map[string]string{"start": start, "end": end}
			}
			body["policy"] = policy
			body["retry"] = map[string]int{"maxAttempts": attempts + 1, "backoffSeconds": backoff}
			b, _ := json.Marshal(body)
			var j api.JobView
			if err := cl.do(cmd, "POST", "/api/v1/orgs/"+url.PathEscape(orgID)+"/jobs", bytes.NewReader(b), "application/json", &j); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "job %s: %d %s tasks\n", j.ID, j.Tasks, j.Kind)
			if !follow {
				return nil
			}
			return followJob(cmd, cl, orgID, j.ID)
		},
	}
	cf.add(c)
	f := c.Flags()
	f.StringVar(&org, "org", "", "organization ID or name (required)")
	f.StringVar(&kind, "kind", "", "firmware, app-install, app-start, app-stop, app-remove, params, overlay, restart or rotate-account (required)")
	f.StringVar(&params, "params", "", "the kind's parameters, JSON")
	f.StringSliceVar(&devices, "device", nil, "serial number of a device (repeatable)")
	f.StringVar(&group, "group", "", "every device of this resource group (ID)")
	f.BoolVar(&all, "all", false, "every device an agent manages")
	f.IntVar(&inFlight, "max-in-flight", 10, "tasks running at once")
	f.IntVar(&perMinute, "max-per-minute", 0, "tasks started per minute (0: no limit)")
	f.StringVar(&window, "window", "", "maintenance window HH:MM-HH:MM (UTC) tasks may start in")
	f.IntVar(&abort, "abort-count", 0, "stop starting tasks once this many failed (0: no rule)")
	f.Float64Var(&abortPct, "abort-percent", 0, "stop starting tasks once this share (percent) failed (0: no rule)")
	f.IntVar(&attempts, "retries", 0, "times a failed task is tried again")
	f.IntVar(&backoff, "backoff", 30, "seconds before a retry")
	f.BoolVar(&follow, "follow", true, "show the progress until the job ends")
	_ = c.MarkFlagRequired("kind")
	return c
}

// followJob reads the job's event stream and draws its progress: a bar redrawn in place
// on a terminal, one line per change otherwise.
func followJob(cmd *cobra.Command, cl *apiClient, org, id string) error {
	body, err := cl.stream(cmd, "/api/v1/orgs/"+url.PathEscape(org)+"/jobs/"+url.PathEscape(id)+"/events")
	if err != nil {
		return err
	}
	defer body.Close()
	out := cmd.OutOrStdout()
	tty := isTerminal(out)
	var last api.JobView
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var j api.JobView // fresh: decoding into the last one would keep states no longer counted
		if err := json.Unmarshal([]byte(data), &j); err != nil {
			continue
		}
		last = j
		line := progressLine(last)
		if tty {
			fmt.Fprintf(out, "\r\033[K%s", line)
		} else {
			fmt.Fprintln(out, line)
		}
	}
	if tty {
		fmt.Fprintln(out)
	}
	if err := sc.Err(); err != nil && cmd.Context().Err() == nil {
		return err
	}
	if last.State != "" && last.State != store.JobRunning {
		fmt.Fprintf(out, "job %s %s%s\n", last.ID, last.State, map[bool]string{true: ": " + last.Reason, false: ""}[last.Reason != ""])
		if last.State != store.JobSucceeded {
			return fmt.Errorf("job %s ended %s", last.ID, last.State)
		}
	}
	return nil
}

func progressLine(j api.JobView) string {
	done := 0
	for s, n := range j.Counts {
		if s.Final() {
			done += n
		}
	}
	const width = 30
	fill := 0
	if j.Tasks > 0 {
		fill = done * width / j.Tasks
	}
	states := make([]string, 0, len(j.Counts))
	for s, n := range j.Counts {
		states = append(states, fmt.Sprintf("%s %d", s, n))
	}
	sort.Strings(states)
	return fmt.Sprintf("[%s%s] %d/%d  %s", strings.Repeat("#", fill), strings.Repeat(".", width-fill), done, j.Tasks, strings.Join(states, ", "))
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func newJobsListCommand() *cobra.Command {
	var (
		cf  clientFlags
		org string
	)
	c := &cobra.Command{
		Use:   "list",
		Short: "List jobs, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, orgID, err := cf.orgClient(cmd, org)
			if err != nil {
				return err
			}
			var page struct {
				Items []api.JobView `json:"items"`
			}
			if err := cl.do(cmd, "GET", "/api/v1/orgs/"+url.PathEscape(orgID)+"/jobs", nil, "", &page); err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "JOB\tKIND\tSTATE\tTASKS\tSUCCEEDED\tFAILED\tCREATED")
			for _, j := range page.Items {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\n", j.ID, j.Kind, j.State, j.Tasks, j.Counts[taskstate.Succeeded], j.Counts[taskstate.Failed], j.CreatedAt.Format(time.RFC3339))
			}
			return tw.Flush()
		},
	}
	cf.add(c)
	c.Flags().StringVar(&org, "org", "", "organization ID or name (required)")
	return c
}

func newJobsShowCommand() *cobra.Command {
	var (
		cf     clientFlags
		org    string
		follow bool
	)
	c := &cobra.Command{
		Use:   "show JOB",
		Short: "Show a job and each device's task",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, orgID, err := cf.orgClient(cmd, org)
			if err != nil {
				return err
			}
			if follow {
				if err := followJob(cmd, cl, orgID, args[0]); err != nil {
					return err
				}
			}
			var j api.JobView
			if err := cl.do(cmd, "GET", "/api/v1/orgs/"+url.PathEscape(orgID)+"/jobs/"+url.PathEscape(args[0]), nil, "", &j); err != nil {
				return err
			}
			var tasks struct {
				Items []api.TaskView `json:"items"`
			}
			if err := cl.do(cmd, "GET", "/api/v1/orgs/"+url.PathEscape(orgID)+"/tasks?limit=1000&job="+url.QueryEscape(j.ID), nil, "", &tasks); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "job %s: %s %s by %s at %s\n%s\n", j.ID, j.Kind, j.State, j.CreatedBy, j.CreatedAt.Format(time.RFC3339), progressLine(j))
			if j.Reason != "" {
				fmt.Fprintln(out, "reason:", j.Reason)
			}
			sort.Slice(tasks.Items, func(a, b int) bool { return tasks.Items[a].Serial < tasks.Items[b].Serial })
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SERIAL\tSTATE\tATTEMPT\tDETAIL")
			for _, t := range tasks.Items {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", t.Serial, t.State, t.Attempt, t.Detail)
			}
			return tw.Flush()
		},
	}
	cf.add(c)
	c.Flags().StringVar(&org, "org", "", "organization ID or name (required)")
	c.Flags().BoolVar(&follow, "follow", false, "show the progress until the job ends first")
	return c
}

func newJobsCancelCommand() *cobra.Command {
	var (
		cf  clientFlags
		org string
	)
	c := &cobra.Command{
		Use:   "cancel JOB",
		Short: "Cancel a job: tasks not started are cancelled, running ones asked to stop",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, orgID, err := cf.orgClient(cmd, org)
			if err != nil {
				return err
			}
			var j api.JobView
			if err := cl.do(cmd, "POST", "/api/v1/orgs/"+url.PathEscape(orgID)+"/jobs/"+url.PathEscape(args[0])+"/cancel", nil, "", &j); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "job %s cancelling: %s\n", j.ID, progressLine(j))
			return nil
		},
	}
	cf.add(c)
	c.Flags().StringVar(&org, "org", "", "organization ID or name (required)")
	return c
}
