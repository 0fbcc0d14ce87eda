// Jobs: the list, a job's page (progress that moves live from the job's event stream, a
// chart of its tasks per state over time, its tasks, cancelling) and the form that
// creates one.
import { state, h, api, go, link, showError, isAdmin, orgPath, facts, when } from "./lib.js";

// Starting and cancelling a job is for admins (the API's permission table); operators
// follow jobs.
const canRunJobs = isAdmin;

const KINDS = ["overlay", "restart", "params", "firmware", "app-install", "app-start", "app-stop", "app-remove", "rotate-account"];
// Task states in the order a task goes through them; the last four are final.
const STATES = ["queued", "dispatched", "accepted", "running", "succeeded", "failed", "cancelled", "expired"];
const FINAL = ["succeeded", "failed", "cancelled", "expired"];
const PAGE = 25;

const done = (job) => FINAL.reduce((n, s) => n + ((job.counts || {})[s] || 0), 0);

function countsText(counts) {
  return STATES.filter((s) => counts && counts[s]).map((s) => `${counts[s]} ${s}`).join(", ") || "no tasks";
}

function selectionText(sel) {
  if (!sel) return "";
  if (sel.all) return "every device an agent manages";
  if (sel.group) return "resource group " + sel.group;
  return (sel.devices || []).join(", ");
}

function stateCell(s) {
  return h("td", { class: s === "succeeded" ? "ok" : s === "failed" || s === "aborted" ? "bad" : "" }, s);
}

