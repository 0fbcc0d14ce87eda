package main

import (
	"bufio"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

func newLoginCommand() *cobra.Command {
	var (
		cf    clientFlags
		email string
		otp   string
	)
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Log in to a relay and save the token for later commands",
		Long: `Log in with an e-mail address and password (the OAuth password grant) and save the
relay URL, the CA file and the bearer token in the user's config directory
(camcloud/relay-login.json, mode 0600). The password comes from the environment variable
RELAY_PASSWORD, or is read as one line from standard input. An account with two-step
verification on also needs --otp: the authenticator app's current code, or a recovery code.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if email == "" {
				return fmt.Errorf("--email is required")
			}
			password := os.Getenv("RELAY_PASSWORD")
			if password == "" {
				fmt.Fprint(cmd.ErrOrStderr(), "password: ")
				line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
				if err != nil && line == "" {
					return fmt.Errorf("read password: %w", err)
				}
				password = strings.TrimRight(line, "\r\n")
			}
			relay := firstOf(cf.relay, defaultRelayURL)
			ca := cf.ca
			if ca != "" {
				abs, err := filepath.Abs(ca)
				if err != nil {
					return err
				}
				ca = abs
			}
			c, err := newAPIClient(relay, ca, "")
			if err != nil {
				return err
			}
			form := url.Values{"grant_type": {"password"}, "username": {email}, "password": {password}}
			if otp != "" {
				form.Set("otp", otp)
			}
			var tok struct {
				AccessToken string `json:"access_token"`
				ExpiresIn   int64  `json:"expires_in"`
			}
			if err := c.do(cmd, "POST", "/api/v1/auth/token", strings.NewReader(form.Encode()), "application/x-www-form-urlencoded", &tok); err != nil {
				return err
			}
			exp := time.Now().Add(time.Duration(tok.ExpiresIn) * time.Second).UTC()
			path, err := saveLogin(savedLogin{Relay: relay, CA: ca, Token: tok.AccessToken, ExpiresAt: exp})
			if err != nil {
				return fmt.Errorf("save login: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "logged in to %s as %s until %s; saved in %s\n", relay, email, exp.Format(time.RFC3339), path)
			return nil
		},
	}
	cmd.Flags().StringVar(&cf.relay, "relay", "", "relay URL (default "+defaultRelayURL+")")
	cmd.Flags().StringVar(&cf.ca, "ca", "", "CA certificate file to trust (the relay's DIR/ca.pem)")
	cmd.Flags().StringVar(&email, "email", "", "your e-mail address (login)")
	cmd.Flags().StringVar(&otp, "otp", "", "two-step verification code (or a recovery code), when the account has it on")
	return cmd
}
