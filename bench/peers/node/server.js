// node-oidc-provider as the benchmark's peer: client_credentials issuing RS256 JWT access tokens
// (resource indicators), introspection, JWKS and discovery. Started by bench/run.py:
//   PORT=... BENCH_CLIENT_SECRET=... node server.js
import { generateKeyPairSync, randomBytes } from 'node:crypto';

import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const jwk = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });

const JWT_API = 'https://api.example/';
const OPAQUE_API = 'https://opaque.example/'; // introspection: JWT access tokens are not stored, opaque ones are

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'bench-service',
    client_secret: process.env.BENCH_CLIENT_SECRET,
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [{ ...jwk, kid: 'bench-rs256', alg: 'RS256', use: 'sig' }] },
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
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
});
provider.proxy = false;
provider.listen(port, '127.0.0.1', () => console.log(`listening on ${issuer}`));
