import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { eventTypeOf, retryDelayMs } from '../../src/core/webhooks.js';
import { createWebhookTransport, WebhookHostPolicy } from '../../src/http/webhook-sender.js';

/*
 * The delivery policy on the wire, against local servers: redirects are not followed, Retry-After
 * is read, slow receivers time out, and production refuses plain http and internal addresses
 * before any connection is made.
 */

async function server(handler: http.RequestListener): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
  let hits = 0;
  const s = http.createServer((req, res) => {
    hits += 1;
    handler(req, res);
  });
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(s.address() as AddressInfo).port}/hooks`,
    hits: () => hits,
    close: async () => {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    },
  };
}

const local = createWebhookTransport(new WebhookHostPolicy([], true), { timeoutMs: 500 });
const production = createWebhookTransport(new WebhookHostPolicy([], false));

describe('webhook transport', () => {
  it('never follows a redirect (it counts as a failure)', async () => {
    const target = await server((_req, res) => res.writeHead(200).end());
    const redirect = await server((_req, res) => res.writeHead(302, { location: target.url }).end());
    try {
      expect(await local(redirect.url, {}, '{}')).toEqual({
        error: expect.stringMatching(/302 \(a redirect\); redirects are not followed/),
      });
      expect(target.hits()).toBe(0);
    } finally {
      await redirect.close();
      await target.close();
    }
  });

  it('reads Retry-After and gives up on a receiver that does not answer in time', async () => {
    const busy = await server((_req, res) => res.writeHead(429, { 'retry-after': '120' }).end('slow down'));
    const silent = await server(() => undefined);
    try {
      expect(await local(busy.url, {}, '{}')).toEqual({ status: 429, retryAfterMs: 120_000 });
      expect(await local(silent.url, {}, '{}')).toEqual({ error: 'timed out' });
    } finally {
      await busy.close();
      await silent.close();
    }
  });

  it('in production refuses plain http, internal addresses and names that resolve to them, before sending', async () => {
    const receiver = await server((_req, res) => res.writeHead(200).end());
    try {
      expect(await production(receiver.url, {}, '{}')).toEqual({ error: expect.stringMatching(/must use https/) });
      expect(await production('https://10.0.0.7/hooks', {}, '{}')).toEqual({ error: expect.stringMatching(/internal address/) });
      expect(await production('https://localhost/hooks', {}, '{}')).toEqual({ error: expect.stringMatching(/internal address/) });
      const refused = await new Promise<NodeJS.ErrnoException | null>((resolve) =>
        new WebhookHostPolicy([], false).lookup('localhost', {}, (err) => resolve(err)),
      );
      expect(refused?.code).toBe('EADDRNOTALLOWED');
      expect(receiver.hits()).toBe(0);
    } finally {
      await receiver.close();
    }
  });
});

describe('webhook retry schedule and event mapping', () => {
  it('backs off exponentially with jitter, reaching the 24-hour window in about twenty attempts', () => {
    expect(retryDelayMs(1, () => 0.5)).toBe(5_000);
    expect(retryDelayMs(2, () => 0.5)).toBe(10_000);
    expect(retryDelayMs(1, () => 0)).toBe(3_750);
    expect(retryDelayMs(1, () => 1)).toBe(6_250);
    expect(retryDelayMs(30, () => 0.5)).toBe(7_200_000);
    let elapsed = 0;
    let attempts = 1;
    while (elapsed + retryDelayMs(attempts, () => 0.5) <= 24 * 3_600_000) elapsed += retryDelayMs(attempts++, () => 0.5);
    expect(attempts).toBeGreaterThanOrEqual(15);
    expect(attempts).toBeLessThanOrEqual(25);
  });

  it('maps lifecycle transitions from the audit trail', () => {
    const changed = (from: string, to: string) => eventTypeOf({ action: 'agent.status-changed', details: { from, to } });
    expect(changed('active', 'retiring')).toBe('agent.retiring');
    expect(changed('probation', 'suspended')).toBe('agent.suspended');
    expect(changed('suspended', 'active')).toBe('agent.reactivated');
    expect(changed('probation', 'active')).toBeUndefined();
    expect(eventTypeOf({ action: 'grant.break-glass', details: {} })).toBeUndefined();
    expect(eventTypeOf({ action: 'grant.superseded', details: {} })).toBe('grant.extended');
    expect(eventTypeOf({ action: 'decision.deny', details: {} })).toBe('approval.decided');
  });

  it("maps a runtime approval's outcome (approved, denied, timed out) to approval.decided, not its request or use", () => {
    expect(eventTypeOf({ action: 'runtime.approved', details: { reason: 'approved' } })).toBe('approval.decided');
    expect(eventTypeOf({ action: 'runtime.approved', details: { reason: 'timeout_allowed' } })).toBe('approval.decided');
    expect(eventTypeOf({ action: 'runtime.denied', details: { reason: 'timeout' } })).toBe('approval.decided');
    expect(eventTypeOf({ action: 'runtime.denied', details: { reason: 'denied' } })).toBe('approval.decided');
    for (const action of ['runtime.requested', 'runtime.allowed', 'runtime.consumed', 'boundary.change-approved'])
      expect(eventTypeOf({ action, details: {} })).toBeUndefined();
  });
});
