// The live page: a device's camera over WebRTC, signaled with WHEP (RFC 9725) through the
// relay's POST /devices/{serial}/whep; the video comes from the device's agent directly
// (or relayed by TURN), never through the relay's HTTP.
import { state, h, api, link, orgPath, showError, ApiError, atLeastOperator } from "./lib.js";

// paths are the ways through the network a person may force (the URL's ?via=), to find
// out which one a network lets through: any (the browser picks, direct first) or one
// transport of TURN alone. keep picks that transport's URLs from the relay's list.
const paths = {
  "": { label: "Any (direct first)" },
  "turn-udp": { label: "TURN over UDP", name: "UDP", keep: (u) => u.startsWith("turn:") && !/[?&]transport=tcp/i.test(u) },
  "turn-tcp": { label: "TURN over TCP", name: "TCP", keep: (u) => u.startsWith("turn:") && /[?&]transport=tcp/i.test(u) },
  "turn-tls": { label: "TURN over TLS", name: "TLS", keep: (u) => u.startsWith("turns:") },
};

// iceConfig is the peer connection's ICE configuration: the relay's STUN and TURN servers,
// asked for each connection (their credentials expire). With a forced path (via, a key
// of paths) only that transport's TURN URLs remain and every candidate is relayed.
export async function iceConfig(via) {
  const list = await api("GET", orgPath("/ice-servers"));
  const servers = list.iceServers || [];
  const path = paths[via];
  if (!path || !path.keep) return { iceServers: servers };
  const kept = servers
    .map((s) => ({ ...s, urls: [].concat(s.urls).filter(path.keep) }))
    .filter((s) => s.urls.length > 0);
  if (kept.length === 0) throw new Error(`This relay offers no ${path.label}: choose another path.`);
  return { iceServers: kept, iceTransportPolicy: "relay" };
}

// connectionType names how the selected candidate pair connects: "direct" (host or
// server-reflexive candidates on both ends) or "relayed" (TURN on either end), with the
// transport between this browser and its TURN server (the local candidate's
// relayProtocol).
async function connectionType(pc) {
  const stats = await pc.getStats();
  let pair = null;
  stats.forEach((s) => {
    if (s.type === "transport" && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId);
  });
  if (!pair) stats.forEach((s) => { if (!pair && s.type === "candidate-pair" && s.nominated && s.state === "succeeded") pair = s; });
  if (!pair) return null;
  const local = stats.get(pair.localCandidateId), remote = stats.get(pair.remoteCandidateId);
  if (!local || !remote) return null;
  const ends = `${local.candidateType} ↔ ${remote.candidateType}`;
  if (local.candidateType === "relay") {
    const proto = (local.relayProtocol || "").toUpperCase();
    return { kind: "relayed", relay: local.relayProtocol || "", detail: `TURN over ${proto || "?"}: ${ends}` };
  }
  if (remote.candidateType === "relay") return { kind: "relayed", relay: "", detail: `TURN at the agent: ${ends}` };
  return { kind: "direct", relay: "", detail: `${ends}, ${local.protocol || remote.protocol || "udp"}` };
}

// whepError turns a failed WHEP answer into an ApiError with the problem's title and detail.
async function whepError(res) {
  let body = null;
  try { body = await res.json(); } catch { /* not JSON */ }
  return new ApiError(res.status, body);
}

