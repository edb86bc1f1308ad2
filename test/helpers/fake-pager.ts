import http from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { z } from 'zod';
import { loadOrgConfig } from '../../src/config/org-config.js';
import { resolvePagers } from '../../src/config/pager.js';
import { pagerSchema, type Rotation } from '../../src/config/schemas.js';
import type { ResolvedPager } from '../../src/core/pager.js';
import { SHIPPED_CONFIG } from './harness.js';

/**
 * The shipped rotations with ai-ops paging through `pager` (as org.yaml would say it), and that
 * pager resolved from `env` as start-up resolves it.
 */
export function aiOpsPaging(
  pager: z.input<typeof pagerSchema>,
  env: NodeJS.ProcessEnv,
): { rotations: Rotation[]; pagers: ResolvedPager[] } {
  const rotations = loadOrgConfig(SHIPPED_CONFIG).rotations.map((r) => (r.id === 'ai-ops' ? { ...r, pager: pagerSchema.parse(pager) } : r));
  return { rotations, pagers: resolvePagers(rotations, { env, production: false }) };
}

/** One request the fake received, as sent. */
export interface PagerCall {
  method: string;
  /** The path without the query. */
  path: string;
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  /** The parsed JSON body. */
  body: Record<string, unknown>;
  /** When it arrived (ms since the epoch). */
  at: number;
}

/**
 * A fake PagerDuty Events API v2 (`POST /v2/enqueue`) or Opsgenie Alert API (`POST /v2/alerts`,
 * `POST /v2/alerts/{alias}/acknowledge|close`) on 127.0.0.1 that records every request and answers
 * as the vendor documents it: 202 with `{status, message, dedup_key}` (PagerDuty) or `{result,
 * took, requestId}` (Opsgenie). Queued answers (`answerNext`) replace the next ones, in order.
 */
export class FakePager {
  readonly calls: PagerCall[] = [];
  private server?: http.Server;
  private readonly queued: Array<{ status: number; retryAfter?: string }> = [];
  port = 0;

  constructor(readonly vendor: 'pagerduty' | 'opsgenie') {}

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The next request is answered `status` (with `Retry-After` when given). */
  answerNext(status: number, retryAfter?: string): void {
    this.queued.push({ status, ...(retryAfter !== undefined ? { retryAfter } : {}) });
  }

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', this.baseUrl);
        let body: Record<string, unknown> = {};
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
        } catch {
          body = { unparsable: true };
        }
        this.calls.push({
          method: req.method ?? '',
          path: url.pathname,
          query: Object.fromEntries(url.searchParams),
          headers: req.headers,
          body,
          at: Date.now(),
        });
        const next = this.queued.shift();
        if (next) {
          res.writeHead(next.status, {
            'content-type': 'application/json',
            ...(next.retryAfter ? { 'retry-after': next.retryAfter } : {}),
          });
          res.end(
            JSON.stringify(
              this.vendor === 'pagerduty'
                ? { status: 'throttle event', message: 'Requests for this service are arriving too quickly.' }
                : { message: 'error', took: 0.001, requestId: randomUUID() },
            ),
          );
          return;
        }
        res.writeHead(202, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify(
            this.vendor === 'pagerduty'
              ? { status: 'success', message: 'Event processed', dedup_key: body.dedup_key }
              : { result: 'Request will be processed', took: 0.011, requestId: randomUUID() },
          ),
        );
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server!.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Waits until `count` matching requests arrived; resolves with them. */
  async waitFor(filter: (call: PagerCall) => boolean, count = 1, timeoutMs = 30_000): Promise<PagerCall[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.calls.filter(filter);
      if (found.length >= count) return found;
      if (Date.now() > deadline)
        throw new Error(
          `expected ${count} matching requests within ${timeoutMs} ms; got ${JSON.stringify(this.calls.map((c) => [c.path, c.body.event_action]))}`,
        );
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}
