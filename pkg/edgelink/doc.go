// Package edgelink implements the agent link: the one connection an edge agent keeps
// to the relay, over which everything between them travels.
//
// The agent dials the relay (it never has to be reachable itself) and opens a
// WebSocket over mutual TLS. The WebSocket is used as a byte stream (a net.Conn) and
// multiplexed into streams with yamux. Each side runs a plain HTTP/1.1 server on the
// streams the other side opens:
//
//	relay --stream--> agent   EdgeLink, WHEP signaling, task dispatch   (AgentConfig.Handler)
//	agent --stream--> relay   reports, events, inventory                (RelayConfig.Handler)
//
// so every hop is an http.Handler or an httputil.ReverseProxy, and large bodies stream
// under yamux's per-stream flow control instead of being buffered. PROTOCOL.md beside
// this file is the wire contract: handshake, subprotocol, versioning, keepalive.
//
// The relay side is [Relay]. It does not listen: [Relay.UpgradeHandler] is mounted on
// the relay's HTTPS server and hands each authenticated WebSocket to [Relay.Accept],
// which tests call directly with a net.Pipe or a TCP connection. [Relay.Dial] and
// [Relay.Transport] reach an agent (URL host "<agentID>.agent", see [AgentHost]);
// [Relay.Status], [Relay.Agents] and RelayConfig.OnEvent tell who is connected.
//
// The agent side is [Agent]: [Agent.Run] keeps the link up, reconnecting with jittered
// exponential backoff, and [Agent.Client] sends requests to the relay, failing at once
// with [ErrNotConnected] while the link is down.
//
// Liveness: the agent pings every 10 s (DefaultKeepAliveInterval) and gives up on a
// relay that does not answer within 10 s (DefaultWriteTimeout); the relay declares an
// agent offline after 30 s (DefaultIdleTimeout) without a single byte from it, or at
// once when the connection closes.
package edgelink
