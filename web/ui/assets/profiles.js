// Device profiles: what an organization's devices should run and how they should be set.
// Operators read them; admins create, change and delete them. /ui/profiles/_new is the
// form for a new one ("_" cannot start a profile's name).
import { h, api, showError, go, link, isAdmin, atLeastOperator, orgPath, facts, confirmAction } from "./lib.js";

const tracks = ["active", "lts-2024", "lts-2022", "lts-2020"];
const profileURL = (name) => `/ui/profiles/${encodeURIComponent(name)}`;

function needsOperator(main, title) {
  main.replaceChildren(h("h1", {}, title), h("p", { class: "muted" }, "Profiles need the operator role: ask an admin of this organization."));
}

function osText(p) {
  if (!p.osVersion) return p.osTrack ? `any version on ${p.osTrack}` : "any";
  return p.osVersion === "latest" ? `latest on ${p.osTrack}` : p.osVersion;
}

export async function profilesPage(main) {
  if (!atLeastOperator()) { needsOperator(main, "Profiles"); return; }
  const list = await api("GET", orgPath("/profiles"));
  main.replaceChildren(h("h1", {}, "Profiles"),
    h("p", { class: "muted" }, "A profile says which AXIS OS, applications, parameters and overlay a device should have; agents bring devices to it and report drift."),
    isAdmin() ? h("p", {}, link("/ui/profiles/_new", "New profile", { class: "button" })) : "",
    list.items.length ? h("div", { class: "table-wrap" }, h("table", { "aria-label": "Profiles" },
      h("thead", {}, h("tr", {}, ["Name", "AXIS OS", "Applications", "Parameters", "Overlay"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, list.items.map((p) => h("tr", {},
        h("td", {}, link(profileURL(p.name), p.name), p.default ? h("span", { class: "muted" }, " (default)") : ""),
        h("td", {}, osText(p)), h("td", {}, (p.apps || []).map((a) => a.name).join(", ")),
        h("td", {}, String(Object.keys(p.params || {}).length)), h("td", {}, p.overlay || "")))))) :
      h("p", { class: "muted" }, "No profiles yet."));
}

export async function profilePage(main, name) {
  if (!atLeastOperator()) { needsOperator(main, "Profile"); return; }
  const isNew = name === "_new";
  if (isNew && !isAdmin()) { main.replaceChildren(h("h1", {}, "New profile"), h("p", { class: "muted" }, "Only admins create profiles.")); return; }
  const p = isNew ? { name: "" } : await api("GET", orgPath(`/profiles/${encodeURIComponent(name)}`));
  const back = h("p", {}, link("/ui/profiles", "← Profiles"));
  if (!isAdmin()) {
    main.replaceChildren(back, h("h1", {}, p.name), facts([
      ["Default", p.default ? "yes: onboarding uses it when none is named" : "no"], ["AXIS OS", osText(p)],
      ["Applications", (p.apps || []).map((a) => `${a.name} ${a.version || "(any version)"}${a.running ? ", running" : ""}`).join("; ")],
      ["Parameters", Object.entries(p.params || {}).map(([k, v]) => `${k} = ${v}`).join("\n")], ["Overlay", p.overlay]]));
    return;
  }
  const del = isNew ? "" : h("button", { type: "button", class: "danger", onclick: async () => {
    showError(null);
    if (!await confirmAction(`Delete the profile ${p.name}?`, "Delete")) return;
    try { await api("DELETE", orgPath(`/profiles/${encodeURIComponent(p.name)}`)); go("/ui/profiles"); }
    catch (err) { showError(err); }
  } }, "Delete");
  main.replaceChildren(back, h("h1", {}, isNew ? "New profile" : p.name), profileForm(p, isNew), del);
}

// fieldNote is where the API's reason for one field is shown, tied to its control.
function fieldNote(id) { return h("p", { class: "field-error bad", id: `err-${id}`, hidden: true }); }

function profileForm(p, isNew) {
  const name = h("input", { name: "name", required: true, value: p.name, pattern: "[a-z0-9][a-z0-9._\\-]{0,62}",
    "aria-describedby": "err-name", readonly: !isNew });
  const track = h("select", { name: "osTrack", "aria-describedby": "err-osTrack" },
    h("option", { value: "" }, "any supported track"), tracks.map((t) => h("option", { value: t, selected: t === p.osTrack }, t)));
  const version = h("input", { name: "osVersion", value: p.osVersion || "", list: "os-versions", placeholder: "e.g. 12.6.94 or latest",
    "aria-describedby": "err-osVersion" });
  const overlay = h("input", { name: "overlay", value: p.overlay || "", maxlength: 200, "aria-describedby": "err-overlay" });
  const dflt = h("input", { type: "checkbox", name: "default", checked: !!p.default });
  const apps = rowsEditor("apps", "Application", p.apps || [], (a = {}) => [
    h("input", { name: "appName", value: a.name || "", "aria-label": "Application package name", required: true }),
    h("input", { name: "appVersion", value: a.version || "", "aria-label": "Application version (empty: any)", placeholder: "any version" }),
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "appRunning", checked: a.running !== false }), "running"),
  ]);
  const params = rowsEditor("params", "Parameter", Object.entries(p.params || {}), ([k, v] = []) => [
    h("input", { name: "paramName", value: k || "", "aria-label": "Parameter name", placeholder: "Image.I0.Appearance.Resolution", required: true }),
    h("input", { name: "paramValue", value: v || "", "aria-label": "Parameter value" }),
  ]);
  const summary = h("div", { role: "alert", class: "form-errors bad", hidden: true });
  const btn = h("button", { type: "submit" }, isNew ? "Create" : "Save");
  const form = h("form", { class: "stack-wide", "aria-label": "Profile", novalidate: true, onsubmit: async (e) => {
    e.preventDefault(); showError(null); clearNotes(form, summary);
    const body = { name: name.value.trim() };
    if (track.value) body.osTrack = track.value;
    if (version.value.trim()) body.osVersion = version.value.trim();
    if (overlay.value) body.overlay = overlay.value;
    if (dflt.checked) body.default = true;
    const a = apps.values((row) => ({ name: row.querySelector("[name=appName]").value.trim(),
      version: row.querySelector("[name=appVersion]").value.trim() || undefined, running: row.querySelector("[name=appRunning]").checked }));
    if (a.length) body.apps = a;
    const pr = params.values((row) => [row.querySelector("[name=paramName]").value.trim(), row.querySelector("[name=paramValue]").value]);
    if (pr.length) body.params = Object.fromEntries(pr);
    btn.disabled = true;
    try {
      if (isNew) await api("POST", orgPath("/profiles"), { body });
      else await api("PUT", orgPath(`/profiles/${encodeURIComponent(p.name)}`), { body });
      go("/ui/profiles");
    } catch (err) {
      showNotes(form, summary, err);
    } finally { btn.disabled = false; }
  } },
  h("label", {}, "Name", name), fieldNote("name"),
  h("div", { class: "filters" }, h("label", {}, "AXIS OS track", track), h("label", {}, "AXIS OS version (empty: any)", version)),
  h("datalist", { id: "os-versions" }, h("option", { value: "latest" }, "the newest release in the catalog on the track")),
  fieldNote("osTrack"), fieldNote("osVersion"),
  apps.el, fieldNote("apps"), params.el, fieldNote("params"),
  h("label", {}, "Text overlay", overlay), fieldNote("overlay"),
  h("label", { class: "check" }, dflt, "Default profile: onboarding uses it when none is named"),
  summary, h("div", {}, btn));
  return form;
}