export async function jobsPage(main) {
  const q = new URLSearchParams(location.search);
  const cursor = q.get("cursor") || "";
  const list = await api("GET", orgPath(`/jobs?limit=${PAGE}${cursor ? "&cursor=" + encodeURIComponent(cursor) : ""}`));
  main.replaceChildren(
    h("h1", {}, "Jobs"),
    canRunJobs() ? h("p", {}, link("/ui/jobs/new", "New job", { class: "button" })) : "",
    list.items.length ? h("div", { class: "table-wrap" }, h("table", { "aria-label": "Jobs" },
      h("thead", {}, h("tr", {}, ["Job", "Kind", "State", "Tasks", "Created by", "Created"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, list.items.map((j) => h("tr", {},
        h("td", {}, link("/ui/jobs/" + encodeURIComponent(j.id), j.id)), h("td", {}, j.kind), stateCell(j.state),
        h("td", {}, `${done(j)}/${j.tasks}: ${countsText(j.counts)}`), h("td", { title: j.createdBy }, j.createdByEmail || j.createdBy), h("td", {}, when(j.createdAt)))))))
      : h("p", { class: "muted" }, cursor ? "No older jobs." : "No jobs yet."),
    h("div", { class: "pager" },
      cursor ? link("/ui/jobs", "Newest") : "",
      list.nextCursor ? link("/ui/jobs?cursor=" + encodeURIComponent(list.nextCursor), "Older", { rel: "next" }) : ""));
}

// untilGone calls stop once el has left the document (the router replaced the page).
function untilGone(el, stop) {
  const main = document.getElementById("main");
  const obs = new MutationObserver(() => {
    if (!document.body.contains(el)) { obs.disconnect(); stop(); }
  });
  obs.observe(main, { childList: true });
  return () => obs.disconnect();
}

// readEvents reads a text/event-stream with fetch (EventSource cannot send the
// Authorization header) and calls onEvent(name, data) per event, until the stream ends
// or signal aborts.
async function readEvents(path, signal, onEvent) {
  const res = await fetch(path, { headers: { Authorization: "Bearer " + state.token, Accept: "text/event-stream" }, signal });
  if (!res.ok) {
    let body = null;
    try { body = await res.json(); } catch { /* not JSON */ }
    throw new Error((body && (body.detail || body.title)) || `HTTP ${res.status}`);
  }
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let buf = "";
  for (;;) {
    const { value, done: end } = await reader.read();
    if (end) break;
    buf += dec.decode(value, { stream: true });
    // Events end with a blank line; lines end with CRLF, LF or CR.
    let at;
    while ((at = buf.search(/\r\n\r\n|\n\n|\r\r/)) >= 0) {
      const block = buf.slice(0, at);
      buf = buf.slice(at + (buf[at] === "\r" && buf[at + 1] === "\n" ? 4 : 2));
      let name = "message";
      const data = [];
      for (const line of block.split(/\r\n|\n|\r/)) {
        if (!line || line.startsWith(":")) continue;
        const i = line.indexOf(":");
        const field = i < 0 ? line : line.slice(0, i);
        let v = i < 0 ? "" : line.slice(i + 1);
        if (v.startsWith(" ")) v = v.slice(1);
        if (field === "event") name = v;
        else if (field === "data") data.push(v);
      }
      if (data.length) onEvent(name, data.join("\n"));
    }
  }
}

// fromTransitions replays the tasks' state changes into counts per state over time.
function fromTransitions(tasks) {
  const moves = [];
  for (const t of tasks) {
    (t.transitions || []).forEach((m, i) => moves.push({ t: Date.parse(m.at), from: i ? t.transitions[i - 1].state : "", to: m.state }));
  }
  moves.sort((a, b) => a.t - b.t);
  const counts = {};
  const out = [];
  for (const m of moves) {
    if (m.from) counts[m.from]--;
    counts[m.to] = (counts[m.to] || 0) + 1;
    if (out.length && out[out.length - 1].t === m.t) out[out.length - 1].counts = { ...counts };
    else out.push({ t: m.t, counts: { ...counts } });
  }
  return out.length ? out : [{ t: Date.now(), counts: {} }];
}

const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  el.append(...children);
  return el;
}

// chart draws the job's tasks per state over time: one line per state that occurred.
function drawChart(box, samples, total) {
  const W = 600, H = 180, L = 36, B = 22, T = 8, R = 8;
  const t0 = samples[0].t, span = Math.max(1, samples[samples.length - 1].t - t0);
  const x = (t) => L + ((t - t0) / span) * (W - L - R);
  const y = (n) => T + (1 - n / Math.max(1, total)) * (H - T - B);
  const seen = STATES.filter((s) => samples.some((p) => p.counts[s]));
  const g = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img",
    "aria-label": `Tasks per state over ${Math.round(span / 1000)} seconds: ` + countsText(samples[samples.length - 1].counts) });
  g.append(svg("line", { x1: L, y1: y(0), x2: W - R, y2: y(0), class: "axis" }),
    svg("line", { x1: L, y1: y(0), x2: L, y2: y(total), class: "axis" }),
    svg("text", { x: L - 6, y: y(total) + 4, "text-anchor": "end", class: "tick" }, String(total)),
    svg("text", { x: L - 6, y: y(0) + 4, "text-anchor": "end", class: "tick" }, "0"),
    svg("text", { x: W - R, y: H - 4, "text-anchor": "end", class: "tick" }, `${(span / 1000).toFixed(1)} s`));
  for (const s of seen) {
    // Steps: a count holds until the next sample.
    let pts = "";
    samples.forEach((p, i) => {
      const n = p.counts[s] || 0;
      if (i > 0) pts += `${x(p.t)},${y(samples[i - 1].counts[s] || 0)} `;
      pts += `${x(p.t)},${y(n)} `;
    });
    g.append(svg("polyline", { points: pts.trim(), class: "line s-" + s }));
  }
  box.replaceChildren(g, h("ul", { class: "legend" }, seen.map((s) => h("li", {}, h("span", { class: "swatch s-" + s, "aria-hidden": "true" }), s))));
}

