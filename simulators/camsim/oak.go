package camsim

// oak.cgi (vapix.md section 17): the owner authentication key, admin only. A camera
// without internet access answers error 1100 (fault OAKUnavailable).
func (c *Camera) handleOAK(q *request) {
	api := apiOAK
	req, ok := q.readJSON(api)
	if !ok {
		return
	}
	switch req.Method {
	case "getSupportedVersions":
		q.supportedVersions(api, req)
	case "getOAK":
		if c.faults.get().OAKUnavailable {
			q.jsonError(api, req, 1100, "Internal error")
			return
		}
		q.jsonData(api, req, map[string]string{"oak": c.id.OAK})
	default:
		q.jsonError(api, req, api.badMethod, "Method not supported")
	}
}
