// Accepting an invitation: the one-time code comes in the link's fragment (#code=…, which
// the browser sends to no server, so it stays out of logs and Referer headers) or is
// typed. Signed out, the person creates their account with it and is signed in; signed
// in, they join with their account.
import { state, h, api, showError, go, link, loadOrgs } from "./lib.js";

// The code waits here while its holder signs in first (this tab only, never in a URL).
const KEPT = "invite-code";

export function invitePage(main) {
  const fromLink = new URLSearchParams(location.hash.slice(1)).get("code");
  if (fromLink) {
    sessionStorage.setItem(KEPT, fromLink);
    history.replaceState(null, "", location.pathname); // out of the address bar and history
  }
  const code = h("input", { name: "code", required: true, autocomplete: "off", spellcheck: "false",
    value: fromLink || sessionStorage.getItem(KEPT) || "", "aria-describedby": "code-help" });
  const codeRow = h("label", {}, "Invitation code", code,
    h("span", { id: "code-help", class: "muted" }, "From the link or message an admin of the organization sent you"));
  const submit = h("button", { type: "submit" }, state.token ? "Join the organization" : "Create the account and join");
  const busy = async (fn) => {
    showError(null); submit.disabled = true;
    try { await fn(); } catch (err) { showError(err); } finally { submit.disabled = false; }
  };
  const path = () => `/api/v1/invitations/${encodeURIComponent(code.value.trim())}/accept`;

  if (state.token) {
    const form = h("form", { class: "stack", "aria-label": "Accept an invitation", onsubmit: (e) => {
      e.preventDefault();
      busy(async () => joined(await api("POST", path())));
    } }, codeRow, submit);
    main.replaceChildren(h("h1", {}, "Accept an invitation"),
      h("p", {}, `You join with the account you are signed in with (${state.user}).`), form);
    (code.value ? submit : code).focus();
    return;
  }

  const email = h("input", { type: "email", name: "email", autocomplete: "username", required: true });
  const pw = h("input", { type: "password", name: "password", autocomplete: "new-password", required: true,
    minlength: 8, maxlength: 1024, "aria-describedby": "pw-help" });
  const form = h("form", { class: "stack", "aria-label": "Accept an invitation", onsubmit: (e) => {
    e.preventDefault();
    busy(async () => {
      const f = { email: email.value.trim(), password: pw.value };
      const acc = await api("POST", path(), { body: f });
      const tok = await api("POST", "/api/v1/auth/token", { form: { grant_type: "password", username: f.email, password: f.password } });
      state.token = tok.access_token; state.user = f.email;
      sessionStorage.setItem("token", state.token); sessionStorage.setItem("user", state.user);
      await joined(acc);
    });
  } }, codeRow, h("label", {}, "Your e-mail address", email),
  h("label", {}, "Choose a password", pw, h("span", { id: "pw-help", class: "muted" }, "At least 8 characters")), submit);
  main.replaceChildren(h("h1", {}, "Accept an invitation"),
    h("p", {}, "Create your account to join the organization that invited you."), form,
    h("p", {}, "Have an account already? ", link("/ui/signin?next=/ui/invite", "Sign in"), " and accept the invitation with it."));
  (code.value ? email : code).focus();
}

// joined opens the organization just joined, with the role the invitation gave.
async function joined(acc) {
  sessionStorage.removeItem(KEPT);
  sessionStorage.setItem("org", acc.org.id);
  state.devices = null;
  await loadOrgs();
  go("/ui/org", true);
}
