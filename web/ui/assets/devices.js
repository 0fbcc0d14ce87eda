// The device list (search, filters, sort, paging in the browser) and a device's page.
import { state, h, api, go, link, atLeastOperator, isAdmin, orgPath, facts, when } from "./lib.js";

const SORTS = { serial: "Serial", name: "Name", model: "Model", status: "Status", mode: "Mode", edgeHost: "Edge host", firmwareVersion: "Firmware" };
const PAGE = 100;

// loadDevices reads every device of the organization, as summaries (the columns a table
// shows: a third of the bytes to make, send and parse): the whole inventory in one
// request of up to 10,000 (each further round trip costs more than its bytes), and at
// the same time a first page of PAGE, handed to onFirst to draw while the whole one is
// on its way.
async function loadDevices(onFirst) {
  if (state.devices) return state.devices;
  let done = false;
  const read = (limit, cursor) => api("GET", orgPath(`/devices?view=summary&limit=${limit}${cursor ? "&cursor=" + encodeURIComponent(cursor) : ""}`));
  const whole = read(10000, "");
  // Its failure is the whole list's too, which the page shows.
  read(PAGE, "").then((page) => { if (!done && page.nextCursor) onFirst(page.items); }, () => {});
  let page = await whole;
  const all = page.items;
  for (let i = 0; page.nextCursor && i < 100; i++) { // bounded: 1,000,000 devices
    page = await read(10000, page.nextCursor);
    for (const d of page.items) all.push(d);
  }
  done = true;
  state.devices = all;
  return all;
}

const FILTERS = [["status", "Status"], ["mode", "Mode"], ["model", "Model"], ["edgeHost", "Edge host"]];

export async function devicesPage(main) {
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
    devices = await loadDevices((first) => {
      if (!main.contains(tbody)) return; // the user went elsewhere
      devices = first;
      draw();
    });
    loading = false;
  }
  if (!main.contains(tbody)) return;
  fillSelects();
  draw();
}


export async function devicePage(main, serial) {
  const d = await api("GET", orgPath("/devices/" + encodeURIComponent(serial)));
  const snap = h("div", { class: "card" }, h("h2", {}, "Snapshot"));
  const tasks = h("div", {}, h("h2", {}, "Tasks"));
  main.replaceChildren(
    h("p", {}, link("/ui/devices", "← Devices")),
    h("h1", {}, d.name ? `${d.name} (${d.serial})` : d.serial),
    d.status === "onboarded" && d.integration === "deep" ? h("p", {}, link(`/ui/devices/${encodeURIComponent(d.serial)}/live`, "Live video")) : "",
    isAdmin() && d.integration === "deep" ? h("p", {}, link("/ui/jobs/new?device=" + encodeURIComponent(d.serial), "New job for this device")) : "",
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
        h("tbody", {}, list.items.map((t) => h("tr", {}, h("td", {}, t.kind), h("td", {}, t.state), h("td", {}, t.detail || ""), h("td", { title: t.createdBy || false }, t.createdByEmail || t.createdBy || "")))))) :
        h("p", { class: "muted" }, "No tasks."));
    }).catch((err) => tasks.append(h("p", { class: "bad" }, err.message)));
  } else {
    snap.append(h("p", { class: "muted" }, d.status === "onboarded" ? "Snapshots need the operator role." : "Not onboarded: no snapshot."));
    tasks.append(h("p", { class: "muted" }, atLeastOperator() ? "No tasks." : "Tasks need the operator role."));
  }
}
