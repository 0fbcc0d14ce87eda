package camsim

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// pwdgrp.cgi (vapix.md section 10) and usergroup.cgi (section 1.3). Results and errors are
// text/plain with HTTP 200; the exact success texts are camsim's choice.

// validSgrp are the privilege lists a camera accepts.
var validSgrp = []string{"viewer", "viewer:ptz", "viewer:operator", "viewer:operator:ptz",
	"viewer:operator:admin", "viewer:operator:admin:ptz"}

func validUserName(u string) bool {
	if len(u) < 1 || len(u) > 14 {
		return false
	}
	for _, r := range u {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			return false
		}
	}
	return true
}

func validPassword(p string) bool {
	if len(p) < 1 || len(p) > 64 {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] < 32 || p[i] > 126 {
			return false
		}
	}
	return true
}

func (c *Camera) handlePwdgrp(q *request) {
	args := q.args()
	name := args.Get("user")
	switch action := args.Get("action"); action {
	case "get":
		c.pwdgrpGet(q)
	case "add", "update":
		pwd, sgrp, comment := args.Get("pwd"), args.Get("sgrp"), args.Get("comment")
		_, hasPwd := args["pwd"]
		_, hasSgrp := args["sgrp"]
		switch {
		case !validUserName(name):
			q.text(http.StatusOK, "Error: invalid user name\n")
			return
		case action == "add" && (!hasPwd || !hasSgrp):
			q.text(http.StatusOK, "Error: pwd and sgrp are required\n")
			return
		case hasPwd && !validPassword(pwd):
			q.text(http.StatusOK, "Error: invalid password\n")
			return
		case hasSgrp && !slices.Contains(validSgrp, sgrp):
			q.text(http.StatusOK, "Error: invalid sgrp\n")
			return
		}
		var msg string
		_ = c.update(func(st *State) error {
			i := slices.IndexFunc(st.Users, func(u User) bool { return u.Name == name })
			if action == "add" {
				if i >= 0 {
					msg = "Error: account already exists\n"
					return errParamRejected
				}
				st.Users = append(st.Users, User{Name: name, Password: pwd, Groups: strings.Split(sgrp, ":"), Comment: comment})
				msg = fmt.Sprintf("Created account %s.\n", name)
				return nil
			}
			if i < 0 {
				msg = "Error: no such account\n"
				return errParamRejected
			}
			u := &st.Users[i]
			if hasPwd {
				u.Password = pwd
			}
			if hasSgrp {
				if name == c.cfg.user && !strings.Contains(sgrp, "admin") {
					msg = "Error: the built-in administrator must stay admin\n"
					return errParamRejected
				}
				u.Groups = strings.Split(sgrp, ":")
			}
			if _, ok := args["comment"]; ok {
				u.Comment = comment
			}
			msg = fmt.Sprintf("Modified account %s.\n", name)
			return nil
		})
		q.text(http.StatusOK, msg)
	case "remove":
		var msg string
		_ = c.update(func(st *State) error {
			i := slices.IndexFunc(st.Users, func(u User) bool { return u.Name == name })
			switch {
			case i < 0:
				msg = "Error: no such account\n"
				return errParamRejected
			case name == c.cfg.user || name == "root":
				msg = "Error: the account root cannot be removed\n"
				return errParamRejected
			}
			st.Users = slices.Delete(st.Users, i, i+1)
			msg = fmt.Sprintf("Removed account %s.\n", name)
			return nil
		})
		q.text(http.StatusOK, msg)
	default:
		q.text(http.StatusOK, fmt.Sprintf("Error: unknown action '%s'\n", action))
	}
}

// pwdgrpGet lists the five groups of AXIS OS 12.x with their members.
func (c *Camera) pwdgrpGet(q *request) {
	var users []User
	c.view(func(st *State) { users = slices.Clone(st.Users) })
	var b strings.Builder
	for _, g := range []string{"admin", "operator", "viewer", "ptz", "digusers"} {
		var names []string
		for _, u := range users {
			if g == "digusers" || u.InGroup(g) {
				names = append(names, u.Name)
			}
		}
		fmt.Fprintf(&b, "%s=\"%s\"\n", g, strings.Join(names, ","))
	}
	q.text(http.StatusOK, b.String())
}

// handleUserGroup answers the caller's own name and groups.
func (c *Camera) handleUserGroup(q *request) {
	groups := make([]string, 0, 4)
	for _, g := range []string{"admin", "operator", "viewer", "ptz"} {
		if q.user.InGroup(g) {
			groups = append(groups, g)
		}
	}
	q.text(http.StatusOK, q.user.Name+"\n"+strings.Join(groups, " ")+"\n")
}
