import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SIGNING_SECRET } from './slack-requests.js';

export interface SlackCall {
  method: string;
  args: Record<string, unknown>;
  token?: string;
}

export interface ResponseUrlCall {
  id: string;
  body: Record<string, unknown>;
}

/**
 * A fake Slack Web API on 127.0.0.1 that records every call, the way Slack's own bolt-python
 * tests run a mock server. `blocks` and `view` fields arrive JSON-encoded in form posts and are
 * decoded. It also serves response_url endpoints at /response/<id>.
 */
export class FakeSlack {
  readonly calls: SlackCall[] = [];
  readonly responses: ResponseUrlCall[] = [];
  /** users.info answers: Slack user id → e-mail. */
  readonly emails = new Map<string, string>();
  /** users.info answers: Slack user id → the user's IANA time zone (`tz`), as Slack reports it. */
  readonly timeZones = new Map<string, string>();
  /** users.lookupByEmail answers: e-mail → Slack user id (others are `users_not_found`). */
  readonly usersByEmail = new Map<string, string>();
  /** Users (or channels) whose messages Slack refuses with `channel_not_found`, as for a deactivated account. */
  readonly refused = new Set<string>();
  private server?: http.Server;
  private readonly failures = new Map<string, string>();
  private readonly httpFailures: Array<{ method: string; status: number; retryAfter?: string }> = [];
  private readonly holds = new Map<string, Array<() => void>>();
  /** Calls of held methods waiting for their answer now, and the most there ever were at once. */
  held = 0;
  maxHeld = 0;
  private ts = 1_700_000_000;
  port = 0;

  get apiUrl(): string {
    return `http://127.0.0.1:${this.port}/api/`;
  }

  /** The environment that points Roster's Slack channel here, signing with the tests' secret. */
  rosterEnv(): Record<string, string> {
    return { SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_BOT_TOKEN: 'xoxb-test-token', SLACK_API_URL: this.apiUrl };
  }

  responseUrl(id: string): string {
    return `http://127.0.0.1:${this.port}/response/${id}`;
  }

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString();
        const url = req.url ?? '';
        if (url.startsWith('/response/')) {
          this.responses.push({ id: url.slice('/response/'.length), body: JSON.parse(raw || '{}') as Record<string, unknown> });
          res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
          return;
        }
        const method = url.replace(/^\/api\//, '').split('?')[0] ?? '';
        const args = parseBody(raw, req.headers['content-type']);
        const auth = req.headers.authorization;
        this.calls.push({ method, args, ...(auth ? { token: auth.replace(/^Bearer /, '') } : {}) });
        const waiting = this.holds.get(method);
        if (waiting) {
          this.held += 1;
          this.maxHeld = Math.max(this.maxHeld, this.held);
          waiting.push(() => {
            this.held -= 1;
            res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.answer(method, args)));
          });
          return;
        }
        const httpFailure = this.httpFailures.findIndex((f) => f.method === method);
        if (httpFailure >= 0) {
          const [f] = this.httpFailures.splice(httpFailure, 1);
          res.writeHead(f!.status, { 'content-type': 'application/json', ...(f!.retryAfter ? { 'retry-after': f!.retryAfter } : {}) });
          res.end(JSON.stringify({ ok: false, error: f!.status === 429 ? 'ratelimited' : 'internal_error' }));
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.answer(method, args)));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server!.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /**
   * The next call of `method` answers HTTP `status` (429 with `Retry-After` seconds, or a 5xx), as
   * Slack does when rate limiting or failing; queued failures are used in order.
   */
  answerHttpNext(method: string, status: number, retryAfter?: string): void {
    this.httpFailures.push({ method, status, ...(retryAfter !== undefined ? { retryAfter } : {}) });
  }

  /**
   * Calls of `method` get no answer until the returned function is called (a slow Slack); they
   * are recorded when they arrive, and answered in order when released.
   */
  hold(method: string): () => void {
    this.holds.set(method, []);
    return () => {
      const waiting = this.holds.get(method) ?? [];
      this.holds.delete(method);
      for (const answer of waiting) answer();
    };
  }

  /** The next call of `method` answers `{ ok: false, error }`, as Slack does. */
  failNext(method: string, error: string): void {
    this.failures.set(method, error);
  }

  /** Recorded calls of one method, optionally to one channel / user. */
  of(method: string, filter: (args: Record<string, unknown>) => boolean = () => true): SlackCall[] {
    return this.calls.filter((c) => c.method === method && filter(c.args));
  }

  /** Waits until a matching call was recorded. */
  async waitFor(method: string, filter: (args: Record<string, unknown>) => boolean = () => true, timeoutMs = 10_000): Promise<SlackCall> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.of(method, filter).at(-1);
      if (found) return found;
      if (Date.now() > deadline)
        throw new Error(`no ${method} call matched within ${timeoutMs} ms; calls: ${this.calls.map((c) => c.method).join(', ')}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async waitForResponse(id: string, timeoutMs = 10_000): Promise<ResponseUrlCall> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.responses.filter((r) => r.id === id).at(-1);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no response_url call ${id} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  private answer(method: string, args: Record<string, unknown>): Record<string, unknown> {
    const failure = this.failures.get(method);
    if (failure) {
      this.failures.delete(method);
      return { ok: false, error: failure };
    }
    switch (method) {
      case 'auth.test':
        return { ok: true, user_id: 'UROSTERBOT', bot_id: 'BROSTER', team_id: 'TBRIGHT', url: 'https://brightwater.slack.com/' };
      case 'chat.postMessage': {
        const channel = String(args.channel);
        if (this.refused.has(channel)) return { ok: false, error: 'channel_not_found' };
        return { ok: true, channel: channel.startsWith('U') ? `D${channel.slice(1)}` : channel, ts: `${this.ts++}.000100`, message: {} };
      }
      case 'chat.update':
        return { ok: true, channel: args.channel, ts: args.ts };
      case 'users.info': {
        const email = this.emails.get(String(args.user));
        const tz = this.timeZones.get(String(args.user));
        if (!email && !tz) return { ok: false, error: 'user_not_found' };
        return { ok: true, user: { id: args.user, ...(tz ? { tz } : {}), profile: email ? { email } : {} } };
      }
      case 'users.lookupByEmail': {
        const id = this.usersByEmail.get(String(args.email));
        return id ? { ok: true, user: { id } } : { ok: false, error: 'users_not_found' };
      }
      default:
        return { ok: true };
    }
  }
}

function parseBody(raw: string, contentType: string | undefined): Record<string, unknown> {
  if (contentType?.includes('application/json')) return JSON.parse(raw || '{}') as Record<string, unknown>;
  const args: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(raw)) {
    args[key] =
      ((key === 'blocks' || key === 'view' || key === 'attachments') && value.startsWith('{')) || value.startsWith('[')
        ? safeJson(value)
        : value;
  }
  return args;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
