package camsim

import "net/http"

// Endpoints being written in their own files; each answers 501 until then.
func (c *Camera) handleBasicDeviceInfo(q *request)    { q.text(http.StatusNotImplemented, "") }
func (c *Camera) handleAPIDiscovery(q *request)       { q.text(http.StatusNotImplemented, "") }
func (c *Camera) handleParam(q *request)              { q.text(http.StatusNotImplemented, "") }
func (c *Camera) handleFirmwareManagement(q *request) { q.text(http.StatusNotImplemented, "") }
func (c *Camera) handleSystemReady(q *request)        { q.text(http.StatusNotImplemented, "") }
func (c *Camera) handlePwdgrp(q *request)             { q.text(http.StatusNotImplemented, "") }
func (c *Camera) handleUserGroup(q *request)          { q.text(http.StatusNotImplemented, "") }
func (c *Camera) handleOAK(q *request)                { q.text(http.StatusNotImplemented, "") }
func (c *Camera) handleRestart(q *request)            { q.text(http.StatusNotImplemented, "") }
