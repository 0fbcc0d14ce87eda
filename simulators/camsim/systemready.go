package camsim

import "strconv"

// systemready.cgi (vapix.md section 7): no authentication, every value a string.
func (c *Camera) handleSystemReady(q *request) {
	api := apiSystemReady
	req, ok := q.readJSON(api)
	if !ok {
		return
	}
	switch req.Method {
	case "getSupportedVersions":
		q.supportedVersions(api, req)
	case "systemready":
		var p struct {
			Timeout *int `json:"timeout"`
		}
		if !q.params(api, req, &p) {
			return
		}
		// A booted simulator is ready at once, so the timeout never needs to be waited.
		bootID, uptime := c.bootInfo()
		q.jsonData(api, req, map[string]string{
			"systemready":      "yes",
			"needsetup":        "no",
			"uptime":           strconv.Itoa(int(uptime.Seconds())),
			"bootid":           bootID,
			"passphrasepolicy": "none",
		})
	default:
		q.jsonError(api, req, api.badMethod, "Invalid JSON input")
	}
}
