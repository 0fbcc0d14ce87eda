// Package cli holds what every camcloud command line shares: the version command, and the
// rule that a flag can also be set from an environment variable or a config file.
//
// Precedence, highest first: a flag on the command line, the environment variable
// PREFIX_FLAG_NAME (upper case, dashes as underscores), a key of the YAML config file given
// with --config, the flag's default.
package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"

	"github.com/opencamcloud/camcloud/internal/buildinfo"
)

// VersionCommand answers `NAME version` with the build description.
func VersionCommand(name string) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of " + name,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", name, buildinfo.String())
			return err
		},
	}
}

// Root builds a root command with the version subcommand, `--version`, and a persistent
// --config flag; every subcommand's flags then also read PREFIX_* environment variables and
// the config file (see the package comment).
func Root(name, envPrefix, short, long string) *cobra.Command {
	root := &cobra.Command{
		Use:           name,
		Short:         short,
		Long:          long,
		Version:       buildinfo.String(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().String("config", "", "YAML file whose keys are flag names (env "+envPrefix+"_CONFIG)")
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		return ApplyEnvAndConfig(cmd, envPrefix)
	}
	root.AddCommand(VersionCommand(name))
	return root
}

// EnvName is the environment variable that sets a flag: envPrefix_FLAG_NAME.
func EnvName(envPrefix, flag string) string {
	return envPrefix + "_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// ApplyEnvAndConfig fills every flag of cmd that was not given on the command line from the
// environment, then from the config file. Errors name the flag and the source.
func ApplyEnvAndConfig(cmd *cobra.Command, envPrefix string) error {
	cfgPath, _ := cmd.Flags().GetString("config")
	if !cmd.Flags().Changed("config") {
		if v, ok := os.LookupEnv(EnvName(envPrefix, "config")); ok {
			cfgPath = v
		}
	}
	file := map[string]any{}
	if cfgPath != "" {
		b, err := os.ReadFile(cfgPath)
		if err != nil {
			return fmt.Errorf("config file: %w", err)
		}
		if err := yaml.Unmarshal(b, &file); err != nil {
			return fmt.Errorf("config file %s: %w", cfgPath, err)
		}
	}
	known := map[string]bool{}
	var errs []string
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		known[f.Name] = true
		if f.Changed || f.Name == "config" || f.Name == "help" {
			return
		}
		if v, ok := os.LookupEnv(EnvName(envPrefix, f.Name)); ok {
			if err := f.Value.Set(v); err != nil {
				errs = append(errs, fmt.Sprintf("%s=%q: %v", EnvName(envPrefix, f.Name), v, err))
			}
			return
		}
		if v, ok := file[f.Name]; ok {
			if err := setFromFile(f, v); err != nil {
				errs = append(errs, fmt.Sprintf("config key %q: %v", f.Name, err))
			}
		}
	})
	for k := range file {
		if !known[k] {
			errs = append(errs, fmt.Sprintf("config key %q: no such flag for %q", k, cmd.CommandPath()))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

func setFromFile(f *pflag.Flag, v any) error {
	if list, ok := v.([]any); ok {
		for _, item := range list {
			if err := f.Value.Set(fmt.Sprint(item)); err != nil {
				return err
			}
		}
		return nil
	}
	return f.Value.Set(fmt.Sprint(v))
}

// Main runs root (see RejectUnknownSubcommands) with a context that is cancelled on SIGINT or SIGTERM, prints an error on
// stderr and exits non-zero when the command fails.
func Main(root *cobra.Command) {
	RejectUnknownSubcommands(root)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := root.ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", root.Name(), err)
		os.Exit(1)
	}
}

// RejectUnknownSubcommands makes every command that only groups others (and has no action
// of its own) print its help when called bare, and fail with the list of its commands when
// given one it does not have: cobra would print the help and exit 0, so that a typo or a
// missing command looks like success to a script. Flags that belong to the intended command
// (`--org`) are ignored, so that the error names the command, not the flag.
func RejectUnknownSubcommands(root *cobra.Command) {
	for _, c := range root.Commands() {
		RejectUnknownSubcommands(c)
	}
	if root.Runnable() || !root.HasSubCommands() || !root.HasParent() {
		return
	}
	root.FParseErrWhitelist.UnknownFlags = true
	root.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return cmd.Help()
		}
		var names []string
		for _, c := range cmd.Commands() {
			if c.IsAvailableCommand() {
				names = append(names, c.Name())
			}
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			msg += fmt.Sprintf("; did you mean %q?", s[0])
		}
		return fmt.Errorf("%s (its commands: %s; see %s --help)", msg, strings.Join(names, ", "), cmd.CommandPath())
	}
}

// RequireFlags reports, in one error, every named flag of cmd that is empty once flags,
// environment and config file are applied.
func RequireFlags(cmd *cobra.Command, names ...string) error {
	var missing []error
	for _, n := range names {
		if f := cmd.Flags().Lookup(n); f == nil || f.Value.String() == "" {
			missing = append(missing, fmt.Errorf("--%s is required", n))
		}
	}
	return errors.Join(missing...)
}
