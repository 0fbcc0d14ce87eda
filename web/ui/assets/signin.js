// The sign-in page: password grant, then the two-step verification code when asked.
import { state, h, api, showError, go } from "./lib.js";

export function signInPage(main) {
  let needOTP = false;
  const email = h("input", { type: "email", name: "username", autocomplete: "username", required: true });
  const pw = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
  const otp = h("input", { name: "otp", inputmode: "numeric", autocomplete: "one-time-code", "aria-describedby": "otp-help" });
  const otpRow = h("label", { hidden: true }, "Verification code", otp,
    h("span", { id: "otp-help", class: "muted" }, "From your authenticator app, or a recovery code"));
  const submit = h("button", { type: "submit" }, "Sign in");
  const form = h("form", { class: "stack", "aria-label": "Sign in", onsubmit: async (e) => {
    e.preventDefault(); showError(null); submit.disabled = true;
    const f = { grant_type: "password", username: email.value.trim(), password: pw.value };
    if (needOTP && otp.value.trim()) f.otp = otp.value.trim();
    try {
      const tok = await api("POST", "/api/v1/auth/token", { form: f });
      state.token = tok.access_token; state.user = f.username;
      sessionStorage.setItem("token", state.token); sessionStorage.setItem("user", state.user);
      // The router reads the organizations while it loads the next page's module.
      const next = new URLSearchParams(location.search).get("next");
      go(next && next.startsWith("/ui/") ? next : "/ui/devices", true);
    } catch (err) {
      if (err.type.endsWith("/otp-required")) {
        needOTP = true; otpRow.hidden = false; otp.focus();
      } else showError(err);
    } finally { submit.disabled = false; }
  } },
  h("label", {}, "E-mail", email), h("label", {}, "Password", pw), otpRow, submit);
  main.replaceChildren(h("h1", {}, "Sign in"), form);
  email.focus();
}
