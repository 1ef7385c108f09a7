// oidc_flows admin: a copy button beside the shown-once secret; clicking a scope chip adds it to the scope field.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("code.oidc-secret").forEach(function (code) {
    if (!navigator.clipboard) { return; }
    const button = document.createElement("button");
    button.type = "button";
    button.className = "button oidc-copy";
    button.textContent = "Copy";
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(code.textContent.trim()).then(function () { button.textContent = "Copied"; });
    });
    code.insertAdjacentElement("afterend", button);
  });
  document.querySelectorAll(".oidc-scope-picker").forEach(function (picker) {
    const input = document.getElementById(picker.dataset.target);
    picker.addEventListener("click", function (event) {
      const chip = event.target.closest("button.oidc-chip");
      if (!chip || !input) { return; }
      const scopes = input.value.split(/\s+/).filter(Boolean);
      if (!scopes.includes(chip.textContent)) { scopes.push(chip.textContent); }
      input.value = scopes.join(" ");
      input.focus();
    });
  });
});
