// Package osr is object store recording: media segments encrypted at the edge with
// AES-128-GCM under a data key per chunk, the data key wrapped with the organization's
// RSA-OAEP public key, and pushed over HTTP(S) to object storage with temporary
// credentials.
package osr