export async function livePage(main, serial) {
  const video = h("video", { class: "live", autoplay: true, muted: true, playsinline: true, "aria-label": `Live video of ${serial}` });
  video.muted = true; // autoplay needs it; the controls can unmute
  video.controls = true;
  const status = h("p", { class: "muted", role: "status", "aria-live": "polite" }, "Connecting…");
  const conn = h("span", { class: "conn", "data-conn": "" }, "—");
  const stopBtn = h("button", { type: "button" }, "Stop");
  const startBtn = h("button", { type: "button", class: "plain" }, "Restart");
  let via = new URLSearchParams(location.search).get("via") || "";
  if (!(via in paths)) via = "";
  const viaSel = h("select", { name: "via" },
    ...Object.entries(paths).map(([k, p]) => h("option", { value: k }, p.label)));
  viaSel.value = via;
  const ptz = atLeastOperator() ? ptzControls() : null;
  main.replaceChildren(
    h("p", {}, link("/ui/devices/" + encodeURIComponent(serial), "← " + serial)),
    h("h1", {}, `Live: ${serial}`),
    h("div", { class: "card live-card" }, video,
      h("div", { class: "live-bar" }, stopBtn, startBtn,
        h("label", { class: "check" }, "Path", viaSel),
        h("span", {}, "Connection: ", conn), status),
      ptz && ptz.el));

  let pc = null, session = null, timer = null;
  let starts = 0; // counts starts and stops: a start that a later one replaced gives up

  async function stop(quiet) {
    starts++;
    clearInterval(timer); timer = null;
    const loc = session, old = pc;
    session = null; pc = null;
    if (ptz) ptz.attach(null);
    video.srcObject = null;
    conn.textContent = "—"; conn.dataset.conn = ""; conn.dataset.relay = "";
    if (!quiet) status.textContent = "Stopped.";
    // DELETE before closing: the agent also ends a session whose peer connection closed,
    // and a DELETE after that would find nothing.
    if (loc) {
      try {
        await fetch(loc, { method: "DELETE", headers: { Authorization: "Bearer " + state.token } });
      } catch { /* gone already */ }
    }
    if (old) old.close();
  }

  async function start() {
    await stop(true);
    const gen = ++starts;
    showError(null);
    status.textContent = "Connecting…";
    const path = paths[via];
    let config;
    try {
      config = await iceConfig(via);
    } catch (err) {
      if (gen !== starts) return;
      status.textContent = "Not playing.";
      showError(err);
      return;
    }
    if (gen !== starts) return; // stopped or started again meanwhile
    const p = new RTCPeerConnection(config);
    pc = p;
    p.addTransceiver("video", { direction: "recvonly" });
    p.addTransceiver("audio", { direction: "recvonly" });
    if (ptz) ptz.attach(p.createDataChannel("ptz"));
    const stream = new MediaStream();
    p.ontrack = (e) => { stream.addTrack(e.track); video.srcObject = stream; };
    p.onconnectionstatechange = () => {
      if (p !== pc) return;
      if (p.connectionState === "connected") { status.textContent = "Playing."; showType(); }
      if (p.connectionState === "failed") { status.textContent = "The connection failed."; showError(new Error("The video connection failed: no network path to the camera's agent.")); }
      if (p.connectionState === "disconnected") status.textContent = "Reconnecting…";
    };
    // Forced through TURN, only its candidates can connect: gathering may take longer,
    // and without a relayed candidate the page says which server failed (the point of
    // forcing a path).
    const failures = [];
    p.onicecandidateerror = (e) => failures.push(`${e.url}: ${e.errorCode} ${e.errorText}`);
    try {
      await p.setLocalDescription(await p.createOffer());
      await gathered(p, path.keep ? 10000 : 2000);
      if (p !== pc) return; // stopped meanwhile
      if (path.keep && !/ typ relay /.test(p.localDescription.sdp)) {
        throw new Error(`No relayed address from the relay's ${path.label}` + (failures.length ? ` (${failures.join("; ")})` : "") + ": that path is closed from this network.");
      }
      const res = await fetch(orgPath(`/devices/${encodeURIComponent(serial)}/whep`), {
        method: "POST",
        headers: { Authorization: "Bearer " + state.token, "Content-Type": "application/sdp" },
        body: p.localDescription.sdp,
      });
      if (!res.ok) throw await whepError(res);
      session = res.headers.get("Location");
      const answer = await res.text();
      if (p !== pc) return; // stopped meanwhile
      await p.setRemoteDescription({ type: "answer", sdp: answer });
      timer = setInterval(showType, 2000);
    } catch (err) {
      if (p !== pc) return;
      status.textContent = "Not playing.";
      showError(err);
      await stop(true);
    }
  }

  async function showType() {
    const p = pc;
    if (!p) return;
    const t = await connectionType(p);
    if (!t || p !== pc) return; // none yet, or the connection was replaced meanwhile
    conn.textContent = `${t.kind} (${t.detail})`;
    conn.dataset.conn = t.kind;
    conn.dataset.relay = t.relay;
  }

  stopBtn.addEventListener("click", () => stop(false));
  startBtn.addEventListener("click", () => start());
  // Choosing a path puts it in the URL (a bookmark or a link to someone keeps it) and
  // connects again that way.
  viaSel.addEventListener("change", () => {
    via = viaSel.value;
    const q = new URLSearchParams(location.search);
    if (via) q.set("via", via); else q.delete("via");
    const qs = q.toString();
    history.replaceState(null, "", location.pathname + (qs ? "?" + qs : ""));
    start();
  });
  // Leaving the page (the router replaces main) ends the session.
  const obs = new MutationObserver(() => {
    if (!document.body.contains(video)) { obs.disconnect(); stop(true); }
  });
  obs.observe(main, { childList: true });
  start();
}

// gathered waits for ICE gathering to complete (WHEP sends one offer with every candidate),
// at most ms: a slow STUN server must not hold the start.
function gathered(pc, ms) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() { clearTimeout(t); pc.removeEventListener("icegatheringstatechange", check); resolve(); }
    function check() { if (pc.iceGatheringState === "complete") done(); }
    pc.addEventListener("icegatheringstatechange", check);
  });
}

// ---- PTZ controls -------------------------------------------------------------------
// Operators and up steer a PTZ camera over the session's "ptz" data channel: holding an
// arrow or zoom button (pointer, or Enter/Space, or the arrow and +/- keys on the group)
// moves continuously, releasing it stops; Stop stops; a preset is gone to by name. Each
// command is answered on the channel, in order: {"ok":true} or {"ok":false,"error":...}.
// The agent refuses viewers (the page hides the controls from them) and cameras without
// PTZ say so in the status line.

