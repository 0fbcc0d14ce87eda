// Organization: its facts and settings, its members and their roles, invitations.
// Members and invitations are for admins only (the API refuses them to other roles), so
// other roles see the organization's facts and what their role allows.
import { state, h, api, showError, refresh, isAdmin, orgPath, facts, when, confirmAction, roles, loadOrgs } from "./lib.js";

const allows = {
  viewer: "see the devices and their live video",
  operator: "see and operate the devices and edge hosts, and read the profiles",
};

export async function orgPage(main) {
  const org = await api("GET", orgPath(""));
  const win = org.maintenanceWindow;
  const parts = [h("h1", {}, "Organization"), facts([
    ["Name", org.name], ["ID", org.id], ["Created", when(org.createdAt)], ["Your role", org.role],
    ["Two-step verification", org.requireTwoFactor ? "required of every member" : "not required"],
    ["Maintenance window (UTC)", win ? `${win.start}–${win.end}` : "none: changes are made at once"],
  ])];
  if (!isAdmin()) {
    parts.push(h("p", { class: "muted" }, `Your role (${org.role}) lets you ${allows[org.role] || "use this organization"}. ` +
      "Its admins manage its settings, members and invitations."));
    main.replaceChildren(...parts);
    return;
  }
  const [members, invitations] = await Promise.all([api("GET", orgPath("/members")), api("GET", orgPath("/invitations"))]);
  parts.push(settingsForm(org), h("h2", { id: "members" }, "Members"), membersTable(members.items),
    h("h2", { id: "invitations" }, "Invitations"), inviteForm(), invitationsTable(invitations.items));
  main.replaceChildren(...parts);
}

function settingsForm(org) {
  const name = h("input", { name: "orgname", required: true, maxlength: 100, value: org.name });
  const tfa = h("input", { type: "checkbox", name: "requireTwoFactor", checked: !!org.requireTwoFactor });
  const start = h("input", { type: "time", name: "windowStart", value: org.maintenanceWindow?.start || "" });
  const end = h("input", { type: "time", name: "windowEnd", value: org.maintenanceWindow?.end || "" });
  return h("form", { class: "card stack-wide", "aria-label": "Organization settings", onsubmit: async (e) => {
    e.preventDefault(); showError(null);
    const body = {};
    if (name.value.trim() !== org.name) body.name = name.value.trim();
    if (tfa.checked !== !!org.requireTwoFactor) body.requireTwoFactor = tfa.checked;
    if (start.value !== (org.maintenanceWindow?.start || "") || end.value !== (org.maintenanceWindow?.end || "")) {
      body.maintenanceWindow = { start: start.value, end: end.value };
    }
    if (!Object.keys(body).length) return;
    try {
      const o = await api("PATCH", orgPath(""), { body });
      Object.assign(state.org, { name: o.name, requireTwoFactor: o.requireTwoFactor });
      refresh();
    } catch (err) { showError(err); }
  } }, h("h2", {}, "Settings"),
  h("label", {}, "Name", name),
  h("label", { class: "check" }, tfa, "Require two-step verification of every member"),
  h("p", { class: "muted" }, "You must have it on yourself (Security) to require it; members without it can then do nothing here until they turn it on."),
  h("fieldset", {}, h("legend", {}, "Maintenance window, UTC (empty: none)"),
    h("div", { class: "filters" }, h("label", {}, "From", start), h("label", {}, "To", end))),
  h("div", {}, h("button", { type: "submit" }, "Save")));
}

