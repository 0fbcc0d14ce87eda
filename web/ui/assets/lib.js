// Shared by the console's pages: the session's state, the element builder, the API
// client (problem+json errors), navigation within the single-page application.

export const state = {
  token: sessionStorage.getItem("token") || "",
  user: sessionStorage.getItem("user") || "",
  orgs: [],
  org: null,
  devices: null, // cache of the device list for the current organization
};

// h makes an element: h("a", {href: "/x"}, "text", child). Text is always text, never HTML.
export function h(tag, attrs, ...children) {
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

export const $ = (id) => document.getElementById(id);

// ApiError carries a problem+json answer (or an OAuth error) for showing.
export class ApiError extends Error {
  constructor(status, body) {
    const title = body && (body.title || body.error) || `HTTP ${status}`;
    const detail = body && (body.detail || body.error_description) || "";
    super(detail ? `${title}: ${detail}` : title);
    this.status = status; this.body = body || {}; this.type = this.body.type || "";
  }
}

export async function api(method, path, { body, form, raw } = {}) {
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

export function showError(err) {
  const box = $("error");
  if (!err) { box.hidden = true; box.textContent = ""; return; }
  box.textContent = err.message || String(err);
  box.hidden = false;
}

// render draws the page of the current URL; the router (app.js) sets it.
let render = () => {};
export function onNavigate(fn) { render = fn; }

// refresh draws the current page again, after a change it shows.
export function refresh() { render(); }

export function go(path, replace) {
  if (replace) history.replaceState(null, "", path); else history.pushState(null, "", path);
  render();
}

export function link(path, text, attrs) {
  return h("a", { href: path, ...attrs, onclick: (e) => {
    if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
    e.preventDefault(); go(path);
  } }, text);
}

export function signedOut() {
  state.token = ""; state.orgs = []; state.org = null; state.devices = null;
  sessionStorage.removeItem("token");
}

export const isAdmin = () => state.org && state.org.role === "admin";
export const atLeastOperator = () => state.org && (state.org.role === "admin" || state.org.role === "operator");
export const orgPath = (p) => `/api/v1/orgs/${encodeURIComponent(state.org.id)}${p}`;

export async function loadOrgs() {
  const list = await api("GET", "/api/v1/orgs");
  state.orgs = list.items;
  const saved = sessionStorage.getItem("org");
  state.org = state.orgs.find((o) => o.id === saved) || state.orgs[0] || null;
}

export function facts(pairs) {
  return h("dl", { class: "facts" }, pairs.filter(([, v]) => v !== undefined && v !== "" && v !== null)
    .flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

export const when = (t) => t ? new Date(t).toLocaleString() : "";

// confirmAction asks in a modal dialog before a change that is hard to undo; it resolves
// true when the person chose yes (Escape or Cancel: false).
export function confirmAction(message, yes) {
  return new Promise((resolve) => {
    const dlg = h("dialog", { "aria-label": "Confirm", class: "confirm" }, h("p", {}, message),
      h("div", { class: "actions" },
        h("button", { type: "button", class: "plain", onclick: () => dlg.close("no") }, "Cancel"),
        h("button", { type: "button", onclick: () => dlg.close("yes") }, yes)));
    dlg.addEventListener("close", () => { dlg.remove(); resolve(dlg.returnValue === "yes"); });
    document.body.append(dlg);
    dlg.showModal();
  });
}

export const roles = ["viewer", "operator", "admin"];