export async function jobPage(main, id) {
  let job = await api("GET", orgPath("/jobs/" + encodeURIComponent(id)));
  const bar = h("progress", { max: 1, value: 0, "aria-label": "Progress" });
  const barText = h("span", { class: "progress-text" });
  const status = h("p", { "aria-live": "polite" });
  const info = h("div");
  const chart = h("div", { class: "card chart-box" });
  const tasksBox = h("div");
  const controls = h("div", { class: "filters" });
  const live = h("p", { class: "muted" });
  main.replaceChildren(
    h("p", {}, link("/ui/jobs", "← Jobs")),
    h("h1", {}, `Job ${job.id}`),
    h("section", { "aria-label": "Progress", class: "progress-box" }, bar, barText), status, controls, live,
    h("div", { class: "cols" }, h("section", { class: "card", "aria-label": "Job" }, h("h2", {}, "Job"), info),
      h("section", { "aria-label": "Tasks per state over time" }, h("h2", {}, "Tasks over time"), chart)),
    h("h2", {}, "Tasks"), tasksBox);

  // The chart's points: from the tasks' recorded state changes when the page has every
  // task (so it shows the job from its start), else the counts seen while watching.
  const samples = [{ t: Date.now(), counts: { ...job.counts } }];
  let history = null;
  let loadingTasks = null, again = false;
  async function loadTasks() {
    if (loadingTasks) { again = true; return; }
    loadingTasks = api("GET", orgPath(`/tasks?job=${encodeURIComponent(id)}&limit=1000`)).then((list) => {
      if (!document.body.contains(tasksBox)) return;
      if (list.items.length === job.tasks) { history = fromTransitions(list.items); drawChart(chart, history, job.tasks); }
      tasksBox.replaceChildren(h("div", { class: "table-wrap" }, h("table", { "aria-label": "Tasks" },
        h("thead", {}, h("tr", {}, ["Device", "State", "Attempt", "Detail", "Updated"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, list.items.map((t) => h("tr", {},
          h("td", {}, link("/ui/devices/" + encodeURIComponent(t.serial), t.serial)), stateCell(t.state),
          h("td", {}, t.maxAttempts > 1 ? `${t.attempt} of ${t.maxAttempts}` : String(t.attempt || "")),
          h("td", { class: "wrap" }, t.detail || ""), h("td", {}, when(t.updatedAt))))))));
    }).catch((err) => tasksBox.replaceChildren(h("p", { class: "bad" }, err.message)))
      .finally(() => { loadingTasks = null; if (again) { again = false; loadTasks(); } });
  }

  function draw() {
    const n = done(job), total = job.tasks;
    bar.max = Math.max(1, total); bar.value = n;
    const pct = total ? Math.round((100 * n) / total) : 100;
    bar.setAttribute("aria-valuetext", `${pct} %`);
    barText.textContent = `${n} of ${total} done (${pct} %)`;
    status.replaceChildren(h("strong", { class: job.state === "succeeded" ? "ok" : job.state === "running" ? "" : "bad" }, job.state),
      job.reason ? ` — ${job.reason}` : "", ": " + countsText(job.counts));
    const p = job.policy || {}, r = job.retry || {};
    info.replaceChildren(facts([
      ["Kind", job.kind], ["Parameters", job.params ? JSON.stringify(job.params) : ""],
      ["Devices", selectionText(job.selection)], ["Tasks", String(job.tasks)],
      ["Created by", job.createdByEmail ? `${job.createdByEmail} (${job.createdBy})` : job.createdBy], ["Created", when(job.createdAt)], ["Finished", when(job.finishedAt)],
      ["In flight at most", String(p.maxInFlight ?? "")], ["Starts per minute", p.maxPerMinute ? String(p.maxPerMinute) : "no limit"],
      ["Window (UTC)", p.window ? `${p.window.start}–${p.window.end}` : ""],
      ["Stop after failures", [p.abortCount ? `${p.abortCount} tasks` : "", p.abortPercent ? `${p.abortPercent} %` : ""].filter(Boolean).join(" or ")],
      ["Attempts", r.maxAttempts ? `${r.maxAttempts}, ${r.backoffSeconds} s apart` : ""],
      ["Not before", when(job.notBefore)], ["Deadline", when(job.deadline)]]));
    if (!history) drawChart(chart, samples, job.tasks);
    drawControls();
  }

  function drawControls() {
    controls.replaceChildren();
    if (!canRunJobs() || job.state !== "running" || job.cancelled) return;
    const ask = h("button", { type: "button", onclick: () => {
      controls.replaceChildren(h("span", { role: "alert" }, "Cancel this job? Tasks not started are cancelled; agents are asked to stop the rest."),
        h("button", { type: "button", class: "danger", onclick: async () => {
          showError(null);
          try { job = await api("POST", orgPath(`/jobs/${encodeURIComponent(id)}/cancel`)); draw(); } catch (err) { showError(err); drawControls(); }
        } }, "Yes, cancel the job"),
        h("button", { type: "button", class: "plain", onclick: drawControls }, "Keep it running"));
    } }, "Cancel job…");
    controls.append(ask);
  }

  draw();
  loadTasks();
  if (job.state !== "running") { live.textContent = "The job has ended."; return; }

  // Follow the job's event stream until it ends or the page is left; a broken stream is
  // opened again a few times.
  const ctrl = new AbortController();
  const forget = untilGone(bar, () => ctrl.abort());
  (async () => {
    for (let tries = 0; tries < 5 && !ctrl.signal.aborted; tries++) {
      live.textContent = "Live";
      try {
        await readEvents(orgPath(`/jobs/${encodeURIComponent(id)}/events`), ctrl.signal, (name, data) => {
          if (name !== "progress") return;
          job = JSON.parse(data);
          samples.push({ t: Date.now(), counts: { ...job.counts } });
          tries = 0;
          draw();
          loadTasks();
        });
      } catch (err) {
        if (ctrl.signal.aborted) return;
        live.textContent = "Live updates interrupted: " + err.message;
      }
      if (job.state !== "running") break;
      await new Promise((ok) => setTimeout(ok, 2000)); // before opening the stream again
    }
    forget();
    if (!ctrl.signal.aborted) live.textContent = job.state === "running" ? "Live updates stopped; reload the page to follow the job." : "The job has ended.";
  })();
}

// ---- creating a job ----

// paramFields are each kind's parameter inputs; read turns them into the API's params.
function paramFields(kind) {
  const input = (name, label, attrs) => {
    const el = h("input", { name, ...attrs });
    return [h("label", {}, label, el), el];
  };
  switch (kind) {
    case "overlay": {
      const [l, text] = input("text", "Overlay text", { required: true, maxlength: 200 });
      return { fields: [l], read: () => ({ text: text.value }) };
    }
    case "firmware": {
      const [l, version] = input("version", "AXIS OS version", { required: true, placeholder: "11.11.124" });
      const fd = h("select", { name: "factoryDefault" }, ["none", "soft", "hard"].map((v) => h("option", { value: v }, v)));
      return { fields: [l, h("label", {}, "Factory default (downgrade across major versions)", fd)],
        read: () => ({ version: version.value.trim(), ...(fd.value !== "none" ? { factoryDefault: fd.value } : {}) }) };
    }
    case "app-install": {
      const [ln, name] = input("name", "Application", { required: true });
      const [lv, version] = input("version", "Version", { required: true, placeholder: "1.2.3" });
      const start = h("input", { type: "checkbox", name: "start" });
      return { fields: [ln, lv, h("label", { class: "check" }, start, "Start it once installed")],
        read: () => ({ name: name.value.trim(), version: version.value.trim(), ...(start.checked ? { start: true } : {}) }) };
    }
    case "app-start": case "app-stop": case "app-remove": {
      const [l, name] = input("name", "Application", { required: true });
      return { fields: [l], read: () => ({ name: name.value.trim() }) };
    }
    case "params": {
      const ta = h("textarea", { name: "values", rows: 4, required: true, placeholder: "Image.I0.Appearance.Resolution=1920x1080" });
      return { fields: [h("label", {}, "Parameters, one name=value a line", ta)], read: () => {
        const values = {};
        for (const line of ta.value.split("\n")) {
          const i = line.indexOf("=");
          if (line.trim() && i > 0) values[line.slice(0, i).trim()] = line.slice(i + 1).trim();
        }
        return { values };
      } };
    }
  }
  return { fields: [h("p", { class: "muted" }, "This kind takes no parameters.")], read: () => undefined };
}

async function loadAllDevices() {
  if (state.devices) return state.devices;
  const all = [];
  let cursor = "";
  for (let i = 0; i < 100; i++) { // bounded: 100 pages of 10,000 summaries
    const page = await api("GET", orgPath(`/devices?view=summary&limit=10000${cursor ? "&cursor=" + encodeURIComponent(cursor) : ""}`));
    all.push(...page.items);
    if (!page.nextCursor) break;
    cursor = page.nextCursor;
  }
  return all;
}

export async function newJobPage(main) {
  if (!canRunJobs()) {
    main.replaceChildren(h("h1", {}, "New job"), h("p", { class: "muted" }, "Starting jobs needs the admin role."));
    return;
  }
  const q = new URLSearchParams(location.search);
  const [devices, groups] = await Promise.all([loadAllDevices(), api("GET", orgPath("/resource-groups")).catch(() => ({ items: [] }))]);
  const managed = devices.filter((d) => d.integration === "deep").sort((a, b) => (a.serial < b.serial ? -1 : 1));
  const preset = new Set(q.getAll("device"));

  const kind = h("select", { name: "kind", onchange: () => { params = paramFields(kind.value); paramBox.replaceChildren(...params.fields); } },
    KINDS.map((k) => h("option", { value: k, selected: q.get("kind") === k }, k)));
  let params = paramFields(kind.value);
  const paramBox = h("div", { class: "stack" }, params.fields);

  // Targets: chosen devices, a resource group, or every managed device.
  const way = (v, label) => h("label", { class: "check" }, h("input", { type: "radio", name: "target", value: v, checked: v === (q.get("target") || "devices"), onchange: showWay }), label);
  const boxes = managed.map((d) => h("input", { type: "checkbox", value: d.serial, checked: preset.has(d.serial), "aria-label": `Select ${d.serial}` }));
  const rows = managed.map((d, i) => h("tr", {}, h("td", {}, boxes[i]), h("td", {}, d.serial), h("td", {}, d.name || ""),
    h("td", {}, d.model || ""), h("td", { class: d.connected ? "ok" : "muted" }, d.connected ? "online" : "offline")));
  const filter = h("input", { type: "search", name: "filter", placeholder: "serial, name, model", oninput: () => {
    const t = filter.value.toLowerCase();
    managed.forEach((d, i) => { rows[i].hidden = !!t && ![d.serial, d.name, d.model].join(" ").toLowerCase().includes(t); });
  } });
  const allShown = h("button", { type: "button", class: "plain", onclick: () => boxes.forEach((b, i) => { if (!rows[i].hidden) b.checked = true; }) }, "Select all shown");
  const devBox = h("div", {}, h("div", { class: "filters" }, h("label", {}, "Filter", filter), allShown),
    managed.length ? h("div", { class: "table-wrap pick" }, h("table", { "aria-label": "Devices to include" },
      h("thead", {}, h("tr", {}, ["Select", "Serial", "Name", "Model", "Online"].map((t) => h("th", { scope: "col" }, t)))), h("tbody", {}, rows)))
      : h("p", { class: "muted" }, "No device is managed by an agent yet."));
  const group = h("select", { name: "group" }, groups.items.map((g) => h("option", { value: g.id }, g.name || g.id)));
  const groupBox = h("div", {}, groups.items.length ? h("label", {}, "Resource group", group) : h("p", { class: "muted" }, "No resource groups."));
  const allBox = h("p", { class: "muted" }, `Every device an agent manages (${managed.length} now).`);
  function showWay() {
    const v = form.querySelector("input[name=target]:checked").value;
    devBox.hidden = v !== "devices"; groupBox.hidden = v !== "group"; allBox.hidden = v !== "all";
  }

  const num = (name, label, value, attrs) => h("label", {}, label, h("input", { name, type: "number", value, ...attrs }));
  const btn = h("button", { type: "submit" }, "Start job");
  const form = h("form", { class: "job-form", "aria-label": "New job", novalidate: true, onsubmit: submit },
    h("fieldset", {}, h("legend", {}, "What"), h("label", {}, "Kind", kind), paramBox),
    h("fieldset", {}, h("legend", {}, "Devices"), h("div", { class: "filters", role: "radiogroup", "aria-label": "Devices" },
      way("devices", "Chosen devices"), way("group", "A resource group"), way("all", "All managed devices")), devBox, groupBox, allBox),
    h("fieldset", {}, h("legend", {}, "Rollout"), h("div", { class: "filters" },
      num("maxInFlight", "At most in flight", 10, { min: 1, max: 10000 }),
      num("maxPerMinute", "Starts per minute (0: no limit)", 0, { min: 0 }),
      num("abortCount", "Stop after this many failures (0: never)", 0, { min: 0 }),
      num("abortPercent", "or this % failed (0: never)", 0, { min: 0, max: 100, step: "any" }),
      num("maxAttempts", "Attempts per device", 1, { min: 1, max: 10 }),
      num("backoffSeconds", "Seconds between attempts", 30, { min: 0, max: 86400 })),
      h("div", { class: "filters" },
        h("label", {}, "Window start (UTC)", h("input", { name: "windowStart", type: "time" })),
        h("label", {}, "Window end (UTC)", h("input", { name: "windowEnd", type: "time" })),
        h("label", {}, "Not before", h("input", { name: "notBefore", type: "datetime-local" })),
        h("label", {}, "Deadline", h("input", { name: "deadline", type: "datetime-local" })))),
    btn);
  main.replaceChildren(h("p", {}, link("/ui/jobs", "← Jobs")), h("h1", {}, "New job"), form);
  showWay();

  async function submit(e) {
    e.preventDefault(); showError(null);
    for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
    const f = new FormData(form);
    const n = (k) => Number(f.get(k) || 0);
    const body = { kind: kind.value, policy: { maxInFlight: n("maxInFlight"), maxPerMinute: n("maxPerMinute"), abortCount: n("abortCount"), abortPercent: n("abortPercent") },
      retry: { maxAttempts: n("maxAttempts"), backoffSeconds: n("backoffSeconds") } };
    const p = params.read();
    if (p !== undefined) body.params = p;
    const target = f.get("target");
    if (target === "devices") body.devices = boxes.filter((b) => b.checked).map((b) => b.value);
    else if (target === "group") body.group = group.value;
    else body.all = true;
    if (f.get("windowStart") || f.get("windowEnd")) body.policy.window = { start: f.get("windowStart"), end: f.get("windowEnd") };
    for (const k of ["notBefore", "deadline"]) if (f.get(k)) body[k] = new Date(f.get(k)).toISOString();
    btn.disabled = true;
    try {
      const job = await api("POST", orgPath("/jobs"), { body });
      go("/ui/jobs/" + encodeURIComponent(job.id));
    } catch (err) {
      showError(err);
      // Mark the fields the API named.
      const names = { "policy.window.start": "windowStart", "policy.window.end": "windowEnd", "policy.window": "windowStart", "retry.maxAttempts": "maxAttempts",
        "retry.backoffSeconds": "backoffSeconds", devices: "filter" };
      for (const ip of (err.body && err.body.invalidParams) || []) {
        const name = names[ip.name] || ip.name.replace(/^(policy|params)\./, "");
        form.querySelector(`[name="${CSS.escape(name)}"]`)?.setAttribute("aria-invalid", "true");
      }
    } finally { btn.disabled = false; }
  }
}
