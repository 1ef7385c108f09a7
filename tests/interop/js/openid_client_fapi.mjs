// openid-client v6 (panva) completing a FAPI 2.0 flow, driven by tests/interop/test_openid_client_fapi.py:
// private_key_jwt client authentication, a pushed authorization request (PAR), PKCE S256, DPoP-bound
// tokens, the `iss` authorization response parameter, then userinfo and a refresh with the bound token.
//
// argv[2]: JSON {issuer, client_id, private_jwk, redirect_uri, scope}. The browser part is pytest's: this
// script prints {"authorization_url"} and reads the URL the user came back to (one line on stdin).
// Last line: the result, or {"error", ...}.
import * as client from "openid-client";
import { createInterface } from "node:readline";

const settings = JSON.parse(process.argv[2]);
const emit = (value) => process.stdout.write(JSON.stringify(value) + "\n");
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

async function privateKey(jwk) {
  const algorithm =
    jwk.kty === "EC" ? { name: "ECDSA", namedCurve: jwk.crv } : { name: "RSA-PSS", hash: "SHA-256" };
  const key = await crypto.subtle.importKey("jwk", jwk, algorithm, false, ["sign"]);
  return { key, kid: jwk.kid };
}

async function main() {
  const config = await client.discovery(
    new URL(settings.issuer),
    settings.client_id,
    undefined,
    client.PrivateKeyJwt(await privateKey(settings.private_jwk)),
    { execute: [client.allowInsecureRequests] }, // the test IdP listens on http://127.0.0.1
  );
  const dpop = client.getDPoPHandle(config, await client.randomDPoPKeyPair("ES256"));

  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = await client.buildAuthorizationUrlWithPAR(
    config,
    {
      redirect_uri: settings.redirect_uri,
      scope: settings.scope,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
      state,
      nonce,
    },
    { DPoP: dpop },
  );
  emit({ authorization_url: url.href });
  const callback = (await lines.next()).value;

  const tokens = await client.authorizationCodeGrant(
    config,
    new URL(callback),
    { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true },
    undefined,
    { DPoP: dpop },
  );
  const claims = tokens.claims();
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub, { DPoP: dpop });
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token, undefined, { DPoP: dpop });
  const metadata = config.serverMetadata();
  emit({
    issuer: metadata.issuer,
    par_endpoint: metadata.pushed_authorization_request_endpoint,
    authorization_url: url.href,
    nonce,
    tokens: { ...tokens },
    id_token_claims: claims,
    userinfo,
    refreshed: { ...refreshed },
  });
}

main()
  .catch((err) => {
    emit({ error: err.name, code: err.code, message: err.message, cause: err.cause?.error ?? err.cause ?? null });
    process.exitCode = 1;
  })
  .finally(() => process.stdin.destroy());
