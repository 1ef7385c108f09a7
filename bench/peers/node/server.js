// node-oidc-provider as the benchmark's peer: client_credentials issuing JWT access tokens signed RS256
// (the default resource) or ES256 (resource https://es256.example/), opaque ones for introspection,
// JWKS and discovery. Started by bench/run.py:
//   PORT=... BENCH_CLIENT_SECRET=... node server.js
import { generateKeyPairSync, randomBytes } from 'node:crypto';

import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });

const JWT_API = 'https://api.example/';
const OPAQUE_API = 'https://opaque.example/'; // introspection: JWT access tokens are not stored, opaque ones are
const ES256_API = 'https://es256.example/'; // the same JWT access token, signed with the P-256 key

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'bench-service',
    client_secret: process.env.BENCH_CLIENT_SECRET,
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: {
    keys: [
      { ...rsa, kid: 'bench-rs256', alg: 'RS256', use: 'sig' },
      { ...ec, kid: 'bench-es256', alg: 'ES256', use: 'sig' },
    ],
  },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  ttl: { ClientCredentials: 3600 },
  scopes: ['openid', 'offline_access', 'api:read'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => JWT_API,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resource) => ({
        scope: 'api:read',
        audience: resource,
        accessTokenTTL: 3600,
        accessTokenFormat: resource === OPAQUE_API ? 'opaque' : 'jwt',
        jwt: { sign: { alg: resource === ES256_API ? 'ES256' : 'RS256' } },
      }),
    },
  },
});
provider.proxy = false;
provider.listen(port, '127.0.0.1', () => console.log(`listening on ${issuer}`));
