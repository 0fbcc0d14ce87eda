// Edge hosts (enrolment, online state) and the devices they discovered (onboarding).
import { state, h, api, showError, link, isAdmin, orgPath, when } from "./lib.js";

export async function edgeHostsPage(main) {
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

export async function discoveredPage(main, id) {
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
