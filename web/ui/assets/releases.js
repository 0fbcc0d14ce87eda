// Releases: the relay's software catalog (AXIS OS and ACAP files that jobs and profiles
// install). Everyone reads it; admins of the organization that runs the relay upload and
// remove files. The upload uses XMLHttpRequest, since fetch reports no upload progress.
import { state, h, api, showError, refresh, go, when, confirmAction, signedOut, ApiError } from "./lib.js";

const tracks = ["active", "lts-2024", "lts-2022", "lts-2020"];
const kinds = { os: "AXIS OS", acap: "Application (ACAP)" };

// relayAdmin: an admin of the organization that runs the relay (the API checks it too).
const relayAdmin = () => state.orgs.some((o) => o.runsRelay && o.role === "admin");

function size(n) {
  const units = ["bytes", "KB", "MB", "GB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return i ? `${n.toFixed(n < 10 ? 1 : 0)} ${units[i]}` : `${n} bytes`;
}

export async function releasesPage(main) {
  const kind = new URLSearchParams(location.search).get("kind") || "";
  const list = await api("GET", "/api/v1/releases");
  const filter = h("form", { class: "filters", "aria-label": "Filter releases", onsubmit: (e) => e.preventDefault() },
    h("label", {}, "Kind", h("select", { name: "kind", onchange: (e) => go("/ui/releases" + (e.target.value ? "?kind=" + e.target.value : "")) },
      h("option", { value: "" }, "all"), Object.entries(kinds).map(([k, t]) => h("option", { value: k, selected: k === kind }, t)))));
  main.replaceChildren(h("h1", {}, "Releases"),
    h("p", { class: "muted" }, "The software catalog: AXIS OS and application files that jobs and profiles install. The relay signs each file's SHA-256 and size; agents check the signature before a device gets the file."),
    relayAdmin() ? uploadForm(kind) : "", filter, catalog(list.items, kind));
}

const software = (r) => r.kind === "os" ? "AXIS OS" : r.name;

// catalog is the table of releases of a kind ("": all), newest first.
function catalog(all, kind) {
  const items = all.filter((r) => !kind || r.kind === kind).reverse();
  const admin = relayAdmin();
  if (!items.length) return h("p", { class: "muted", "data-catalog": "" }, kind ? "No releases of this kind." : "The catalog is empty.");
  const cols = ["Software", "Version", "Track", "Models", "Size", "SHA-256", "Signed by", "Uploaded"];
  if (admin) cols.push(h("span", { class: "sr-only" }, "Actions"));
  return h("div", { class: "table-wrap", "data-catalog": "" }, h("table", { "aria-label": "Releases" },
    h("thead", {}, h("tr", {}, cols.map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, items.map((r) => h("tr", {},
      h("td", {}, software(r)), h("td", {}, r.version), h("td", {}, r.track || ""),
      h("td", {}, (r.products || []).join(", ") || h("span", { class: "muted" }, "all")),
      h("td", {}, size(r.size)), h("td", {}, h("code", { title: r.sha256 }, r.sha256.slice(0, 12) + "…")),
      h("td", {}, "this relay's release key ", h("code", { class: "muted", title: `Ed25519 signature ${r.signature}` }, r.signature.slice(0, 8) + "…")),
      h("td", {}, when(r.createdAt)),
      admin ? h("td", {}, h("button", { type: "button", class: "plain", "aria-label": `Remove ${software(r)} ${r.version}`, onclick: async () => {
        showError(null);
        if (!await confirmAction(`Remove ${software(r)} ${r.version} from the catalog? Jobs and profiles can no longer install it.`, "Remove")) return;
        try { await api("DELETE", `/api/v1/releases/${encodeURIComponent(r.id)}`); refresh(); }
        catch (err) { showError(err); }
      } }, "Remove")) : null)))));
}

function uploadForm(shown) {
  const file = h("input", { type: "file", name: "file", required: true, onchange: () => {
    const m = file.files[0] && file.files[0].name.match(/\d+(?:\.\d+){1,3}/);
    if (m && !version.value) version.value = m[0];
  } });
  const kind = h("select", { name: "kind", onchange: () => { nameLabel.hidden = kind.value !== "acap"; trackLabel.hidden = kind.value !== "os"; } },
    Object.entries(kinds).map(([k, t]) => h("option", { value: k }, t)));
  const name = h("input", { name: "appName", autocomplete: "off" });
  const nameLabel = h("label", { hidden: true }, "Application package name", name);
  const version = h("input", { name: "version", required: true, autocomplete: "off", placeholder: "e.g. 12.6.94" });
  const products = h("input", { name: "products", autocomplete: "off", placeholder: "e.g. P3265-V,Q6135-LE (empty: all)" });
  const track = h("select", { name: "track" }, h("option", { value: "" }, "from the version"), tracks.map((t) => h("option", { value: t }, t)));
  const trackLabel = h("label", {}, "Track", track);
  const bar = h("progress", { max: 100, value: 0, "aria-label": "Upload progress" });
  const pct = h("span", { class: "pct" }, "");
  const status = h("div", { "aria-live": "polite", class: "upload-status" });
  const btn = h("button", { type: "submit" }, "Upload");
  const cancel = h("button", { type: "button", class: "plain", hidden: true }, "Cancel");
  const setProgress = (f) => { bar.value = Math.round(f * 100); pct.textContent = `${Math.round(f * 100)} %`; };
  const progress = h("div", { class: "progress", hidden: true }, bar, pct, cancel);
  return h("form", { class: "card stack-wide", "aria-label": "Upload a release", onsubmit: async (e) => {
    e.preventDefault(); showError(null);
    const f = file.files[0];
    if (!f) { showError(new Error("Choose the release file.")); return; }
    const q = new URLSearchParams({ kind: kind.value, version: version.value.trim() });
    if (kind.value === "acap") q.set("name", name.value.trim());
    if (products.value.trim()) q.set("products", products.value.trim());
    if (kind.value === "os" && track.value) q.set("track", track.value);
    btn.disabled = true; progress.hidden = false; cancel.hidden = false; setProgress(0);
    status.replaceChildren(h("p", {}, `Uploading ${f.name} (${size(f.size)})…`));
    try {
      const rel = await upload(f, q, setProgress, cancel);
      status.replaceChildren(h("p", { class: "ok" }, `Added ${software(rel)} ${rel.version} (${size(rel.size)}), signed by this relay.`));
      // The catalog is drawn again; the form keeps the outcome shown.
      const list = await api("GET", "/api/v1/releases");
      document.querySelector("[data-catalog]")?.replaceWith(catalog(list.items, shown));
    } catch (err) {
      status.replaceChildren(h("p", { class: "bad" }, err.message));
      showError(err);
    } finally { btn.disabled = false; cancel.hidden = true; }
  } }, h("h2", {}, "Upload a release"),
  h("label", {}, "Release file (up to 2 GiB)", file),
  h("div", { class: "filters" }, h("label", {}, "Kind", kind), nameLabel, h("label", {}, "Version", version), trackLabel),
  h("label", {}, "Models (product numbers, comma-separated)", products),
  h("div", {}, btn), progress, status);
}

// upload sends the file as the request body with the bearer token, reporting progress
// from 0 to 1; it resolves with the added release or rejects with the problem.
function upload(file, query, onProgress, cancel) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1/releases?" + query);
    xhr.setRequestHeader("Authorization", "Bearer " + state.token);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.upload.onprogress = (e) => { if (e.lengthComputable && e.total) onProgress(e.loaded / e.total); };
    xhr.upload.onload = () => onProgress(1);
    xhr.onload = () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (xhr.status === 201) { onProgress(1); resolve(body); return; }
      if (xhr.status === 401) signedOut();
      reject(new ApiError(xhr.status, body));
    };
    xhr.onerror = () => reject(new Error("The upload failed: the connection to the relay broke."));
    xhr.onabort = () => reject(new Error("Upload cancelled."));
    cancel.onclick = () => xhr.abort();
    xhr.send(file);
  });
}
