// Package camsim simulates a fleet of Axis network cameras on one host, faithfully enough
// that what works against camsim works against a real camera.
//
// Each Camera has its own HTTP listener serving VAPIX (HTTP Digest authentication as Axis
// devices do it, the CGI and JSON APIs the edge agent uses, with the real paths, bodies and
// error forms of ../../shared/reference/vapix.md) and its own RTSP listener at
// /axis-media/media.amp serving live video (the VAPIX stream arguments, H.264 or H.265 encoded
// once per variant and shared by every camera, each frame stamped with its capture time and
// sequence number), audio, ONVIF event metadata and an audio back channel, and SD card
// recordings at media.amp?recordingid= (storage.go). It has its own HTTPS listener with a
// self-signed certificate (https.go) and can be found over mDNS and SSDP (discovery.go).
// A camera's identity (serial number = MAC address,
// model, owner authentication key) is derived from its index in the fleet, so a restarted
// fleet has the same cameras, and its mutable state (firmware, parameters, users, apps,
// overlays, PTZ position) is persisted as one JSON file per camera in the state directory.
//
// A Fleet also injects faults (latency, errors, dropped connections, slow or failing
// firmware upgrades), emits events (motion, tampering, digital inputs, day/night, VMD4
// profiles), and counts what tests assert on (firmware uploads, RTSP sessions, requests
// per endpoint). Those are reached through Go methods and
// through the control API (see control.go), which is served apart from the VAPIX paths.
package camsim
