// The camcloud console: plain ES modules, no build step. It uses only the public /api/v1,
// same-origin, with the bearer token in sessionStorage (never a cookie). This module is
// the frame (navigation, organization, sign-out) and the router; each page is a module.
import { state, h, $, api, go, link, signedOut, onNavigate, showError, atLeastOperator, isAdmin, loadOrgs } from "./lib.js";
import { signInPage } from "./signin.js";

// lazy is a page of a module that is loaded when one of its routes is first shown, so
// the first view carries only the frame and the sign-in page. load starts the download
// early (the router calls it while it reads the organizations); import() loads once.
function lazy(load, name) {
  const once = () => load().catch((err) => {
    // A module that cannot be fetched (TypeError) is most likely gone with an upgrade.
    throw err instanceof TypeError ? new Error("This part of the console could not be loaded (the relay may have been updated): reload the page.", { cause: err }) : err;
  });
  return Object.assign(async (...args) => (await once())[name](...args), { load: once });
}
const devices = () => import("./devices.js");
const edgehosts = () => import("./edgehosts.js");
const profiles = () => import("./profiles.js");
const jobs = () => import("./jobs.js");

// routes maps each page's URL to its module. Pages with a nav label are in the menu (at
// href), for the roles show allows. A page gets the URL's captured parts, decoded.
const routes = [
  { path: /^\/ui\/devices$/, page: lazy(devices, "devicesPage"), nav: "Devices", href: "/ui/devices" },
  { path: /^\/ui\/devices\/([^/]+)$/, page: lazy(devices, "devicePage") },
  { path: /^\/ui\/devices\/([^/]+)\/live$/, page: lazy(() => import("./live.js"), "livePage") },
  { path: /^\/ui\/edgehosts$/, page: lazy(edgehosts, "edgeHostsPage"), nav: "Edge hosts", href: "/ui/edgehosts", show: atLeastOperator },
  { path: /^\/ui\/edgehosts\/([^/]+)\/discovered$/, page: lazy(edgehosts, "discoveredPage") },
  { path: /^\/ui\/org$/, page: lazy(() => import("./org.js"), "orgPage"), nav: "Organization", href: "/ui/org" },
  { path: /^\/ui\/profiles$/, page: lazy(profiles, "profilesPage"), nav: "Profiles", href: "/ui/profiles", show: atLeastOperator },
  { path: /^\/ui\/profiles\/([^/]+)$/, page: lazy(profiles, "profilePage") },
  { path: /^\/ui\/releases$/, page: lazy(() => import("./releases.js"), "releasesPage"), nav: "Releases", href: "/ui/releases" },
  { path: /^\/ui\/jobs$/, page: lazy(jobs, "jobsPage"), nav: "Jobs", href: "/ui/jobs", show: atLeastOperator },
  { path: /^\/ui\/jobs\/new$/, page: lazy(jobs, "newJobPage") },
  { path: /^\/ui\/jobs\/([^/]+)$/, page: lazy(jobs, "jobPage") },
  { path: /^\/ui\/audit$/, page: lazy(() => import("./audit.js"), "auditPage"), nav: "Audit", href: "/ui/audit", show: isAdmin },
  { path: /^\/ui\/security$/, page: lazy(() => import("./security.js"), "securityPage"), nav: "Security", href: "/ui/security" },
  // Public pages work signed out too, and without an organization.
  { path: /^\/ui\/invite$/, page: lazy(() => import("./invite.js"), "invitePage"), public: true },
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
  const route = routes.find((r) => r.path.test(path));
  const args = route ? path.match(route.path).slice(1).map(decodeURIComponent) : [];
  if (!state.token && !route?.public) {
    chrome("");
    if (path !== "/ui/signin") {
      history.replaceState(null, "", "/ui/signin" + (path !== "/ui" ? "?next=" + encodeURIComponent(location.pathname + location.search) : ""));
    }
    signInPage(main);
    return;
  }
  try {
    route?.page.load?.().catch(() => {}); // while the organizations load; the page reports a failure
    if (state.token && !state.orgs.length) await loadOrgs();
    if (path === "/ui" || path === "/ui/signin") { go("/ui/devices", true); return; }
    chrome("/ui/" + path.split("/")[2]);
    if (!state.org && !route?.public) {
      main.replaceChildren(h("h1", {}, "No organization"), h("p", {}, "You are not a member of any organization yet."),
        h("p", {}, link("/ui/invite", "Accept an invitation")));
      return;
    }
    if (route) await route.page(main, ...args);
    else main.replaceChildren(h("h1", {}, "Not found"), h("p", {}, link("/ui/devices", "Go to the devices")));
    document.title = (main.querySelector("h1")?.textContent || "") + " · camcloud";
  } catch (err) {
    if (!state.token && !route?.public) { render(); return; }
    main.replaceChildren(h("h1", {}, "Something went wrong"));
    showError(err);
    if (err.type?.endsWith("/two-factor-required")) main.append(h("p", {}, link("/ui/security", "Turn on two-step verification")));
  }
}

onNavigate(render);
addEventListener("popstate", render);
render();
