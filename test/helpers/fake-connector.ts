import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the fake Bot Connector received. */
export interface ConnectorCall {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | string;
  path: string;
  /** `v3/conversations/{conversationId}/…`, when the path names one. */
  conversationId?: string;
  /** The activity being updated (PUT) or replied to (POST …/activities/{id}). */
  activityId?: string;
  /** The id the fake gave the new activity or conversation. */
  createdId?: string;
  body: Record<string, unknown>;
  authorization?: string;
}

/** A member as `GET v3/conversations/{id}/members/{userId}` returns it. */
export interface ConnectorMember {
  id: string;
  name?: string;
  aadObjectId?: string;
  userPrincipalName?: string;
  email?: string;
}

/**
 * A Bot Connector on 127.0.0.1 for tests: activities' `serviceUrl` points here, and the Agents
 * SDK's ConnectorClient sends replies, proactive messages and updates to it. It records every
 * call and answers like the real service: new activity and conversation ids, 200 on updates.
 */
export class FakeConnector {
  /** Calls since the last {@link reset}. */
  readonly calls: ConnectorCall[] = [];
  /** Every call since the start, never reset. */
  readonly history: ConnectorCall[] = [];
  /** Members for the member look-up, by Teams user id. */
  readonly members = new Map<string, ConnectorMember>();
  /** Conversations whose messages fail with 403 (the app was uninstalled there). */
  readonly forbidden = new Set<string>();
  private seq = 0;
  private readonly holds = new Map<string, Array<() => void>>();
  private readonly httpFailures: Array<{ method: string; status: number; retryAfter?: string }> = [];
  private readonly hangUps: string[] = [];

  private constructor(
    private readonly server: http.Server,
    readonly serviceUrl: string,
  ) {}

