/*
 * Passkeys on the hosted pages (W3C WebAuthn Level 2), without dependencies.
 *
 * A form with data-webauthn="create" or "get" and data-webauthn-options="<id of a JSON script>"
 * holds the options the server made (py_webauthn's options_to_json_dict: base64url strings for the
 * challenge, user.id and credential ids). Submitting the form calls navigator.credentials.create()
 * or .get(), puts the PublicKeyCredential as JSON (every binary field base64url) into the form's
 * hidden "credential" input and submits it. Problems are shown in data-webauthn-status (role=alert).
 */
(function () {
  "use strict";

  function toBytes(value) {
    var base64 = value.replace(/-/g, "+").replace(/_/g, "/");
    base64 += "====".slice(0, (4 - (base64.length % 4)) % 4);
    var raw = atob(base64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i += 1) {
      bytes[i] = raw.charCodeAt(i);
    }
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    if (!buffer) {
      return null;
    }
    var bytes = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < bytes.length; i += 1) {
      raw += String.fromCharCode(bytes[i]);
    }
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (item) {
      var copy = Object.assign({}, item, { id: toBytes(item.id) });
      return copy;
    });
  }

  function creationOptions(json) {
    var options = Object.assign({}, json);
    options.challenge = toBytes(json.challenge);
    options.user = Object.assign({}, json.user, { id: toBytes(json.user.id) });
    options.excludeCredentials = descriptors(json.excludeCredentials);
    return options;
  }

  function requestOptions(json) {
    var options = Object.assign({}, json);
    options.challenge = toBytes(json.challenge);
    options.allowCredentials = descriptors(json.allowCredentials);
    return options;
  }

  function credentialJSON(credential) {
    var response = credential.response;
    var body = {
      clientDataJSON: toBase64url(response.clientDataJSON)
    };
    if (response.attestationObject) {
      body.attestationObject = toBase64url(response.attestationObject);
      body.transports = typeof response.getTransports === "function" ? response.getTransports() : [];
    } else {
      body.authenticatorData = toBase64url(response.authenticatorData);
      body.signature = toBase64url(response.signature);
      body.userHandle = toBase64url(response.userHandle);
    }
    return {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
      response: body
    };
  }

  function text(name) {
    var holder = document.getElementById("webauthn-messages");
    var item = holder && holder.content.querySelector('[data-name="' + name + '"]');
    return item ? item.textContent : name;
  }

  function show(status, message, focus) {
    if (!status) {
      return;
    }
    status.textContent = message;
    status.hidden = !message;
    if (message && focus) {
      status.focus();
    }
  }

  function setUp(form) {
    var mode = form.getAttribute("data-webauthn");
    var source = document.getElementById(form.getAttribute("data-webauthn-options"));
    var status = document.getElementById(form.getAttribute("data-webauthn-status"));
    var button = form.querySelector("button[type=submit]");
    if (!window.PublicKeyCredential || !navigator.credentials || !source) {
      show(status, text("unsupported"), false);
      if (button) {
        button.disabled = true;
      }
      return;
    }
    var busy = false;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (busy) {
        return;
      }
      busy = true;
      if (button) {
        button.setAttribute("aria-busy", "true");
      }
      show(status, "", false);
      var json = JSON.parse(source.textContent);
      var call = mode === "create"
        ? navigator.credentials.create({ publicKey: creationOptions(json) })
        : navigator.credentials.get({ publicKey: requestOptions(json) });
      call.then(function (credential) {
        if (!credential) {
          throw new Error("no credential");
        }
        form.elements.credential.value = JSON.stringify(credentialJSON(credential));
        form.submit();
      }).catch(function () {
        // NotAllowedError (cancelled or timed out), InvalidStateError (registered already), ...
        busy = false;
        if (button) {
          button.removeAttribute("aria-busy");
        }
        show(status, text("cancelled"), true);
      });
    });
  }

  document.querySelectorAll("form[data-webauthn]").forEach(setUp);
})();
