// A real OpenID Connect provider (panva/oidc-provider) for the test suite.
//   node idp.mjs <port>      (0 = any) -> prints "READY <issuer>" once it serves.
// IDP_KEYS_FILE: a JSON {"keys": [private JWKs]}; the first one signs. Clients, scopes and the
// audience come from the Keycloak realm the deployment imports (realm.mjs), its placeholders filled
// from the environment; users from accounts.json. Access tokens are RFC 9068 JWTs for the realm's
// audience (resource urn:ai-gateways).
//
// Confidential clients use client credentials. Public clients (Swagger UI, the console) use the
// authorization code with PKCE: the browser signs in on the login page below, and a user is
// granted only the scopes its realm roles allow. Their redirect URIs are loopback ones (the tests
// give AI_GATEWAY_URL=http://127.0.0.1), which match on any port (RFC 8252, section 7.3), so a
// gateway on a test's port is a registered redirect.
import fs from 'node:fs';
import http from 'node:http';
import Provider, { errors } from 'oidc-provider';
import { readRealm } from './realm.mjs';

const HOST = '127.0.0.1';
const RESOURCE = 'urn:ai-gateways';
const TTL = Number(process.env.IDP_TOKEN_TTL || 300);
const keys = JSON.parse(fs.readFileSync(process.env.IDP_KEYS_FILE, 'utf8')).keys;
const realm = readRealm(new URL('../../deploy/keycloak/mozart-realm.json', import.meta.url),
  process.env);
const AUDIENCE = process.env.IDP_AUDIENCE || realm.audience;
const SCOPES = realm.scopes;
const accounts = JSON.parse(fs.readFileSync(new URL('./accounts.json', import.meta.url), 'utf8'));
const users = new Map(accounts.users.map((u) => [u.username,
  { ...u, scope: realm.scopesOf(u.realmRoles) }]));

let handler = (_req, res) => { res.statusCode = 503; res.end(); };
const server = http.createServer((req, res) => handler(req, res));
await new Promise((resolve) => server.listen(Number(process.argv[2] || 0), HOST, resolve));
const issuer = `http://${HOST}:${server.address().port}`;

const client = (c) => (c.public
  ? {
    client_id: c.client_id, scope: c.scope, application_type: 'native',
    grant_types: c.grant_types, response_types: ['code'], redirect_uris: c.redirect_uris,
    token_endpoint_auth_method: 'none',
  }
  : {
    client_id: c.client_id, client_secret: c.client_secret, scope: c.scope,
    grant_types: c.grant_types, response_types: [], redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
  });

const isLoopbackOrigin = (origin) => {
  try { return new URL(origin).hostname === HOST; } catch { return false; }
};

const provider = new Provider(issuer, {
  jwks: { keys },
  clients: realm.clients.map(client),
  scopes: ['openid', ...SCOPES],
  findAccount: async (_ctx, sub) => (users.has(sub)
    ? { accountId: sub, claims: async () => ({ sub }) } : undefined),
  interactions: { url: async (_ctx, interaction) => `/interaction/${interaction.uid}` },
  // A browser page on the gateway's origin exchanges the code; only loopback origins do here.
  clientBasedCORS: (_ctx, origin, c) => c.clientAuthMethod === 'none' && isLoopbackOrigin(origin),
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

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const loginPage = (uid, clientId, error) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">
<title>Sign in - test identity provider</title></head>
<body><main><h1>Sign in</h1><p>to continue to ${escape(clientId)}</p>
${error ? `<p role="alert">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
<label>Username <input name="username" autocomplete="username" required autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required>
</label><button type="submit">Sign in</button></form></main></body></html>`;

const readForm = async (req) => {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
};

const send = (res, status, html) => {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(html);
};

// A first-party provider: the consent step grants what the user may have, without asking.
const grantFor = async (interaction) => {
  const { prompt: { details }, params, session: { accountId } } = interaction;
  const allowed = new Set(['openid', ...users.get(accountId).scope.split(' ')]);
  const grant = interaction.grantId
    ? await provider.Grant.find(interaction.grantId)
    : new provider.Grant({ accountId, clientId: params.client_id });
  for (const scope of details.missingOIDCScope || []) {
    if (allowed.has(scope)) grant.addOIDCScope(scope); else grant.rejectOIDCScope(scope);
  }
  for (const [resource, scopes] of Object.entries(details.missingResourceScopes || {})) {
    const granted = scopes.filter((s) => allowed.has(s));
    const refused = scopes.filter((s) => !allowed.has(s));
    if (granted.length) grant.addResourceScope(resource, granted.join(' '));
    if (refused.length) grant.rejectResourceScope(resource, refused.join(' '));
  }
  return grant.save();
};

const interact = async (req, res, uid, action) => {
  const interaction = await provider.interactionDetails(req, res);
  if (interaction.prompt.name === 'consent') {
    const grantId = await grantFor(interaction);
    await provider.interactionFinished(req, res, { consent: { grantId } },
      { mergeWithLastSubmission: true });
    return;
  }
  if (action !== 'login' || req.method !== 'POST') {
    send(res, 200, loginPage(uid, interaction.params.client_id));
    return;
  }
  const form = await readForm(req);
  const user = users.get(form.get('username'));
  if (!user || user.password !== form.get('password')) {
    send(res, 401, loginPage(uid, interaction.params.client_id, 'Wrong username or password.'));
    return;
  }
  await provider.interactionFinished(req, res, { login: { accountId: user.username } },
    { mergeWithLastSubmission: false });
};

const callback = provider.callback();
handler = (req, res) => {
  const match = /^\/interaction\/([\w-]+)(?:\/(login))?$/.exec(req.url.split('?')[0]);
  if (!match) { callback(req, res); return; }
  interact(req, res, match[1], match[2]).catch((error) => {
    send(res, 400, `<!doctype html><title>Sign-in failed</title><p>${escape(error.message)}</p>`);
  });
};
process.stdout.write(`READY ${issuer}\n`);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
