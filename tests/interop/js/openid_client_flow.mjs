// openid-client v6 (panva) signing a user in at the IdP, driven by tests/interop/test_openid_client.py.
//
// argv[2]: JSON {issuer, client_id, client_secret, redirect_uri, scope, response_type, dpop}. With "dpop" the
// library holds a DPoP key (RFC 9449) and sends proofs to /token and userinfo, retrying on use_dpop_nonce.
// The library does discovery, builds the authorization URL, validates the callback and the ID token, and
// makes the token, userinfo and refresh calls. The browser part is pytest's: this script prints
// {"authorization_url"} and reads the URL the user came back to (one line on stdin). Last line: the result.
import * as client from "openid-client";
import { createInterface } from "node:readline";

const settings = JSON.parse(process.argv[2]);
const emit = (value) => process.stdout.write(JSON.stringify(value) + "\n");
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

async function main() {
  const config = await client.discovery(
    new URL(settings.issuer),
    settings.client_id,
    undefined,
    client.ClientSecretBasic(settings.client_secret),
    { execute: [client.allowInsecureRequests] }, // the test IdP listens on http://127.0.0.1
  );
  if (settings.response_type === "code id_token") client.useCodeIdTokenResponseType(config);

  const dpopKeys = settings.dpop ? await client.randomDPoPKeyPair("ES256") : null;
  const options = dpopKeys ? { DPoP: client.getDPoPHandle(config, dpopKeys) } : undefined;

  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: settings.redirect_uri,
    scope: settings.scope,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state,
    nonce,
  });
  emit({ authorization_url: url.href });
  const callback = (await lines.next()).value;

  const tokens = await client.authorizationCodeGrant(
    config,
    new URL(callback),
    { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true },
    undefined,
    options,
  );
  const claims = tokens.claims();
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub, options);
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token, undefined, options);
  const metadata = config.serverMetadata();
  emit({
    issuer: metadata.issuer,
    token_endpoint: metadata.token_endpoint,
    nonce,
    tokens: { ...tokens },
    id_token_claims: claims,
    userinfo,
    refreshed: { ...refreshed },
    refreshed_id_token_claims: refreshed.claims(),
    dpop_public_key: dpopKeys ? await crypto.subtle.exportKey("jwk", dpopKeys.publicKey) : null,
  });
}

main()
  .catch((err) => {
    emit({ error: err.name, code: err.code, message: err.message, cause: err.cause?.error ?? null });
    process.exitCode = 1;
  })
  .finally(() => process.stdin.destroy());
