// The harness: okta-auth-js, the SDK Okta ships for browsers, on this page's own origin. Every call to the
// IdP is the SDK's own fetch: the Authentication API (/api/v1/authn, with credentials, so it needs CORS for a
// trusted origin), the discovery document, /token and the JWKS. The test drives it step by step with
// page.evaluate: each step returns a JSON summary of what the SDK made of the answer (or {error}) and lists
// it on the page, for the screenshots. The callback page writes its outcome into #result.

const harness = { client: null, transaction: null };

function authClient() {
  if (!harness.client) {
    harness.client = new OktaAuth({
      issuer: window.HARNESS_CONFIG.issuer,
      clientId: window.HARNESS_CONFIG.clientId,
      redirectUri: `${location.origin}/callback.html`,
      scopes: ["openid", "profile", "email"],
      restoreOriginalUri: async () => {}, // stay on the callback page: the test reads it
    });
  }
  return harness.client;
}

function methodsOf(object) {
  return Object.keys(object)
    .filter((key) => typeof object[key] === "function")
    .sort();
}

// What the SDK made of an answer: its status, the fields it copied from the body, and the methods it derived
// from the _links (a link becomes a method only with hints.allow of exactly one verb).
function describe(transaction) {
  const summary = { status: transaction.status, methods: methodsOf(transaction) };
  for (const key of ["sessionToken", "expiresAt", "factorResult", "factorType", "recoveryType"]) {
    if (transaction[key] !== undefined) summary[key] = transaction[key];
  }
  summary.hasStateToken = Boolean(transaction.data && transaction.data.stateToken);
  if (transaction.user) {
    summary.user = { id: transaction.user.id, login: transaction.user.profile && transaction.user.profile.login };
  }
  if (Array.isArray(transaction.factors)) {
    summary.factors = transaction.factors.map((factor) => ({
      id: factor.id,
      factorType: factor.factorType,
      provider: factor.provider,
      methods: methodsOf(factor),
    }));
  }
  return summary;
}

function failure(error) {
  return {
    error: {
      name: error && error.name,
      message: error && error.message,
      errorCode: error && error.errorCode,
      errorSummary: error && error.errorSummary,
      errorCauses: error && error.errorCauses,
      status: error && error.xhr ? error.xhr.status : undefined,
    },
  };
}

function show(name, outcome) {
  const item = document.createElement("li");
  const text = JSON.stringify(outcome);
  item.textContent = `${name}: ${text.length > 400 ? `${text.slice(0, 400)}…` : text}`;
  document.getElementById("steps").appendChild(item);
  document.getElementById("result").textContent = JSON.stringify({ step: name, ...outcome });
}

async function step(name, action) {
  let outcome;
  try {
    outcome = await action();
  } catch (error) {
    outcome = failure(error);
  }
  show(name, outcome);
  return outcome;
}

// 1. The Authentication API: primary authentication.
function signIn(username, password) {
  return step("signInWithCredentials", async () => {
    harness.transaction = await authClient().signInWithCredentials({ username, password });
    return describe(harness.transaction);
  });
}

// 2. MFA_REQUIRED: the TOTP factor's verify link, with the code the test computed.
function verifyTotp(passCode) {
  return step("factor.verify", async () => {
    const factors = (harness.transaction && harness.transaction.factors) || [];
    const factor = factors.find((candidate) => candidate.factorType === "token:software:totp");
    if (!factor) throw new Error("the transaction lists no token:software:totp factor");
    harness.transaction = await factor.verify({ passCode });
    return describe(harness.transaction);
  });
}

// 3. The sessionToken to /authorize (PKCE); the browser leaves for the IdP and comes back to callback.html.
// Not awaited by the test: only a failure before the navigation is reported here.
function redirectWithSessionToken(sessionToken) {
  return step("token.getWithRedirect", async () => {
    await authClient().token.getWithRedirect({ sessionToken, scopes: ["openid", "profile", "email"] });
    return { redirecting: true };
  });
}

// callback.html: the code exchange at /token (PKCE) and the ID token's verification, all by the SDK.
async function finishSignIn() {
  await step("handleLoginRedirect", async () => {
    const client = authClient();
    const isLoginRedirect = client.isLoginRedirect();
    await client.handleLoginRedirect();
    const { idToken, accessToken } = await client.tokenManager.getTokens();
    return {
      isLoginRedirect,
      idToken: idToken && idToken.idToken,
      idTokenClaims: idToken && idToken.claims,
      accessToken: accessToken && accessToken.accessToken,
      tokenType: accessToken && accessToken.tokenType,
      scopes: accessToken && accessToken.scopes,
      search: location.search, // emptied by the SDK once it has read the code
    };
  });
}

// 4. Password recovery by email: the mailed token, then a new password.
function forgotPassword(username) {
  return step("forgotPassword", async () => {
    harness.transaction = await authClient().forgotPassword({ username, factorType: "EMAIL" });
    return describe(harness.transaction);
  });
}

function verifyRecoveryToken(recoveryToken) {
  return step("verifyRecoveryToken", async () => {
    harness.transaction = await authClient().verifyRecoveryToken({ recoveryToken });
    return describe(harness.transaction);
  });
}

function resetPassword(newPassword) {
  return step("resetPassword", async () => {
    if (!harness.transaction || typeof harness.transaction.resetPassword !== "function") {
      throw new Error("the transaction has no resetPassword method (no _links.next named resetPassword)");
    }
    harness.transaction = await harness.transaction.resetPassword({ newPassword });
    return describe(harness.transaction);
  });
}

// A smoke test of the bundle alone: the SDK constructs, and derives the URLs it will call.
function selfCheck() {
  return step("selfCheck", async () => {
    const client = authClient();
    return {
      version: client._oktaUserAgent.getVersion(),
      issuerOrigin: client.getIssuerOrigin(),
      issuer: client.options.issuer,
      redirectUri: client.options.redirectUri,
      pkce: client.isPKCE(),
    };
  });
}
