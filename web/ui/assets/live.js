// The live page: a device's camera over WebRTC, signaled with WHEP (RFC 9725) through the
// relay's POST /devices/{serial}/whep; the video comes from the device's agent directly
// (or relayed by TURN), never through the relay's HTTP.
import { state, h, link, orgPath, showError, ApiError } from "./lib.js";

// iceServers are the STUN/TURN servers the peer connection may use.
export async function iceServers() {
  return [];
}

// connectionType names how the selected candidate pair connects: "direct" (host or
// server-reflexive candidates on both ends) or "relayed" (TURN on either end).
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
  const relayed = local.candidateType === "relay" || remote.candidateType === "relay";
  return { kind: relayed ? "relayed" : "direct", detail: `${local.candidateType} ↔ ${remote.candidateType}, ${local.protocol || remote.protocol || "udp"}` };
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
  main.replaceChildren(
    h("p", {}, link("/ui/devices/" + encodeURIComponent(serial), "← " + serial)),
    h("h1", {}, `Live: ${serial}`),
    h("div", { class: "card live-card" }, video,
      h("div", { class: "live-bar" }, stopBtn, startBtn,
        h("span", {}, "Connection: ", conn), status)));

  let pc = null, session = null, timer = null;

  async function stop(quiet) {
    clearInterval(timer); timer = null;
    const loc = session, old = pc;
    session = null; pc = null;
    video.srcObject = null;
    conn.textContent = "—"; conn.dataset.conn = "";
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
    showError(null);
    status.textContent = "Connecting…";
    const p = new RTCPeerConnection({ iceServers: await iceServers() });
    pc = p;
    p.addTransceiver("video", { direction: "recvonly" });
    p.addTransceiver("audio", { direction: "recvonly" });
    const stream = new MediaStream();
    p.ontrack = (e) => { stream.addTrack(e.track); video.srcObject = stream; };
    p.onconnectionstatechange = () => {
      if (p !== pc) return;
      if (p.connectionState === "connected") { status.textContent = "Playing."; showType(); }
      if (p.connectionState === "failed") { status.textContent = "The connection failed."; showError(new Error("The video connection failed: no network path to the camera's agent.")); }
      if (p.connectionState === "disconnected") status.textContent = "Reconnecting…";
    };
    try {
      await p.setLocalDescription(await p.createOffer());
      await gathered(p);
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
    if (!pc) return;
    const t = await connectionType(pc);
    if (!t) return;
    conn.textContent = `${t.kind} (${t.detail})`;
    conn.dataset.conn = t.kind;
  }

  stopBtn.addEventListener("click", () => stop(false));
  startBtn.addEventListener("click", () => start());
  // Leaving the page (the router replaces main) ends the session.
  const obs = new MutationObserver(() => {
    if (!document.body.contains(video)) { obs.disconnect(); stop(true); }
  });
  obs.observe(main, { childList: true });
  start();
}

// gathered waits for ICE gathering to complete (WHEP sends one offer with every candidate),
// at most 2 s: a slow STUN server must not hold the start.
function gathered(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(done, 2000);
    function done() { clearTimeout(t); pc.removeEventListener("icegatheringstatechange", check); resolve(); }
    function check() { if (pc.iceGatheringState === "complete") done(); }
    pc.addEventListener("icegatheringstatechange", check);
  });
}
