// The camcloud console: plain ES module, no build step. It uses only the public /api/v1,
// same-origin, with the bearer token in sessionStorage (never a cookie).

const state = {
  token: sessionStorage.getItem("token") || "",
  user: sessionStorage.getItem("user") || "",
  orgs: [],
  org: null,
  devices: null, // cache of the device list for the current organization
};

// h makes an element: h("a", {href: "/x"}, "text", child). Text is always text, never HTML.
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v == null) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "value") el.value = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

const $ = (id) => document.getElementById(id);

// ApiError carries a problem+json answer (or an OAuth error) for showing.
class ApiError extends Error {
  constructor(status, body) {
    const title = body && (body.title || body.error) || `HTTP ${status}`;
    const detail = body && (body.detail || body.error_description) || "";
    super(detail ? `${title}: ${detail}` : title);
    this.status = status; this.body = body || {}; this.type = this.body.type || "";
  }
}

async function api(method, path, { body, form, raw } = {}) {
  const headers = {};
  if (state.token) headers.Authorization = "Bearer " + state.token;
  let payload;
  if (form) { headers["Content-Type"] = "application/x-www-form-urlencoded"; payload = new URLSearchParams(form); }
  else if (body !== undefined) { headers["Content-Type"] = "application/json"; payload = JSON.stringify(body); }
  const res = await fetch(path, { method, headers, body: payload });
  if (!res.ok) {
    let b = null;
    try { b = await res.json(); } catch { /* not JSON */ }
    if (res.status === 401 && path !== "/api/v1/auth/token") { signedOut(); }
    throw new ApiError(res.status, b);
  }
  if (raw) return res;
  if (res.status === 204 || res.headers.get("Content-Length") === "0") return null;
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

function showError(err) {
  const box = $("error");
  if (!err) { box.hidden = true; box.textContent = ""; return; }
  box.textContent = err.message || String(err);
  box.hidden = false;
}

function go(path, replace) {
  if (replace) history.replaceState(null, "", path); else history.pushState(null, "", path);
  render();
}

function link(path, text, attrs) {
  return h("a", { href: path, ...attrs, onclick: (e) => {
    if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
    e.preventDefault(); go(path);
  } }, text);
}

function signedOut() {
  state.token = ""; state.orgs = []; state.org = null; state.devices = null;
  sessionStorage.removeItem("token");
}

async function signOut() {
  try { await api("POST", "/api/v1/auth/revoke"); } catch { /* gone already */ }
  signedOut();
  go("/ui/signin");
}

const isAdmin = () => state.org && state.org.role === "admin";
const atLeastOperator = () => state.org && (state.org.role === "admin" || state.org.role === "operator");
const orgPath = (p) => `/api/v1/orgs/${encodeURIComponent(state.org.id)}${p}`;

function chrome(active) {
  const nav = $("nav");
  nav.replaceChildren();
  nav.hidden = !state.token;
  $("who").replaceChildren();
  if (!state.token) return;
  const items = [["/ui/devices", "Devices"]];
  if (atLeastOperator()) items.push(["/ui/edgehosts", "Edge hosts"]);
  items.push(["/ui/security", "Security"]);
  for (const [p, t] of items) nav.append(link(p, t, { "aria-current": active === p ? "page" : false }));
  const who = $("who");
  if (state.orgs.length > 1) {
    const sel = h("select", { "aria-label": "Organization", onchange: (e) => {
      state.org = state.orgs.find((o) => o.id === e.target.value); state.devices = null;
      sessionStorage.setItem("org", state.org.id); go("/ui/devices");
    } }, state.orgs.map((o) => h("option", { value: o.id, selected: o.id === state.org.id }, o.name)));
    who.append(sel);
  } else if (state.org) who.append(h("span", {}, state.org.name));
  if (state.org) who.append(h("span", { class: "muted" }, `${state.user} (${state.org.role})`));
  who.append(h("button", { class: "plain", onclick: signOut }, "Sign out"));
}

async function loadOrgs() {
  const list = await api("GET", "/api/v1/orgs");
  state.orgs = list.items;
  const saved = sessionStorage.getItem("org");
  state.org = state.orgs.find((o) => o.id === saved) || state.orgs[0] || null;
}

// ---- pages ----

function signInPage(main) {
  let needOTP = false;
  const email = h("input", { type: "email", name: "username", autocomplete: "username", required: true });
  const pw = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
  const otp = h("input", { name: "otp", inputmode: "numeric", autocomplete: "one-time-code", "aria-describedby": "otp-help" });
  const otpRow = h("label", { hidden: true }, "Verification code", otp,
    h("span", { id: "otp-help", class: "muted" }, "From your authenticator app, or a recovery code"));
  const submit = h("button", { type: "submit" }, "Sign in");
  const form = h("form", { class: "stack", "aria-label": "Sign in", onsubmit: async (e) => {
    e.preventDefault(); showError(null); submit.disabled = true;
    const f = { grant_type: "password", username: email.value.trim(), password: pw.value };
    if (needOTP && otp.value.trim()) f.otp = otp.value.trim();
    try {
      const tok = await api("POST", "/api/v1/auth/token", { form: f });
      state.token = tok.access_token; state.user = f.username;
      sessionStorage.setItem("token", state.token); sessionStorage.setItem("user", state.user);
      await loadOrgs();
      const next = new URLSearchParams(location.search).get("next");
      go(next && next.startsWith("/ui/") ? next : "/ui/devices", true);
    } catch (err) {
      if (err.type.endsWith("/otp-required")) {
        needOTP = true; otpRow.hidden = false; otp.focus();
      } else showError(err);
    } finally { submit.disabled = false; }
  } },
  h("label", {}, "E-mail", email), h("label", {}, "Password", pw), otpRow, submit);
  main.replaceChildren(h("h1", {}, "Sign in"), form);
  email.focus();
}

const SORTS = { serial: "Serial", name: "Name", model: "Model", status: "Status", mode: "Mode", edgeHost: "Edge host", firmwareVersion: "Firmware" };
const PAGE = 100;

// loadDevices reads every device of the organization, a page of 1,000 at a time, and
// calls onProgress with what it has after each page but the last, so that the list is
// usable before the last page arrives.
async function loadDevices(onProgress) {
  if (state.devices) return state.devices;
  const all = [];
  let cursor = "";
  for (let i = 0; i < 1000; i++) { // bounded: 1,000 pages of 1,000
    const page = await api("GET", orgPath(`/devices?limit=1000${cursor ? "&cursor=" + encodeURIComponent(cursor) : ""}`));
    all.push(...page.items);
    if (!page.nextCursor) break;
    cursor = page.nextCursor;
    onProgress(all);
  }
  state.devices = all;
  return all;
}

const FILTERS = [["status", "Status"], ["mode", "Mode"], ["model", "Model"], ["edgeHost", "Edge host"]];

async function devicesPage(main) {
  const q = new URLSearchParams(location.search);
  let devices = state.devices || [];
  let loading = !state.devices;
  const selects = {};
  const sel = (name, label) => {
    selects[name] = h("select", { name, onchange: apply }, h("option", { value: "" }, "Any"));
    return h("label", {}, label, selects[name]);
  };
  const search = h("input", { type: "search", name: "q", value: q.get("q") || "", placeholder: "serial, name, address", oninput: apply });
  const online = h("select", { name: "online", onchange: apply }, h("option", { value: "" }, "Any"),
    ["yes", "no"].map((v) => h("option", { value: v, selected: q.get("online") === v }, v)));
  const filters = h("form", { class: "filters", role: "search", "aria-label": "Filter devices", onsubmit: (e) => e.preventDefault() },
    h("label", {}, "Search", search), FILTERS.map(([k, t]) => sel(k, t)), h("label", {}, "Online", online));
  const count = h("p", { class: "muted", "aria-live": "polite" });
  const tbody = h("tbody");
  const head = h("tr", {}, Object.entries(SORTS).map(([k, t]) => {
    const cur = q.get("sort") || "serial";
    const dir = cur === k ? (q.get("dir") === "desc" ? "descending" : "ascending") : false;
    return h("th", { scope: "col", "aria-sort": dir || "none" }, h("button", { type: "button", onclick: () => {
      const p = new URLSearchParams(location.search);
      p.set("dir", p.get("sort") === k && p.get("dir") !== "desc" ? "desc" : "asc"); p.set("sort", k); p.delete("page");
      go("/ui/devices?" + p);
    } }, t + (dir === "ascending" ? " ▲" : dir === "descending" ? " ▼" : "")));
  }), h("th", { scope: "col" }, "Online"));
  const pager = h("div", { class: "pager" });
  main.replaceChildren(h("h1", {}, "Devices"), filters, count,
    h("div", { class: "table-wrap" }, h("table", { "aria-label": "Devices" }, h("thead", {}, head), tbody)), pager);

  // The filters offer the values the devices have.
  function fillSelects() {
    for (const [k] of FILTERS) {
      const cur = new URLSearchParams(location.search).get(k);
      const values = [...new Set(devices.map((d) => d[k]).filter(Boolean))].sort();
      selects[k].replaceChildren(h("option", { value: "" }, "Any"), values.map((v) => h("option", { value: v, selected: cur === v }, v)));
    }
  }

  function apply() {
    const p = new URLSearchParams(new FormData(filters));
    for (const [k, v] of [...p]) if (!v) p.delete(k);
    const cur = new URLSearchParams(location.search);
    for (const k of ["sort", "dir"]) if (cur.get(k)) p.set(k, cur.get(k));
    if (!loading) for (const [k] of FILTERS) if (cur.get(k) && !p.get(k)) p.set(k, cur.get(k));
    history.replaceState(null, "", "/ui/devices" + (p.size ? "?" + p : ""));
    draw();
  }

  // Sorting is done once per order and kept; filtering keeps the order. Plain string
  // comparison, not localeCompare: it is many times faster over thousands of rows.
  let sorted = null, sortedBy = "";
  const cmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
  const haystack = new WeakMap();
  const textOf = (d) => {
    let s = haystack.get(d);
    if (s === undefined) { s = [d.serial, d.name, d.address, d.model].filter(Boolean).join(" ").toLowerCase(); haystack.set(d, s); }
    return s;
  };

  function draw() {
    const p = new URLSearchParams(location.search);
    const text = (p.get("q") || "").toLowerCase();
    const want = (k, v) => !p.get(k) || p.get(k) === v;
    const key = p.get("sort") || "serial", sign = p.get("dir") === "desc" ? -1 : 1;
    if (sortedBy !== `${key}${sign}${devices.length}`) {
      sorted = devices.slice().sort((a, b) => sign * cmp(String(a[key] || ""), String(b[key] || "")) || cmp(a.serial, b.serial));
      sortedBy = `${key}${sign}${devices.length}`;
    }
    const rows = sorted.filter((d) => want("status", d.status) && want("mode", d.mode) && want("model", d.model) &&
      want("edgeHost", d.edgeHost) && (!p.get("online") || (p.get("online") === "yes") === d.connected) &&
      (!text || textOf(d).includes(text)));
    const pages = Math.max(1, Math.ceil(rows.length / PAGE));
    const page = Math.min(Math.max(1, Number(p.get("page")) || 1), pages);
    count.textContent = `${rows.length} of ${devices.length} devices` + (loading ? " (loading…)" : "");
    // Only one page of rows is in the document, so thousands of devices stay fast.
    tbody.replaceChildren(...rows.slice((page - 1) * PAGE, page * PAGE).map((d) => h("tr", {},
      h("td", {}, link("/ui/devices/" + encodeURIComponent(d.serial), d.serial)), h("td", {}, d.name || ""),
      h("td", {}, d.model || ""), h("td", {}, d.status), h("td", {}, d.mode || ""), h("td", {}, d.edgeHost || ""),
      h("td", {}, d.firmwareVersion || ""),
      h("td", { class: d.connected ? "ok" : "muted" }, d.connected ? "online" : "offline"))));
    const to = (n) => { const x = new URLSearchParams(location.search); x.set("page", n); return "/ui/devices?" + x; };
    pager.replaceChildren(
      page > 1 ? link(to(page - 1), "Previous", { rel: "prev" }) : "",
      h("span", {}, `Page ${page} of ${pages}`),
      page < pages ? link(to(page + 1), "Next", { rel: "next" }) : "");
  }

  if (loading) {
    count.textContent = "Loading…";
    devices = await loadDevices((partial) => {
      if (!main.contains(tbody)) return; // the user went elsewhere
      devices = partial.slice();
      draw();
    });
    loading = false;
  }
  if (!main.contains(tbody)) return;
  fillSelects();
  draw();
}

function facts(pairs) {
  return h("dl", { class: "facts" }, pairs.filter(([, v]) => v !== undefined && v !== "" && v !== null)
    .flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

const when = (t) => t ? new Date(t).toLocaleString() : "";

async function devicePage(main, serial) {
  const d = await api("GET", orgPath("/devices/" + encodeURIComponent(serial)));
  const snap = h("div", { class: "card" }, h("h2", {}, "Snapshot"));
  const tasks = h("div", {}, h("h2", {}, "Tasks"));
  main.replaceChildren(
    h("p", {}, link("/ui/devices", "← Devices")),
    h("h1", {}, d.name ? `${d.name} (${d.serial})` : d.serial),
    h("div", { class: "cols" },
      h("section", { class: "card", "aria-label": "Facts" }, h("h2", {}, "Facts"), facts([
        ["Model", d.model], ["Status", d.status], ["Online", d.connected ? "yes" : "no"], ["Mode", d.mode],
        ["Profile", d.profile], ["Firmware", d.firmwareVersion], ["Edge host", d.edgeHost], ["Address", d.address],
        ["Group", d.group], ["Product family", d.productFamily], ["Warranty end", d.warrantyEnd],
        ["End of support", d.endOfSupport], ["Recommended OS", d.osRecommendation || d.recommendedOS],
        ["Last seen", when(d.lastSeen)], ["Reported", when(d.reportedAt)]])),
      snap),
    h("h2", {}, "Mode history"),
    (d.modeHistory || []).length ? h("ul", {}, d.modeHistory.map((m) => h("li", {}, `${when(m.at)}: ${m.from || "—"} → ${m.to} (${m.reason}, by ${m.by})`)))
      : h("p", { class: "muted" }, "No mode changes."),
    h("h2", {}, "Drift"),
    (d.drift || []).length ? h("ul", {}, d.drift.map((x) => h("li", {}, `${x.cause}: ${x.detail}${x.at ? " (" + when(x.at) + ")" : ""}`)))
      : h("p", { class: "muted" }, "No drift."),
    tasks);
  if (atLeastOperator() && d.status === "onboarded") {
    const img = h("img", { class: "snapshot", alt: `Snapshot of ${d.serial}` });
    snap.append(h("p", { class: "muted", "aria-live": "polite" }, "Loading…"));
    api("GET", orgPath(`/devices/${encodeURIComponent(serial)}/vapix/axis-cgi/jpg/image.cgi`), { raw: true })
      .then((res) => res.blob())
      .then((b) => {
        if (!document.body.contains(snap)) return;
        img.src = URL.createObjectURL(b);
        img.addEventListener("load", () => URL.revokeObjectURL(img.src), { once: true });
        snap.replaceChildren(h("h2", {}, "Snapshot"), img);
      })
      .catch((err) => snap.replaceChildren(h("h2", {}, "Snapshot"), h("p", { class: "bad" }, err.message)));
    api("GET", orgPath(`/tasks?serial=${encodeURIComponent(serial)}&limit=20`)).then((list) => {
      tasks.append(list.items.length ? h("div", { class: "table-wrap" }, h("table", { "aria-label": "Tasks" },
        h("thead", {}, h("tr", {}, ["Kind", "State", "Detail", "Created by"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, list.items.map((t) => h("tr", {}, h("td", {}, t.kind), h("td", {}, t.state), h("td", {}, t.detail || ""), h("td", {}, t.createdBy || "")))))) :
        h("p", { class: "muted" }, "No tasks."));
    }).catch((err) => tasks.append(h("p", { class: "bad" }, err.message)));
  } else {
    snap.append(h("p", { class: "muted" }, d.status === "onboarded" ? "Snapshots need the operator role." : "Not onboarded: no snapshot."));
    tasks.append(h("p", { class: "muted" }, atLeastOperator() ? "No tasks." : "Tasks need the operator role."));
  }
}

async function edgeHostsPage(main) {
  const list = await api("GET", orgPath("/edgehosts"));
  const created = h("div", { "aria-live": "polite" });
  const name = h("input", { name: "name", required: true });
  const add = isAdmin() ? h("form", { class: "filters", "aria-label": "Add an edge host", onsubmit: async (e) => {
    e.preventDefault(); showError(null);
    try {
      const eh = await api("POST", orgPath("/edgehosts"), { body: { name: name.value.trim() } });
      created.replaceChildren(h("div", { class: "card" }, h("p", {}, `Run this on the edge host (the token works once, until ${when(eh.expiresAt)}):`),
        h("pre", {}, `edgehost enroll --relay ${location.origin} --ca ca.pem --token ${eh.enrollmentToken} --data ./edgehost\nedgehost run --data ./edgehost`)));
      name.value = "";
    } catch (err) { showError(err); }
  } }, h("label", {}, "New edge host", name), h("button", { type: "submit" }, "Add")) : "";
  main.replaceChildren(h("h1", {}, "Edge hosts"), add, created,
    h("div", { class: "table-wrap" }, h("table", { "aria-label": "Edge hosts" },
      h("thead", {}, h("tr", {}, ["Name", "ID", "State", "Last seen", ""].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, list.items.map((e) => h("tr", {}, h("td", {}, e.name), h("td", { class: "muted" }, e.id),
        h("td", { class: e.connected ? "ok" : "muted" }, !e.enrolled ? "not enrolled" : e.connected ? "online" : "offline"),
        h("td", {}, when(e.lastSeen)),
        h("td", {}, e.enrolled ? link(`/ui/edgehosts/${encodeURIComponent(e.id)}/discovered`, "Discovered devices") : "")))))));
}

async function discoveredPage(main, id) {
  const list = await api("GET", orgPath(`/edgehosts/${encodeURIComponent(id)}/discovered`));
  const admin = isAdmin();
  const boxes = [];
  const rows = list.items.map((d) => {
    const cb = admin ? h("input", { type: "checkbox", value: d.serial, "aria-label": `Select ${d.serial}` }) : null;
    if (cb) boxes.push(cb);
    return h("tr", {}, admin ? h("td", {}, cb) : "", h("td", {}, d.serial), h("td", {}, d.prodFullName || d.model || ""),
      h("td", {}, d.address), h("td", {}, d.firmware || ""), h("td", {}, d.source));
  });
  const result = h("div", { "aria-live": "polite" });
  let form = "";
  if (admin && rows.length) {
    const user = h("input", { name: "username", autocomplete: "off", value: "root", required: true });
    const pass = h("input", { name: "password", type: "password", autocomplete: "off", required: true });
    const btn = h("button", { type: "submit" }, "Onboard selected");
    form = h("form", { class: "filters", "aria-label": "Onboard selected devices", onsubmit: async (e) => {
      e.preventDefault(); showError(null);
      const chosen = boxes.filter((b) => b.checked).map((b) => b.value);
      if (!chosen.length) { showError(new Error("Select at least one device.")); return; }
      btn.disabled = true;
      try {
        const res = await api("POST", orgPath(`/edgehosts/${encodeURIComponent(id)}/onboard`),
          { body: { devices: chosen.map((serial) => ({ serial, username: user.value, password: pass.value })) } });
        state.devices = null;
        result.replaceChildren(h("p", { class: "ok" }, `Onboarding ${chosen.length} device(s): ` +
          (res.tasks || []).map((t) => `${t.serial} ${t.state}`).join(", ")), link("/ui/devices", "See the devices"));
      } catch (err) { showError(err); } finally { btn.disabled = false; }
    } }, h("label", {}, "Device user", user), h("label", {}, "Device password", pass), btn);
  }
  main.replaceChildren(h("p", {}, link("/ui/edgehosts", "← Edge hosts")), h("h1", {}, "Discovered devices"),
    rows.length ? h("div", { class: "table-wrap" }, h("table", { "aria-label": "Discovered devices" },
      h("thead", {}, h("tr", {}, (admin ? ["Select"] : []).concat(["Serial", "Model", "Address", "Firmware", "Found by"]).map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, rows))) : h("p", { class: "muted" }, "Nothing new found on this edge host's network."),
    form, result);
}

async function securityPage(main) {
  const st = await api("GET", "/api/v1/auth/two-factor");
  const out = h("div", { "aria-live": "polite" });
  const code = h("input", { name: "code", inputmode: "numeric", autocomplete: "one-time-code", required: true });
  const parts = [h("h1", {}, "Security"), h("h2", {}, "Two-step verification"),
    h("p", {}, st.enabled ? `On. ${st.recoveryCodesLeft} recovery codes left.` : "Off.")];
  if (!st.enabled) {
    const secret = h("div");
    parts.push(h("button", { type: "button", onclick: async () => {
      try {
        const en = await api("POST", "/api/v1/auth/two-factor");
        secret.replaceChildren(h("p", {}, "Add this key to your authenticator app, then enter the code it shows:"),
          h("pre", {}, en.secret), h("p", { class: "muted" }, en.uri),
          h("form", { class: "stack", "aria-label": "Confirm two-step verification", onsubmit: async (e) => {
            e.preventDefault(); showError(null);
            try {
              const rc = await api("POST", "/api/v1/auth/two-factor/confirm", { body: { code: code.value.trim() } });
              out.replaceChildren(h("p", { class: "ok" }, "Two-step verification is on. Keep these recovery codes safe; each works once:"),
                h("pre", {}, rc.recoveryCodes.join("\n")));
              secret.replaceChildren();
            } catch (err) { showError(err); }
          } }, h("label", {}, "Code", code), h("button", { type: "submit" }, "Turn on")));
      } catch (err) { showError(err); }
    } }, "Set up an authenticator app"), secret);
  } else {
    parts.push(h("form", { class: "stack", "aria-label": "Turn off two-step verification", onsubmit: async (e) => {
      e.preventDefault(); showError(null);
      try { await api("POST", "/api/v1/auth/two-factor/disable", { body: { code: code.value.trim() } }); render(); }
      catch (err) { showError(err); }
    } }, h("label", {}, "Code (or a recovery code)", code), h("button", { type: "submit" }, "Turn off")));
  }
  main.replaceChildren(...parts, out);
}

// ---- router ----

async function render() {
  showError(null);
  const main = $("main");
  const path = location.pathname.replace(/\/+$/, "") || "/ui";
  if (!state.token) {
    chrome("");
    if (path !== "/ui/signin") {
      history.replaceState(null, "", "/ui/signin" + (path !== "/ui" ? "?next=" + encodeURIComponent(location.pathname + location.search) : ""));
    }
    signInPage(main);
    return;
  }
  try {
    if (!state.orgs.length) await loadOrgs();
    let m;
    if (path === "/ui" || path === "/ui/signin") { go("/ui/devices", true); return; }
    chrome("/ui/" + path.split("/")[2]);
    if (!state.org) { main.replaceChildren(h("h1", {}, "No organization"), h("p", {}, "You are not a member of any organization yet.")); return; }
    if (path === "/ui/devices") await devicesPage(main);
    else if ((m = path.match(/^\/ui\/devices\/([^/]+)$/))) await devicePage(main, decodeURIComponent(m[1]));
    else if (path === "/ui/edgehosts") await edgeHostsPage(main);
    else if ((m = path.match(/^\/ui\/edgehosts\/([^/]+)\/discovered$/))) await discoveredPage(main, decodeURIComponent(m[1]));
    else if (path === "/ui/security") await securityPage(main);
    else main.replaceChildren(h("h1", {}, "Not found"), h("p", {}, link("/ui/devices", "Go to the devices")));
    document.title = (main.querySelector("h1")?.textContent || "") + " · camcloud";
  } catch (err) {
    if (!state.token) { render(); return; }
    main.replaceChildren(h("h1", {}, "Something went wrong"));
    showError(err);
    if (err.type.endsWith("/two-factor-required")) main.append(h("p", {}, link("/ui/security", "Turn on two-step verification")));
  }
}

addEventListener("popstate", render);
render();
