// The audit log: search by text, person, action, device and time range, newest first,
// paged with the API's cursor. The search is in the URL, so it can be bookmarked.
import { h, api, go, link, orgPath, when } from "./lib.js";

const PAGE = 50;
const FIELDS = ["q", "principal", "action", "serial", "since", "until"];

// local turns an RFC 3339 time into a datetime-local input's value, and back.
function toLocal(t) {
  if (!t) return "";
  const d = new Date(t);
  if (isNaN(d)) return "";
  return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}
const fromLocal = (v) => (v ? new Date(v).toISOString().replace(/\.\d+Z$/, "Z") : "");

export async function auditPage(main) {
  const q = new URLSearchParams(location.search);
  const call = new URLSearchParams({ limit: String(PAGE) });
  for (const k of [...FIELDS, "cursor"]) if (q.get(k)) call.set(k, q.get(k));
  // The API names people by e-mail address; the members also fill the "Who" choice. An
  // application, or a deleted account, keeps its ID.
  const [page, members] = await Promise.all([api("GET", orgPath("/audit?" + call)),
    api("GET", orgPath("/members")).then((m) => m.items).catch(() => [])]);
  const who = new Map(members.map((m) => [m.userId, m.email]));

  const text = h("input", { type: "search", name: "q", value: q.get("q") || "", placeholder: "job ID, path, detail…" });
  const principal = h("select", { name: "principal" }, h("option", { value: "" }, "Anyone"),
    members.map((m) => h("option", { value: m.userId, selected: q.get("principal") === m.userId }, m.email)),
    q.get("principal") && !who.has(q.get("principal")) ? h("option", { value: q.get("principal"), selected: true }, q.get("principal")) : "");
  const action = h("input", { name: "action", value: q.get("action") || "", list: "audit-actions", placeholder: "job.create" });
  const actions = h("datalist", { id: "audit-actions" }, ["edgelink", "sign-in-failed", "job.create", "job.cancel", "device.register", "device.claim",
    "device.enroll", "device.proven", "device.removed", "device.move", "device.delete", "two-factor.enabled", "two-factor.disabled",
    "two-factor.recovery-codes-renewed", "two-factor.recovery-code-used", "two-factor.wrong-code", "org.two-factor-required"].map((a) => h("option", { value: a })));
  const serial = h("input", { name: "serial", value: q.get("serial") || "", size: 14 });
  const since = h("input", { name: "since", type: "datetime-local", value: toLocal(q.get("since")) });
  const until = h("input", { name: "until", type: "datetime-local", value: toLocal(q.get("until")) });
  const form = h("form", { class: "filters", role: "search", "aria-label": "Search the audit log", onsubmit: (e) => {
    e.preventDefault();
    const p = new URLSearchParams();
    const vals = { q: text.value.trim(), principal: principal.value, action: action.value.trim(), serial: serial.value.trim(),
      since: fromLocal(since.value), until: fromLocal(until.value) };
    for (const k of FIELDS) if (vals[k]) p.set(k, vals[k]);
    go("/ui/audit" + (p.size ? "?" + p : ""));
  } }, h("label", {}, "Search", text), h("label", {}, "Who", principal), h("label", {}, "Action", action), actions,
    h("label", {}, "Device serial", serial), h("label", {}, "From", since), h("label", {}, "Until", until),
    h("button", { type: "submit" }, "Search"), q.size ? link("/ui/audit", "Clear") : "");

  const older = new URLSearchParams(q);
  older.set("cursor", page.nextCursor || "");
  const newest = new URLSearchParams(q);
  newest.delete("cursor");
  main.replaceChildren(h("h1", {}, "Audit log"), form,
    h("p", { class: "muted", "aria-live": "polite" }, page.items.length ? `${page.items.length} ${page.items.length === 1 ? "entry" : "entries"}${q.get("cursor") ? " (older page)" : ""}, newest first` :
      page.nextCursor ? "No entries in this stretch of the log; look further back." : "No entries."),
    page.items.length ? h("div", { class: "table-wrap" }, h("table", { "aria-label": "Audit log" },
      h("thead", {}, h("tr", {}, ["Time", "Who", "Action", "Device", "Request", "Status", "Detail"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, page.items.map((e) => h("tr", {},
        h("td", {}, when(e.at)), h("td", { title: e.principal }, e.principalEmail || who.get(e.principal) || e.principal),
        h("td", {}, e.action), h("td", {}, e.serial || ""),
        h("td", { class: "wrap" }, e.method ? `${e.method} ${e.path}` : ""),
        h("td", { class: e.status >= 400 ? "bad" : "" }, String(e.status || "")),
        h("td", { class: "wrap" }, [e.detail, e.source ? `from ${e.source}` : ""].filter(Boolean).join(" "))))))) : "",
    h("div", { class: "pager" },
      q.get("cursor") ? link("/ui/audit" + (newest.size ? "?" + newest : ""), "Newest") : "",
      page.nextCursor ? link("/ui/audit?" + older, "Older", { rel: "next" }) : ""));
}