const ptzMoves = {
  up: { pan: 0, tilt: 1, zoom: 0, label: "Tilt up", text: "▲", key: "ArrowUp" },
  left: { pan: -1, tilt: 0, zoom: 0, label: "Pan left", text: "◀", key: "ArrowLeft" },
  right: { pan: 1, tilt: 0, zoom: 0, label: "Pan right", text: "▶", key: "ArrowRight" },
  down: { pan: 0, tilt: -1, zoom: 0, label: "Tilt down", text: "▼", key: "ArrowDown" },
  in: { pan: 0, tilt: 0, zoom: 1, label: "Zoom in", text: "+", key: "+" },
  out: { pan: 0, tilt: 0, zoom: -1, label: "Zoom out", text: "−", key: "-" },
};
const ptzSpeed = 0.5; // of the camera's full speed: steerable by hand

function ptzControls() {
  let dc = null, moving = null;
  const say = h("span", { class: "muted", role: "status", "aria-live": "polite" }, "PTZ: waiting for the session.");
  const buttons = [];

  function send(msg) {
    if (!dc || dc.readyState !== "open") { say.textContent = "PTZ: not connected."; return; }
    dc.send(JSON.stringify(msg));
  }
  function move(name) {
    if (moving === name) return;
    moving = name;
    const m = ptzMoves[name];
    send({ op: "move", pan: m.pan * ptzSpeed, tilt: m.tilt * ptzSpeed, zoom: m.zoom * ptzSpeed });
  }
  function stop() {
    moving = null;
    send({ op: "stop" });
  }
  function halt() { if (moving) stop(); }

  for (const [name, m] of Object.entries(ptzMoves)) {
    const b = h("button", { type: "button", class: "plain", "aria-label": m.label, title: `${m.label} (hold)`, disabled: true }, m.text);
    b.addEventListener("pointerdown", (e) => {
      e.preventDefault(); b.focus(); move(name);
      try { b.setPointerCapture(e.pointerId); } catch { /* no such pointer (synthetic event) */ }
    });
    for (const ev of ["pointerup", "pointercancel", "lostpointercapture", "blur"]) b.addEventListener(ev, halt);
    b.addEventListener("keydown", (e) => { if ((e.key === "Enter" || e.key === " ") && !e.repeat) { e.preventDefault(); move(name); } });
    b.addEventListener("keyup", (e) => { if (e.key === "Enter" || e.key === " ") halt(); });
    buttons.push(b);
  }
  const stopBtn = h("button", { type: "button", disabled: true, onclick: stop }, "Stop PTZ");
  const preset = h("input", { type: "text", maxlength: 64, placeholder: "Preset name", "aria-label": "Preset name", disabled: true });
  const goBtn = h("button", { type: "submit", class: "plain", disabled: true }, "Go to preset");
  const presetForm = h("form", { class: "live-bar" }, preset, goBtn);
  presetForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const name = preset.value.trim();
    if (name) send({ op: "preset", name });
  });
  buttons.push(stopBtn, preset, goBtn);

  const el = h("div", { class: "live-bar", role: "group", "aria-label": "PTZ: hold a button, or focus here and hold the arrow keys, + or −" },
    h("strong", {}, "PTZ"), buttons.slice(0, 6), stopBtn, presetForm, say);
  // The arrow keys and +/- steer while the group has focus (but not while typing a name).
  el.addEventListener("keydown", (e) => {
    if (e.target === preset || e.repeat) return;
    const name = Object.keys(ptzMoves).find((n) => ptzMoves[n].key === e.key || (n === "in" && e.key === "="));
    if (name) { e.preventDefault(); move(name); }
  });
  el.addEventListener("keyup", (e) => {
    if (e.target === preset) return;
    if (Object.values(ptzMoves).some((m) => m.key === e.key) || e.key === "=") halt();
  });

  // attach binds the controls to a session's channel (null: no session).
  function attach(channel) {
    if (dc) { dc.onopen = dc.onclose = dc.onmessage = null; }
    dc = channel; moving = null;
    const enable = (on) => { for (const b of buttons) b.disabled = !on; };
    enable(false);
    if (!dc) { say.textContent = "PTZ: no session."; return; }
    say.textContent = "PTZ: connecting…";
    dc.onopen = () => { enable(true); say.textContent = "PTZ: ready."; };
    dc.onclose = () => { enable(false); say.textContent = "PTZ: session ended."; };
    dc.onmessage = (e) => {
      let a = null;
      try { a = JSON.parse(e.data); } catch { /* not JSON */ }
      say.textContent = a && a.ok ? "PTZ: ok." : "PTZ: " + (a && a.error || "unexpected answer");
    };
  }
  return { el, attach };
}
