package camsim

import "net/http"

// Endpoints being written in their own files; each answers 501 until then.
func (c *Camera) handleFirmwareManagement(q *request) { q.text(http.StatusNotImplemented, "") }
func (c *Camera) handlePwdgrp(q *request)             { q.text(http.StatusNotImplemented, "") }
func (c *Camera) handleUserGroup(q *request)          { q.text(http.StatusNotImplemented, "") }
