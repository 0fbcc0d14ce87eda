// Security: turning two-step verification on and off, recovery codes.
import { h, api, showError, refresh } from "./lib.js";

export async function securityPage(main) {
  const st = await api("GET", "/api/v1/auth/two-factor");
  const out = h("div", { "aria-live": "polite" });
  const code = h("input", { name: "code", inputmode: "numeric", autocomplete: "one-time-code", required: true });
  const parts = [h("h1", {}, "Security"), h("h2", {}, "Two-step verification"),
    h("p", {}, st.enabled ? `On. ${st.recoveryCodesLeft} recovery codes left.` : "Off.")];
  if (!st.enabled) {
    const secret = h("div");
    parts.push(h("button", { type: "button", onclick: async () => {
      try {
        const en = await api("POST", "/api/v1/auth/two-factor");
        secret.replaceChildren(h("p", {}, "Add this key to your authenticator app, then enter the code it shows:"),
          h("pre", {}, en.secret), h("p", { class: "muted" }, en.uri),
          h("form", { class: "stack", "aria-label": "Confirm two-step verification", onsubmit: async (e) => {
            e.preventDefault(); showError(null);
            try {
              const rc = await api("POST", "/api/v1/auth/two-factor/confirm", { body: { code: code.value.trim() } });
              out.replaceChildren(h("p", { class: "ok" }, "Two-step verification is on. Keep these recovery codes safe; each works once:"),
                h("pre", {}, rc.recoveryCodes.join("\n")));
              secret.replaceChildren();
            } catch (err) { showError(err); }
          } }, h("label", {}, "Code", code), h("button", { type: "submit" }, "Turn on")));
      } catch (err) { showError(err); }
    } }, "Set up an authenticator app"), secret);
  } else {
    parts.push(h("form", { class: "stack", "aria-label": "Turn off two-step verification", onsubmit: async (e) => {
      e.preventDefault(); showError(null);
      try { await api("POST", "/api/v1/auth/two-factor/disable", { body: { code: code.value.trim() } }); refresh(); }
      catch (err) { showError(err); }
    } }, h("label", {}, "Code (or a recovery code)", code), h("button", { type: "submit" }, "Turn off")));
  }
  main.replaceChildren(...parts, out);
}
