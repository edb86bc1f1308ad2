/*
 * Runs the example gateway: ROSTER_URL (Roster's issuer), GATEWAY_RESOURCE (this gateway's
 * resource URI, listed in Roster's ROSTER_OAUTH_RESOURCES), PORT; optionally GATEWAY_CLIENT_ID and
 * GATEWAY_CLIENT_SECRET to introspect every token.
 *   node --import tsx examples/tool-gateway/main.ts
 */
import { startToolGateway } from './gateway.js';

const issuer = process.env.ROSTER_URL ?? 'http://127.0.0.1:3978';
const port = Number(process.env.PORT ?? 4100);
const resource = process.env.GATEWAY_RESOURCE ?? `http://127.0.0.1:${port}/`;
const id = process.env.GATEWAY_CLIENT_ID;
const secret = process.env.GATEWAY_CLIENT_SECRET;

const gateway = await startToolGateway({
  issuer,
  resource,
  port,
  ...(id && secret ? { introspection: { clientId: id, clientSecret: secret } } : {}),
});
process.stdout.write(`CRM gateway on ${gateway.url} (resource ${resource}), trusting tokens from ${issuer}\n`);
