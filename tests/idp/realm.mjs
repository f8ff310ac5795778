// The provider's clients, scopes and audience, read from the Keycloak realm the deployment imports
// (deploy/keycloak/mozart-realm.json): the tests use the clients a Keycloak user gets.
//
// As Keycloak does at import, `${NAME}` placeholders are filled from the environment (the tests
// give their own secrets). As in Keycloak, a client may ask for its default and optional client
// scopes, and a scope with role scope mappings goes only to users and service accounts holding one
// of those roles. Unlike Keycloak, a client gets only the scopes it asks for: the tests always ask.
import fs from 'node:fs';

const filled = (value, env) => {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Z0-9_]+)\}/g, (_, name) => {
      if (env[name] === undefined) throw new Error(`the realm needs ${name} in the environment`);
      return env[name];
    });
  }
  if (Array.isArray(value)) return value.map((v) => filled(v, env));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, filled(v, env)]));
  }
  return value;
};

export const readRealm = (path, env) => {
  const realm = filled(JSON.parse(fs.readFileSync(path, 'utf8')), env);
  const scopes = realm.clientScopes
    .filter((s) => s.attributes?.['include.in.token.scope'] === 'true')
    .map((s) => s.name);
  const audiences = new Set(realm.clientScopes.flatMap((s) => (s.protocolMappers || [])
    .filter((m) => m.protocolMapper === 'oidc-audience-mapper')
    .map((m) => m.config['included.custom.audience'])));
  if (audiences.size !== 1) throw new Error(`one audience expected, the realm has ${[...audiences]}`);
  const roleScopes = new Map((realm.scopeMappings || [])
    .filter((m) => m.clientScope).map((m) => [m.clientScope, m.roles]));
  const mayHave = (roles) => (scope) => !roleScopes.has(scope)
    || roleScopes.get(scope).some((role) => roles.includes(role));
  const accountRoles = (clientId) => (realm.users || [])
    .find((u) => u.serviceAccountClientId === clientId)?.realmRoles || [];

  const clients = realm.clients
    .filter((c) => c.enabled !== false && c.protocol === 'openid-connect')
    .map((c) => {
      const offered = [...(c.defaultClientScopes || []), ...(c.optionalClientScopes || [])]
        .filter((s) => scopes.includes(s));
      if (c.publicClient) {
        return {
          client_id: c.clientId, public: true, scope: offered.join(' '),
          grant_types: c.standardFlowEnabled ? ['authorization_code'] : [],
          redirect_uris: c.redirectUris || [],
        };
      }
      return {
        client_id: c.clientId, client_secret: c.secret,
        scope: offered.filter(mayHave(accountRoles(c.clientId))).join(' '),
        grant_types: c.serviceAccountsEnabled ? ['client_credentials'] : [],
      };
    });
  // A user's scopes: those its realm roles allow; the client then narrows them to its own.
  const scopesOf = (roles) => scopes.filter(mayHave(roles)).join(' ');
  return { scopes, audience: [...audiences][0], clients, scopesOf };
};
