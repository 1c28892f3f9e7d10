// A real OAuth 2.0 / OpenID Connect authorization server for the tests: the npm package
// `oidc-provider`, configured small. Usage: node oidc_server.mjs <node_modules dir>
// It listens on 127.0.0.1 (a free port), prints `listening <issuer>` and serves until killed.
//
// - clients: `svc` (client credentials), `partner[eu]` (likewise), `short` (client credentials, 2-second tokens), `opaque`
//   (client credentials, opaque tokens: RFC 7662 introspection at /token/introspection), `webapp`
//   (authorization code + PKCE for a user; dev login accepts any name), plus dynamic registration
//   (RFC 7591) for the MCP SDK client's OAuth flow;
// - access tokens are JWTs (RFC 9068) for the requested resource indicator (RFC 8707): `aud` is the
//   `resource` parameter, scopes `mcp:tools mcp:admin`; user tokens carry an `email` claim;
// - `POST /__rotate` replaces the signing key (new kid; the old key is no longer published).
import http from 'node:http';
import crypto from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const modules = process.argv[2];
const { default: Provider } = await import(pathToFileURL(path.join(modules, 'oidc-provider', 'lib', 'index.js')).href);

function signingKey() {
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { ...privateKey.export({ format: 'jwk' }), kid: crypto.randomUUID(), alg: 'ES256', use: 'sig' };
}

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

function makeProvider(key) {
  const provider = new Provider(issuer, {
    clients: [
      { client_id: 'svc', client_secret: 'svc-secret', grant_types: ['client_credentials'], redirect_uris: [], response_types: [] },
      { client_id: 'short', client_secret: 'short-secret', grant_types: ['client_credentials'], redirect_uris: [], response_types: [] },
      // RFC 6749 VSCHAR allows brackets in a client id: `clients: ["partner[eu]"]` must name this one literally
      { client_id: 'partner[eu]', client_secret: 'partner[eu]-secret', grant_types: ['client_credentials'], redirect_uris: [], response_types: [] },
      { client_id: 'opaque', client_secret: 'opaque-secret', grant_types: ['client_credentials'], redirect_uris: [], response_types: [] },
      {
        client_id: 'webapp', client_secret: 'webapp-secret', grant_types: ['authorization_code'],
        redirect_uris: ['http://127.0.0.1:9/callback'], response_types: ['code'],
      },
      // two more user-facing clients, so one user's calls through two clients can be told apart
      ...['desk', 'tray'].map((id) => ({
        client_id: id, client_secret: `${id}-secret`, grant_types: ['authorization_code'],
        redirect_uris: ['http://127.0.0.1:9/callback'], response_types: ['code'],
      })),
    ],
    jwks: { keys: [key] },
    cookies: { keys: ['test-cookie-key'] },
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      registration: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: (ctx, client, oneOf) => oneOf ?? undefined,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resourceIndicator, client) => ({
          scope: 'mcp:tools mcp:admin',
          audience: resourceIndicator,
          accessTokenTTL: client.clientId === 'short' ? 2 : 600,
          accessTokenFormat: client.clientId === 'opaque' ? 'opaque' : 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        }),
      },
    },
    extraTokenClaims: (ctx, token) => (token.accountId ? { email: `${token.accountId}@example.com` } : undefined),
    findAccount: (ctx, id) => ({ accountId: id, claims: () => ({ sub: id, email: `${id}@example.com` }) }),
    clientDefaults: { id_token_signed_response_alg: 'ES256' },
    scopes: ['openid', 'offline_access', 'mcp:tools', 'mcp:admin'],
    pkce: { required: () => true },
    clientBasedCORS: () => true,
  });
  provider.proxy = false;
  return provider;
}

let provider = makeProvider(signingKey());
let callback = provider.callback();

server.on('request', (req, res) => {
  if (req.method === 'POST' && req.url === '/__rotate') {
    provider = makeProvider(signingKey());
    callback = provider.callback();
    res.writeHead(204).end();
    return;
  }
  callback(req, res);
});

console.log(`listening ${issuer}`);
