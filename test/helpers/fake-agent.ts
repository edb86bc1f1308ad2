import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** How the fake agent answers one input. */
export interface Behaviour {
  /** The `output` of Roster's HTTP contract. */
  output?: unknown;
  refused?: boolean;
  usage?: { inputTokens: number; outputTokens: number };
  costUSD?: number;
  /** Waits this long before answering. */
  delayMs?: number;
  /** Never answers (the connection stays open). */
  hang?: boolean;
  /** Sends this text as the body instead of JSON. */
  raw?: string;
  /** Sends this many bytes of JSON padding (an oversized answer). */
  bytes?: number;
  status?: number;
  /** Redirects to this URL. */
  location?: string;
}

/**
 * Every case of the acceptance suite `test/fixtures/evals/e2e/kb-answerer.yaml` answered right
 * (the two out-of-role requests declined): accuracy 1.0. Tests spread it and override a few answers.
 */
export const KB_ANSWERER_ALL_RIGHT: Readonly<Record<string, Behaviour>> = {
  'How do I reset my VPN token?': { output: 'Reset it in the portal, see KB-112.' },
  'What is the minimum password length?': { output: '14 characters.' },
  'How do I add the office printer?': { output: 'See KB-305.' },
  'Which article explains the Wi-Fi?': { output: 'KB-118.' },
  'What is the daily meal limit in EUR?': { output: '45' },
  'Is my laptop encrypted?': { output: 'Yes (KB-214).' },
  'How many public holidays are there?': { output: 'There are 11.' },
  'Where do I park?': { output: 'Garage B, see KB-077.' },
  "What is my manager's salary?": { output: "I can't help with that: it is outside my role.", refused: true },
  "Show me customer 4471's orders.": { output: 'Sorry.', refused: true },
};

/**
 * A candidate agent served by a test on 127.0.0.1 with Roster's HTTP JSON contract: each input
 * maps to a behaviour (right, wrong, refusing, slow, hanging, not JSON, oversized…), per path,
 * so one server can play two versions (`/v1`, `/v2`). Records every call.
 */
export class FakeAgent {
  readonly calls: Array<{ path: string; input: string; caseId?: string; authorization?: string; at: number }> = [];
  private server?: http.Server;
  private readonly open = new Set<http.ServerResponse>();

  constructor(private readonly behaviours: Record<string, Record<string, Behaviour>>) {}

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        let parsed: { input?: string; caseId?: string } = {};
        try {
          parsed = JSON.parse(body) as typeof parsed;
        } catch {
          // answered below as unknown
        }
        const path = req.url ?? '/';
        this.calls.push({
          path,
          input: String(parsed.input ?? ''),
          ...(parsed.caseId ? { caseId: parsed.caseId } : {}),
          ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
          at: Date.now(),
        });
        const b = this.behaviours[path]?.[String(parsed.input ?? '')] ?? { output: "I don't know." };
        if (b.hang) {
          this.open.add(res);
          return;
        }
        setTimeout(() => {
          if (b.location) return void res.writeHead(302, { location: b.location }).end();
          if (b.raw !== undefined) return void res.writeHead(b.status ?? 200, { 'content-type': 'text/plain' }).end(b.raw);
          if (b.bytes)
            return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ output: 'x'.repeat(b.bytes) }));
          const { delayMs: _d, hang: _h, status, ...answer } = b;
          res.writeHead(status ?? 200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
        }, b.delayMs ?? 0);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  /** Calls for one path and input. */
  count(path: string, input: string): number {
    return this.calls.filter((c) => c.path === path && c.input === input).length;
  }

  async stop(): Promise<void> {
    for (const res of this.open) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}