function membersTable(items) {
  const rows = items.map((m) => {
    const sel = h("select", { "aria-label": `Role of ${m.email}`, onchange: async () => {
      showError(null);
      const to = sel.value;
      if (!await confirmAction(`Change the role of ${m.email} from ${m.role} to ${to}?`, "Change role")) { sel.value = m.role; return; }
      try { await api("PATCH", orgPath(`/members/${encodeURIComponent(m.userId)}`), { body: { role: to } }); await changed(m); }
      catch (err) { sel.value = m.role; showError(err); }
    } }, roles.map((r) => h("option", { value: r, selected: r === m.role }, r)));
    const remove = h("button", { type: "button", class: "plain", "aria-label": `Remove ${m.email}`, onclick: async () => {
      showError(null);
      if (!await confirmAction(`Remove ${m.email} from this organization? Their access ends at once.`, "Remove")) return;
      try { await api("DELETE", orgPath(`/members/${encodeURIComponent(m.userId)}`)); await changed(m); }
      catch (err) { showError(err); }
    } }, "Remove");
    return h("tr", {}, h("td", {}, m.email, isMe(m) ? h("span", { class: "muted" }, " (you)") : ""),
      h("td", { "data-role": m.role }, sel), h("td", {}, when(m.addedAt)), h("td", {}, remove));
  });
  return h("div", { class: "table-wrap" }, h("table", { "aria-label": "Members" },
    h("thead", {}, h("tr", {}, ["E-mail", "Role", "Added", h("span", { class: "sr-only" }, "Actions")].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, rows)));
}

// isMe: the member is the person signed in (by the address they signed in with).
const isMe = (m) => m.email.toLowerCase() === state.user.trim().toLowerCase();

// changed draws the page again after a member changed; when the member was the person
// signed in, their organizations and roles are read again first (the page and the menu
// follow the new role, or another organization after leaving this one).
async function changed(m) {
  if (isMe(m)) await loadOrgs();
  refresh();
}

function inviteForm() {
  const email = h("input", { type: "email", name: "inviteEmail", required: true, autocomplete: "off" });
  const role = h("select", { name: "inviteRole" }, roles.map((r) => h("option", { value: r, selected: r === "viewer" }, r)));
  const out = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "filters", "aria-label": "Invite a member", onsubmit: async (e) => {
    e.preventDefault(); showError(null);
    try {
      const inv = await api("POST", orgPath("/invitations"), { body: { email: email.value.trim(), role: role.value } });
      // The code is in the link's fragment, which browsers send to no server.
      const url = `${location.origin}/ui/invite#code=${encodeURIComponent(inv.code)}`;
      out.replaceChildren(h("div", { class: "card" },
        h("p", {}, `Send this link to ${inv.email} (it works once, until ${when(inv.expiresAt)}; it is not shown again):`),
        copyRow(h("code", { class: "invite-link" }, url), url, "Copy link"),
        h("p", { class: "muted" }, "It opens a page where they create their account, or sign in, and join. Or send the code, which they can type on that page:"),
        copyRow(h("code", { class: "invite-code" }, inv.code), inv.code, "Copy code")));
      email.value = "";
      await drawInvitations(form.parentNode);
    } catch (err) { showError(err); }
  } }, h("label", {}, "E-mail", email), h("label", {}, "Role", role), h("button", { type: "submit" }, "Invite"));
  return h("div", {}, form, out);
}

// copyRow shows a value with a button that copies it.
function copyRow(shown, value, label) {
  const copied = h("span", { class: "muted", "aria-live": "polite" });
  return h("p", { class: "copy" }, shown, h("button", { type: "button", onclick: async () => {
    try { await navigator.clipboard.writeText(value); copied.textContent = "Copied."; }
    catch { copied.textContent = "Select it and copy it."; }
  } }, label), copied);
}

// drawInvitations replaces the invitation table (after an invitation), keeping the code shown.
async function drawInvitations(near) {
  const list = await api("GET", orgPath("/invitations"));
  near.parentNode.querySelector("[data-invitations]").replaceWith(invitationsTable(list.items));
}

function invitationsTable(items) {
  const now = Date.now();
  const pending = items.filter((i) => !i.acceptedAt && new Date(i.expiresAt).getTime() > now);
  if (!pending.length) return h("p", { class: "muted", "data-invitations": "" }, "No pending invitations.");
  return h("div", { class: "table-wrap", "data-invitations": "" }, h("table", { "aria-label": "Pending invitations" },
    h("thead", {}, h("tr", {}, ["E-mail", "Role", "Sent", "Expires", h("span", { class: "sr-only" }, "Actions")].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, pending.map((i) => h("tr", {}, h("td", {}, i.email || "anyone with the code"), h("td", {}, i.role),
      h("td", {}, when(i.createdAt)), h("td", {}, when(i.expiresAt)),
      h("td", {}, h("button", { type: "button", class: "plain", "aria-label": `Revoke the invitation of ${i.email || i.id}`, onclick: async () => {
        showError(null);
        try { await api("DELETE", orgPath(`/invitations/${encodeURIComponent(i.id)}`)); refresh(); }
        catch (err) { showError(err); }
      } }, "Revoke")))))));
}
