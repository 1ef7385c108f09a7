// The SPA: oidc-client-ts signs the user in with the Authorization Code flow and PKCE. Every call to
// the IdP after the redirect is the library's own fetch from this origin: discovery, the code exchange
// at /token, userinfo (with an Authorization header, hence a CORS preflight) and a refresh at /token.
// The outcome is written as JSON into #result for the test to read.

function userManager() {
  return new oidc.UserManager({
    authority: window.SPA_CONFIG.authority,
    client_id: window.SPA_CONFIG.client_id,
    redirect_uri: `${location.origin}/callback.html`,
    response_type: "code",
    scope: "openid profile email offline_access",
    loadUserInfo: true,
    automaticSilentRenew: false,
    userStore: new oidc.WebStorageStateStore({ store: window.sessionStorage }),
  });
}

function show(value) {
  document.getElementById("result").textContent = JSON.stringify(value);
}

async function finishSignIn() {
  const manager = userManager();
  try {
    const user = await manager.signinRedirectCallback();
    const first = { access_token: user.access_token, refresh_token: user.refresh_token, profile: user.profile };
    const refreshed = await manager.signinSilent(); // with a refresh token: a refresh_token grant by fetch
    show({
      signed_in: first,
      refreshed: { access_token: refreshed.access_token, refresh_token: refreshed.refresh_token, scope: refreshed.scope },
    });
  } catch (error) {
    show({ error: String(error), name: error.name });
  }
}

// probe.html: call /userinfo (with an access token) and /token (with a refresh token nobody issued) from
// this page's origin and report what the page could read, or "blocked" when the browser hid the answer
// (no CORS grant for this origin). The test opens it from the SPA's origin and from a foreign one.
async function probe(settings) {
  async function attempt(url, init) {
    try {
      const response = await fetch(url, init);
      return { status: response.status, body: await response.text() };
    } catch (error) {
      return { blocked: true, error: String(error) };
    }
  }
  const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: settings.refresh_token,
                                     client_id: window.SPA_CONFIG.client_id });
  show({
    userinfo: await attempt(settings.userinfo, { headers: { Authorization: `Bearer ${settings.access_token}` } }),
    token: await attempt(settings.token, { method: "POST", body: form }),
  });
}
