import { createHttpServer } from '../../src/http/server.js';
import { openDatabase } from '../../src/store/database.js';
import { testMongoUri, uniqueDbName } from '../helpers/db.js';
import { memoryLogger, silentLogger } from '../helpers/logger.js';

describe('health, readiness and metrics', () => {
  it('/readyz is 200 while the database answers and 503 with the reason once it does not', async () => {
    const db = await openDatabase({ uri: testMongoUri(), dataDir: '/unused', dbName: uniqueDbName() }, silentLogger());
    let schedulerRunning = true;
    const http = createHttpServer({
      log: silentLogger(),
      readiness: {
        database: async () => ((await db.ping()) ? undefined : 'the database does not answer'),
        scheduler: async () => (schedulerRunning ? undefined : 'the scheduler is not running'),
      },
    });
    const port = await http.listen(0, '127.0.0.1');
    try {
      const ok = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(ok.status).toBe(200);

      schedulerRunning = false;
      await db.close();
      const down = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(down.status).toBe(503);
      expect(await down.json()).toEqual({
        status: 'not ready',
        problems: { database: 'the database does not answer', scheduler: 'the scheduler is not running' },
      });

      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).toBe(200);

      const missing = await fetch(`http://127.0.0.1:${port}/no-such-route`);
      expect(missing.status).toBe(404);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toMatch(/roster_http_request_duration_seconds_count\{method="GET",route="\/readyz",status="503"\} 1/);
      expect(metrics).toMatch(/route="unmatched",status="404"/);
    } finally {
      await http.close(1000);
    }
  });

  it('finishes an in-flight request before closing', async () => {
    const http = createHttpServer({ log: silentLogger(), readiness: {} });
    let arrived!: () => void;
    const inFlight = new Promise<void>((resolve) => (arrived = resolve));
    http.mount('/slow', (_req, res) => {
      arrived();
      setTimeout(() => res.json({ done: true }), 300);
    });
    const port = await http.listen(0, '127.0.0.1');
    const pending = fetch(`http://127.0.0.1:${port}/slow`);
    // Close only once the request is being handled, however long it takes to arrive on a loaded machine.
    await inFlight;
    const closing = Date.now();
    await http.close(5000);
    expect(Date.now() - closing).toBeLessThan(2000);
    const res = await pending;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ done: true });
  });
});

describe('log redaction', () => {
  it('never writes tokens, secrets, authorization headers or API keys', () => {
    const mem = memoryLogger();
    mem.log.info(
      {
        req: { headers: { authorization: 'Bearer abc.def', cookie: 'sid=1' } },
        slack: { botToken: 'xoxb-123', signingSecret: 'shh' },
        apiKey: 'rk_live_1',
        env: { SLACK_BOT_TOKEN: 'xoxb-999', MONGODB_URI: 'mongodb://user:pw@host' },
      },
      'request',
    );
    const text = JSON.stringify(mem.lines());
    for (const secret of ['abc.def', 'sid=1', 'xoxb-123', 'shh', 'rk_live_1', 'xoxb-999', 'user:pw']) expect(text).not.toContain(secret);
    expect(text).toContain('[redacted]');
  });
});
