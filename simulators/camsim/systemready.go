package camsim

import "strconv"

// systemready.cgi (vapix.md section 7): no authentication, every value a string.
func (c *Camera) handleSystemReady(q *request) {
	q.serveJSON(apiSystemReady, map[string]func(jsonRequest){
		"systemready": func(req jsonRequest) {
			var p struct {
				Timeout *int `json:"timeout"`
			}
			if !q.params(apiSystemReady, req, &p) {
				return
			}
			// A booted simulator is ready at once, so the timeout never needs waiting.
			bootID, uptime := c.bootInfo()
			q.jsonData(apiSystemReady, req, map[string]string{
				"systemready":      "yes",
				"needsetup":        "no",
				"uptime":           strconv.Itoa(int(uptime.Seconds())),
				"bootid":           bootID,
				"passphrasepolicy": "none",
			})
		},
	})
}
