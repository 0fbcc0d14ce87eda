// Package discovery finds Axis cameras on the local network for the edge agent
// (capability F3) and keeps track of them.
//
// A Watcher browses mDNS/DNS-SD for the service type Axis devices announce
// (_axis-video._tcp, vapix.md section 16), in repeated sweeps, each a fresh browse: the
// serial number comes from the TXT key macaddress= (or, failing that, from an instance
// name such as "AXIS M1065-LW - ACCC12345678"), the address from the first IPv4 address
// and the announced port. Devices can also be added by address (Add) or found by probing
// an address range (Scan).
//
// A device is known by its serial number, which on Axis devices is the MAC address: the
// same camera found again at a new address is one device that "changed", never two. Each
// device is enriched with what it tells anyone without credentials
// (basicdeviceinfo.cgi getAllUnrestrictedProperties, through pkg/vapix): model, product
// name and type, hardware ID, firmware version, brand. A device not seen for a while (by
// mDNS, or for devices added by hand or by scan by the probes that follow) is probed over
// HTTP and dropped, "gone", when it does not answer; if it comes back it "appears" again.
//
// Every goroutine a Watcher starts belongs to Run (or, for Scan, to the call) and has
// ended when it returns (zeroconf's own goroutines of a browse end with each sweep). mDNS goes out only on the interfaces configured, loopback by
// default; tests run it inside a network namespace of their own.
package discovery
