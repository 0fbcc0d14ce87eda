// The camcloud console: plain ES modules, no build step. It uses only the public /api/v1,
// same-origin, with the bearer token in sessionStorage (never a cookie). This module is
// the frame (navigation, organization, sign-out) and the router; each page is a module.
import { state, h, $, api, go, link, signedOut, onNavigate, showError, atLeastOperator, isAdmin, loadOrgs } from "./lib.js";
import { signInPage } from "./signin.js";
import { devicesPage, devicePage } from "./devices.js";
import { edgeHostsPage, discoveredPage } from "./edgehosts.js";
import { securityPage } from "./security.js";
import { orgPage } from "./org.js";
import { profilesPage, profilePage } from "./profiles.js";
import { releasesPage } from "./releases.js";
import { jobsPage, jobPage, newJobPage } from "./jobs.js";
import { auditPage } from "./audit.js";
import { livePage } from "./live.js";

// routes maps each page's URL to its module. Pages with a nav label are in the menu (at
// href), for the roles show allows. A page gets the URL's captured parts, decoded.
const routes = [
  { path: /^\/ui\/devices$/, page: devicesPage, nav: "Devices", href: "/ui/devices" },
  { path: /^\/ui\/devices\/([^/]+)$/, page: devicePage },
  { path: /^\/ui\/devices\/([^/]+)\/live$/, page: livePage },
  { path: /^\/ui\/edgehosts$/, page: edgeHostsPage, nav: "Edge hosts", href: "/ui/edgehosts", show: atLeastOperator },
  { path: /^\/ui\/edgehosts\/([^/]+)\/discovered$/, page: discoveredPage },
  { path: /^\/ui\/org$/, page: orgPage, nav: "Organization", href: "/ui/org" },
  { path: /^\/ui\/profiles$/, page: profilesPage, nav: "Profiles", href: "/ui/profiles", show: atLeastOperator },
  { path: /^\/ui\/profiles\/([^/]+)$/, page: profilePage },
  { path: /^\/ui\/releases$/, page: releasesPage, nav: "Releases", href: "/ui/releases" },
  { path: /^\/ui\/jobs$/, page: jobsPage, nav: "Jobs", href: "/ui/jobs", show: atLeastOperator },
  { path: /^\/ui\/jobs\/new$/, page: newJobPage },
  { path: /^\/ui\/jobs\/([^/]+)$/, page: jobPage },
  { path: /^\/ui\/audit$/, page: auditPage, nav: "Audit", href: "/ui/audit", show: isAdmin },
  { path: /^\/ui\/security$/, page: securityPage, nav: "Security", href: "/ui/security" },
];

function chrome(active) {
  const nav = $("nav");
  nav.replaceChildren();
  nav.hidden = !state.token;
  $("who").replaceChildren();
  if (!state.token) return;
  for (const r of routes) {
    if (!r.nav || (r.show && !r.show())) continue;
    nav.append(link(r.href, r.nav, { "aria-current": active === r.href ? "page" : false }));
  }
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

async function signOut() {
  try { await api("POST", "/api/v1/auth/revoke"); } catch { /* gone already */ }
  signedOut();
  go("/ui/signin");
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
    if (path === "/ui" || path === "/ui/signin") { go("/ui/devices", true); return; }
    chrome("/ui/" + path.split("/")[2]);
    if (!state.org) { main.replaceChildren(h("h1", {}, "No organization"), h("p", {}, "You are not a member of any organization yet.")); return; }
    const route = routes.find((r) => r.path.test(path));
    if (route) await route.page(main, ...path.match(route.path).slice(1).map(decodeURIComponent));
    else main.replaceChildren(h("h1", {}, "Not found"), h("p", {}, link("/ui/devices", "Go to the devices")));
    document.title = (main.querySelector("h1")?.textContent || "") + " · camcloud";
  } catch (err) {
    if (!state.token) { render(); return; }
    main.replaceChildren(h("h1", {}, "Something went wrong"));
    showError(err);
    if (err.type.endsWith("/two-factor-required")) main.append(h("p", {}, link("/ui/security", "Turn on two-step verification")));
  }
}

onNavigate(render);
addEventListener("popstate", render);
render();
