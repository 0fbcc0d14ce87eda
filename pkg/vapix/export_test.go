package vapix

import "time"

// SetEventKeepalive sets how often c's event streams ping, and so how soon one whose
// device stopped answering ends, so that tests need not wait 35 s.
func SetEventKeepalive(c *Client, d time.Duration) { c.keepalive = d }
