package camsim

import "net/http"

// Endpoints being written in their own files; each answers 501 until then.
func (c *Camera) handleWSSession(q *request)   { q.text(http.StatusNotImplemented, "") }
func (c *Camera) handleEventStream(q *request) { q.text(http.StatusNotImplemented, "") }
