import { Validator } from '@seriousme/openapi-schema-validator';
import type { Express } from 'express';
import { startTestRoster } from '../helpers/app.js';
import { gatewayEnv } from './support.js';

type Roster = Awaited<ReturnType<typeof startTestRoster>>;

interface Layer {
  rawPath?: string;
  route?: { path: string; methods: Record<string, boolean> };
  handle: { stack?: Layer[] };
}

/** Every method + path Express serves, walking mounted routers (Express 5 keeps each layer's raw path). */
function servedRoutes(app: Express): string[] {
  const found: string[] = [];
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      const here = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? `${prefix}${layer.rawPath}` : prefix;
      if (layer.route) {
        for (const method of Object.keys(layer.route.methods).filter((m) => m !== '_all'))
          found.push(`${method} ${`${prefix}${layer.route.path}`.replace(/\/$/, '') || '/'}`);
      } else if (layer.handle.stack) walk(layer.handle.stack, here);
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '');
  return found;
}

describe('OpenAPI 3.1 document of the agent-facing API', () => {
  let roster: Roster;
  let doc: { openapi: string; paths: Record<string, Record<string, unknown>>; servers: Array<{ url: string }> };

  beforeAll(async () => {
    roster = await startTestRoster({ env: gatewayEnv() });
    const res = await fetch(`${roster.baseUrl}/api/openapi.json`);
    expect(res.status).toBe(200);
    doc = (await res.json()) as typeof doc;
  });
  afterAll(async () => {
    await roster?.stop();
  });

  it('is valid OpenAPI 3.1 per an independent validator', async () => {
    const validator = new Validator();
    const result = await validator.validate(doc as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    expect(doc.servers).toEqual([{ url: roster.baseUrl }]);
  });

  it('describes every route Roster serves under /oauth, /api/v1, /api/openapi.json, /mcp and /.well-known', () => {
    const served = servedRoutes(roster.http.app).filter((r) => / \/(oauth|api\/v1|api\/openapi\.json|mcp|\.well-known)(\/|$)/.test(r));
    expect(served).toEqual(
      expect.arrayContaining([
        'post /oauth/token',
        'post /oauth/introspect',
        'post /api/v1/access/check',
        'post /api/v1/telemetry',
        'get /api/openapi.json',
        'get /.well-known/jwks.json',
        'get /.well-known/oauth-authorization-server',
        'post /api/v1/approvals',
        'get /api/v1/approvals/:id',
        'post /api/v1/approvals/:id/consume',
        'post /api/v1/handoffs',
        'get /api/v1/handoffs/:id',
        'post /mcp',
        'get /.well-known/oauth-protected-resource/mcp',
      ]),
    );
    // OpenAPI writes path parameters as {id}, Express as :id.
    const documented = Object.entries(doc.paths).flatMap(([p, ops]) =>
      Object.keys(ops).map((m) => `${m} ${p.replace(/\{(\w+)\}/g, ':$1')}`),
    );
    expect(served.filter((r) => !documented.includes(r))).toEqual([]);
  });

  it('documents the form bodies, the error codes and the security schemes from the route schemas', () => {
    const token = doc.paths['/oauth/token']!.post as Record<string, unknown>;
    const body = token.requestBody as { content: Record<string, { schema: unknown }> };
    expect(Object.keys(body.content)).toEqual(['application/x-www-form-urlencoded']);
    const text = JSON.stringify(doc);
    for (const code of ['invalid_client', 'invalid_scope', 'invalid_target', 'unsupported_grant_type']) expect(text).toContain(code);
    expect(text).toContain('"grant_type"');
    expect(text).toContain('"eventId"');
    expect(text).toContain('clientSecretBasic');
  });
});
