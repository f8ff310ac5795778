// A real OpenID Connect provider (panva/oidc-provider) for the test suite.
//   node idp.mjs <port>      (0 = any) -> prints "READY <issuer>" once it serves.
// IDP_KEYS_FILE: a JSON {"keys": [private JWKs]}; the first one signs. Clients and scopes are fixed
// below; access tokens are RFC 9068 JWTs for the audience "ai-gateways" (resource urn:ai-gateways).
import fs from 'node:fs';
import http from 'node:http';
import Provider, { errors } from 'oidc-provider';

const HOST = '127.0.0.1';
const RESOURCE = 'urn:ai-gateways';
const AUDIENCE = process.env.IDP_AUDIENCE || 'ai-gateways';
const TTL = Number(process.env.IDP_TOKEN_TTL || 300);
const SCOPES = ['api', 'internal', 'events', 'admin'];
const keys = JSON.parse(fs.readFileSync(process.env.IDP_KEYS_FILE, 'utf8')).keys;

let handler = (_req, res) => { res.statusCode = 503; res.end(); };
const server = http.createServer((req, res) => handler(req, res));
await new Promise((resolve) => server.listen(Number(process.argv[2] || 0), HOST, resolve));
const issuer = `http://${HOST}:${server.address().port}`;

const client = (id, secret, scope) => ({
  client_id: id, client_secret: secret, scope,
  grant_types: ['client_credentials'], response_types: [], redirect_uris: [],
  token_endpoint_auth_method: 'client_secret_basic',
});

const provider = new Provider(issuer, {
  jwks: { keys },
  clients: [
    client('gw-client', 'gw-secret-0123456789', SCOPES.join(' ')),
    client('mosaic', 'mosaic-secret-0123456789', 'api'),
    client('genai-service', 'genai-secret-0123456789', 'internal events'),
  ],
  scopes: ['openid', ...SCOPES],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => RESOURCE,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, resource) => {
        if (resource !== RESOURCE) throw new errors.InvalidTarget();
        return { scope: SCOPES.join(' '), audience: AUDIENCE, accessTokenTTL: TTL,
                 accessTokenFormat: 'jwt', jwt: { sign: { alg: keys[0].alg } } };
      },
    },
  },
});
handler = provider.callback();
process.stdout.write(`READY ${issuer}\n`);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
