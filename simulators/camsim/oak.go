package camsim

// oak.cgi (vapix.md section 17): the owner authentication key, admin only. A camera
// without internet access answers error 1100 (fault OAKUnavailable).
func (c *Camera) handleOAK(q *request) {
	q.serveJSON(apiOAK, map[string]func(jsonRequest){
		"getOAK": func(req jsonRequest) {
			if c.faults.get().OAKUnavailable {
				q.jsonError(apiOAK, req, 1100, "Internal error")
				return
			}
			q.jsonData(apiOAK, req, map[string]string{"oak": c.id.OAK})
		},
	})
}
