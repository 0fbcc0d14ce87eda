package camsim

import "net/http"

// restart.cgi (vapix.md section 14): answers, then the camera reboots.
func (c *Camera) handleRestart(q *request) {
	q.text(http.StatusOK, "Restarting...\n")
	c.Reboot()
}
