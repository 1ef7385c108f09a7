// openid-client v6 (panva) as a device (a TV, a command-line tool): the Device Authorization Grant (RFC 8628),
// driven by tests/interop/test_openid_client_device.py.
//
// argv[2]: JSON {issuer, client_id, scope}. The library does discovery, asks the device authorization
// endpoint for codes (initiateDeviceAuthorization), prints them as {"device": {...}} for the user (pytest, in
// Chromium, types the user code on /activate), then polls /token (pollDeviceAuthorizationGrant, which honours
// interval and slow_down) and validates the ID token. Last line: the result, or {"error"}.
import * as client from "openid-client";

const settings = JSON.parse(process.argv[2]);
const emit = (value) => process.stdout.write(JSON.stringify(value) + "\n");

async function main() {
  const config = await client.discovery(
    new URL(settings.issuer),
    settings.client_id,
    undefined,
    client.None(), // a public native client: client_id alone (RFC 8628 §3.1)
    { execute: [client.allowInsecureRequests] }, // the test IdP listens on http://127.0.0.1
  );
  const device = await client.initiateDeviceAuthorization(config, { scope: settings.scope });
  emit({ device });

  const tokens = await client.pollDeviceAuthorizationGrant(config, device);
  const claims = tokens.claims();
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  emit({
    device_authorization_endpoint: config.serverMetadata().device_authorization_endpoint,
    tokens: { ...tokens },
    id_token_claims: claims,
    userinfo,
  });
}

main().catch((err) => {
  emit({ error: err.name, code: err.code, message: err.message, cause: err.cause?.error ?? null });
  process.exitCode = 1;
});