  static async start(): Promise<FakeConnector> {
    const holder: { connector?: FakeConnector } = {};
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => holder.connector!.handle(req, res, Buffer.concat(chunks).toString('utf8')));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    holder.connector = new FakeConnector(server, `http://127.0.0.1:${port}/teams/`);
    return holder.connector;
  }

  /** POSTs of new activities (sends and replies), optionally to one conversation. */
  posts(conversationId?: string): ConnectorCall[] {
    return this.calls.filter(
      (c) => c.method === 'POST' && c.path.includes('/activities') && (!conversationId || c.conversationId === conversationId),
    );
  }

  /** The Adaptive Cards of {@link posts}, in order, optionally in one conversation (activities without a card are left out). */
  cards(conversationId?: string): Array<Record<string, unknown>> {
    return this.posts(conversationId).flatMap((call) => {
      const card = FakeConnector.card(call);
      return card ? [card] : [];
    });
  }

  /** PUTs (activity updates), optionally in one conversation. */
  puts(conversationId?: string): ConnectorCall[] {
    return this.calls.filter((c) => c.method === 'PUT' && (!conversationId || c.conversationId === conversationId));
  }

  /** `POST /v3/conversations` calls (1:1 conversations Roster created). */
  conversationsCreated(): ConnectorCall[] {
    return this.calls.filter((c) => c.method === 'POST' && /\/v3\/conversations\/?$/.test(c.path));
  }

  /** The Adaptive Card a recorded activity carried. */
  static card(call: ConnectorCall | undefined): Record<string, unknown> | undefined {
    const attachments = call?.body.attachments as Array<{ contentType?: string; content?: Record<string, unknown> }> | undefined;
    return attachments?.find((a) => a.contentType === 'application/vnd.microsoft.card.adaptive')?.content;
  }

  /**
   * The next `method` (POST or PUT of an activity, GET of a member) answers HTTP `status` (429 with
   * `Retry-After` seconds, or a 5xx), as the Bot Connector does when throttling or failing; queued in order.
   */
  failNext(method: 'POST' | 'PUT' | 'GET', status: number, retryAfter?: string): void {
    this.httpFailures.push({ method, status, ...(retryAfter !== undefined ? { retryAfter } : {}) });
  }

  /**
   * The next `method` (POST or PUT) of an activity is read, then its connection is closed without
   * an answer: what a caller sees when a kept-alive connection is reset under it (`fetch failed`).
   */
  hangUpNext(method: 'POST' | 'PUT'): void {
    this.hangUps.push(method);
  }

  /**
   * Activity calls of `method` (POST or PUT) get no answer until the returned function is called
   * (a slow Bot Connector); they are recorded when they arrive, and answered in order when released.
   */
  hold(method: 'POST' | 'PUT'): () => void {
    this.holds.set(method, []);
    return () => {
      const waiting = this.holds.get(method) ?? [];
      this.holds.delete(method);
      for (const answer of waiting) answer();
    };
  }

  reset(): void {
    this.calls.length = 0;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse, raw: string): void {
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?')[0]!;
    let body: Record<string, unknown> = {};
    try {
      body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
    } catch {
      return this.reply(res, 400, { error: { code: 'BadSyntax', message: 'not JSON' } });
    }
    const match = /\/v3\/conversations\/([^/]+)(?:\/(activities|members)(?:\/([^/]+))?)?\/?$/.exec(path);
    const conversationId = match ? decodeURIComponent(match[1]!) : undefined;
    const call: ConnectorCall = {
      method,
      path,
      body,
      ...(conversationId ? { conversationId } : {}),
      ...(match?.[3] && match[2] === 'activities' ? { activityId: decodeURIComponent(match[3]) } : {}),
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
    };
    this.calls.push(call);
    this.history.push(call);

    if (method === 'POST' && /\/v3\/conversations\/?$/.test(path)) {
      call.createdId = `a:created-${++this.seq}`;
      return this.reply(res, 201, { id: call.createdId });
    }
    if (!match) return this.reply(res, 404, { error: { code: 'NotFound', message: path } });
    const waiting = match[2] === 'activities' ? this.holds.get(method) : undefined;
    if (waiting) {
      waiting.push(() => this.answer(res, call, method, match));
      return;
    }
    this.answer(res, call, method, match);
  }

  private answer(res: http.ServerResponse, call: ConnectorCall, method: string, match: RegExpExecArray): void {
    const conversationId = call.conversationId;
    const hangUp = match[2] === 'activities' ? this.hangUps.indexOf(method) : -1;
    if (hangUp >= 0) {
      this.hangUps.splice(hangUp, 1);
      res.socket?.destroy();
      return;
    }
    const failure = match[2] ? this.httpFailures.findIndex((f) => f.method === method) : -1;
    if (failure >= 0) {
      const [f] = this.httpFailures.splice(failure, 1);
      if (f!.retryAfter) res.setHeader('retry-after', f!.retryAfter);
      return this.reply(res, f!.status, { error: { code: f!.status === 429 ? 'Throttled' : 'ServiceError', message: 'try again later' } });
    }
    if (conversationId && this.forbidden.has(conversationId)) {
      return this.reply(res, 403, {
        error: { code: 'BotNotInConversationRoster', message: 'The bot is not part of the conversation roster.' },
      });
    }
    if (match[2] === 'activities' && method === 'POST') {
      call.createdId = `act-${++this.seq}`;
      return this.reply(res, 201, { id: call.createdId });
    }
    if (match[2] === 'activities' && method === 'PUT' && match[3]) return this.reply(res, 200, { id: decodeURIComponent(match[3]) });
    if (match[2] === 'members' && method === 'GET' && match[3]) {
      const member = this.members.get(decodeURIComponent(match[3]));
      return member ? this.reply(res, 200, member) : this.reply(res, 404, { error: { code: 'MemberNotFoundInConversation' } });
    }
    return this.reply(res, 405, { error: { code: 'MethodNotAllowed' } });
  }

  private reply(res: http.ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }
}
