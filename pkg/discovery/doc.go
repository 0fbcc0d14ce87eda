// Package discovery finds cameras on the local network: mDNS/DNS-SD browsing for the
// service types Axis devices announce, and manual addition by address or range, enriched
// with what each device reports about itself.
package discovery
