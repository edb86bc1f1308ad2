/*
 * A tool gateway: the resource server in front of a (pretend) CRM that agents call. It trusts
 * only Roster's access tokens. It finds Roster's keys the standard way (RFC 8414 metadata →
 * jwks_uri), verifies every token with jose (RFC 9068: typ at+jwt, issuer, audience = this
 * gateway, expiry, signature) and checks the scope each route needs. Nothing here is Roster code:
 * any OAuth-aware gateway (Envoy, Kong, an API gateway) does the same.
 *
 * Offline verification means a revoked grant or a suspended agent is refused once the token it
 * holds expires (Roster's token lifetime, 5 minutes by default). Set `introspection` to ask
 * Roster on every call instead, and refuse at once (RFC 7662).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';

export interface GatewaySettings {
  /** Roster's issuer (ROSTER_PUBLIC_URL); metadata is read from its /.well-known/oauth-authorization-server. */
  issuer: string;
  /** This gateway's resource URI: tokens must carry it in `aud` (agents ask for it with `resource=`). */
  resource: string;
  port?: number;
  host?: string;
  /** Ask Roster's introspection endpoint on every call too, with these resource-server credentials. */
  introspection?: { clientId: string; clientSecret: string };
}

interface Metadata {
  issuer: string;
  jwks_uri: string;
  introspection_endpoint?: string;
}

/** The pretend CRM behind the gateway. */
const CRM = {
  tickets: [
    { id: 'T-1001', subject: 'Cannot log in', customerId: 'C-42' },
    { id: 'T-1002', subject: 'Invoice copy', customerId: 'C-7' },
  ],
  customers: new Map([
    ['C-42', { id: 'C-42', name: 'Ada Lovelace', plan: 'enterprise', notes: [] as string[] }],
    ['C-7', { id: 'C-7', name: 'Alan Turing', plan: 'team', notes: [] as string[] }],
  ]),
};

type Authed = Request & { token?: JWTPayload & { scope?: string; sub?: string } };

/** Starts the gateway; resolves its URL and a stop function. */
export async function startToolGateway(settings: GatewaySettings): Promise<{ url: string; server: http.Server; close(): Promise<void> }> {
  let discovered: Promise<{ metadata: Metadata; jwks: ReturnType<typeof createRemoteJWKSet> }> | undefined;
  // Discovery happens on first use (Roster may start after the gateway) and is retried after a failure.
  const discover = () =>
    (discovered ??= (async () => {
      const base = settings.issuer.replace(/\/+$/, '');
      const res = await fetch(`${base}/.well-known/oauth-authorization-server`);
      if (!res.ok) throw new Error(`metadata answered ${res.status}`);
      const metadata = (await res.json()) as Metadata;
      // RFC 8414 §3.3: the issuer in the document must be the one we asked.
      if (metadata.issuer !== settings.issuer) throw new Error('the metadata names another issuer');
      return { metadata, jwks: createRemoteJWKSet(new URL(metadata.jwks_uri)) };
    })().catch((err: unknown) => {
      discovered = undefined;
      throw err;
    }));

  const refuse = (res: Response, status: number, error: string, description: string, scope?: string) => {
    res
      .status(status)
      .set(
        'WWW-Authenticate',
        `Bearer realm="crm", error="${error}", error_description="${description}"${scope ? `, scope="${scope}"` : ''}`,
      )
      .json({ error, error_description: description });
  };

  const authenticate = async (req: Authed, res: Response, next: NextFunction) => {
    const token = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!token) return void res.status(401).set('WWW-Authenticate', 'Bearer realm="crm"').json({ error: 'invalid_token' });
    try {
      const { metadata, jwks } = await discover();
      const { payload } = await jwtVerify(token, jwks, {
        typ: 'at+jwt',
        issuer: metadata.issuer,
        audience: settings.resource,
        algorithms: ['ES256', 'EdDSA', 'RS256'],
        requiredClaims: ['exp', 'iat', 'sub', 'client_id', 'jti'],
      });
      if (settings.introspection && metadata.introspection_endpoint) {
        const basic = Buffer.from(
          `${encodeURIComponent(settings.introspection.clientId)}:${encodeURIComponent(settings.introspection.clientSecret)}`,
        ).toString('base64');
        const answer = await fetch(metadata.introspection_endpoint, {
          method: 'POST',
          headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ token }).toString(),
        });
        if (!answer.ok || !((await answer.json()) as { active?: boolean }).active)
          return refuse(res, 401, 'invalid_token', 'The token is no longer active.');
      }
      req.token = payload;
      next();
    } catch (err) {
      const expired = err instanceof errors.JWTExpired;
      refuse(res, 401, 'invalid_token', expired ? 'The token expired.' : 'The token is not valid here.');
    }
  };

  const requireScope = (scope: string) => (req: Authed, res: Response, next: NextFunction) => {
    const held = String(req.token?.scope ?? '').split(' ');
    if (!held.includes(scope)) return refuse(res, 403, 'insufficient_scope', `This call needs ${scope}.`, scope);
    next();
  };

  const app = express();
  app.disable('x-powered-by');
  app.get('/crm/tickets', authenticate, requireScope('tickets:read'), (req: Authed, res) => {
    res.json({ agent: req.token?.sub, tickets: CRM.tickets });
  });
  app.get('/crm/customers/:id', authenticate, requireScope('crm:read'), (req: Authed, res) => {
    const customer = CRM.customers.get(String(req.params.id));
    if (!customer) return void res.status(404).json({ error: 'not_found' });
    res.json({ agent: req.token?.sub, customer });
  });
  app.post('/crm/customers/:id/notes', authenticate, requireScope('crm:write'), express.json({ limit: '8kb' }), (req: Authed, res) => {
    const customer = CRM.customers.get(String(req.params.id));
    const text = (req.body as { text?: unknown } | undefined)?.text;
    if (!customer || typeof text !== 'string') return void res.status(400).json({ error: 'bad_request' });
    customer.notes.push(text.slice(0, 500));
    res.status(201).json({ agent: req.token?.sub, customer });
  });

  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(settings.port ?? 0, settings.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${settings.host ?? '127.0.0.1'}:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