// rowsEditor is a list of rows of inputs (applications, parameters) a person can add to
// and remove from.
function rowsEditor(id, what, items, inputs) {
  const body = h("div", { class: "rows" });
  const add = (item) => {
    const row = h("div", { class: "filters row" }, inputs(item),
      h("button", { type: "button", class: "plain", "aria-label": `Remove this ${what.toLowerCase()}`, onclick: () => row.remove() }, "Remove"));
    body.append(row);
    return row;
  };
  items.forEach(add);
  const el = h("fieldset", { "aria-describedby": `err-${id}` }, h("legend", {}, what + "s"), body,
    h("button", { type: "button", class: "plain", onclick: () => add().querySelector("input").focus() }, `Add ${what.toLowerCase()}`));
  return { el, values: (f) => [...body.children].map(f).filter((v) => Array.isArray(v) ? v[0] : v.name) };
}

function clearNotes(form, summary) {
  for (const n of form.querySelectorAll(".field-error")) { n.hidden = true; n.textContent = ""; }
  for (const c of form.querySelectorAll("[aria-invalid]")) c.removeAttribute("aria-invalid");
  summary.hidden = true; summary.textContent = "";
}

// showNotes shows a refusal beside the fields it names (invalidParams), or as a whole.
function showNotes(form, summary, err) {
  const params = (err.body && err.body.invalidParams) || [];
  let placed = 0;
  for (const ip of params) {
    const note = form.querySelector(`#err-${CSS.escape(ip.name)}`);
    if (!note) continue;
    note.textContent = note.textContent ? `${note.textContent}; ${ip.reason}` : ip.reason;
    note.hidden = false; placed++;
    form.querySelector(`[aria-describedby="err-${CSS.escape(ip.name)}"]`)?.setAttribute("aria-invalid", "true");
  }
  summary.textContent = placed ? `${err.body.title || "Not saved"}: see the marked fields.` : err.message;
  summary.hidden = false;
}
