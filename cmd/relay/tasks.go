package main

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/opencamcloud/camcloud/internal/relay/api"
	"github.com/opencamcloud/camcloud/pkg/taskstate"
)

func newTasksCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "tasks", Short: "Tasks: one piece of work on one device (onboarding, a job's step)"}
	var serial, state, kind, job string
	var limit int
	list := newOrgCommand("list", "List tasks, newest last, filtered by device, state, kind or job",
		`list shows the tasks of --org: onboarding tasks, the tasks of jobs (--job JOB lists
one job's) and those edge hosts created to follow a profile. "relay tasks show ID" gives
a task's every transition and what its runner reported.`,
		cobra.NoArgs, func(cmd *cobra.Command, cl *apiClient, org string, _ []string, asJSON bool) error {
			q := url.Values{"limit": {strconv.Itoa(limit)}}
			for k, v := range map[string]string{"serial": serial, "state": state, "kind": kind, "job": job} {
				if v != "" {
					q.Set(k, v)
				}
			}
			var page struct {
				Items []api.TaskView `json:"items"`
			}
			if err := cl.do(cmd, "GET", orgPath(org, "tasks")+"?"+q.Encode(), nil, "", &page); err != nil {
				return err
			}
			if asJSON {
				if page.Items == nil {
					page.Items = []api.TaskView{}
				}
				return printJSON(cmd.OutOrStdout(), page.Items)
			}
			var rows [][]any
			for _, t := range page.Items {
				rows = append(rows, []any{t.ID, t.Kind, t.Serial, t.State, t.Attempt, t.JobID, t.UpdatedAt.Format(time.RFC3339), t.Detail})
			}
			return printTable(cmd.OutOrStdout(), "TASK\tKIND\tSERIAL\tSTATE\tATTEMPT\tJOB\tUPDATED\tDETAIL", rows)
		})
	f := list.Flags()
	f.StringVar(&job, "job", "", "only the tasks of this job (ID)")
	f.StringVar(&serial, "serial", "", "only the tasks of this device")
	f.StringVar(&state, "state", "", "only tasks in this state: "+stateNames())
	f.StringVar(&kind, "kind", "", "only tasks of this kind (onboard, firmware, overlay, ...)")
	f.IntVar(&limit, "limit", 100, "at most this many tasks (1 to 1000)")
	show := newOrgCommand("show TASK", "Show one task: its parameters, result and every transition",
		"show prints a task as JSON, with its parameters, what its runner reported and every state it went through.",
		cobra.ExactArgs(1), func(cmd *cobra.Command, cl *apiClient, org string, args []string, _ bool) error {
			return showRaw(cmd, cl, orgPath(org, "tasks", args[0]))
		})
	cmd.AddCommand(list, show)
	return cmd
}

// stateNames lists the task states for --state's help.
func stateNames() string {
	all := taskstate.All()
	names := make([]string, len(all))
	for i, s := range all {
		names[i] = s.String()
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
