/*
 * `node --import tsx bench/agent-api.ts`: the agent API under load, against a floor measured in
 * the same run (a bare Express endpoint returning constant JSON, in its own process as each
 * Roster is in its own), and how soon a revocation is seen: on the process that made it, and on
 * a second Roster process on the same database.
 * Writes its section of bench/RESULTS.md (between the agent-api markers), leaving the rest.
 */
import { randomBytes } from 'node:crypto';
import { sha256 } from '../src/core/agents.js';
import { forkBench } from './ipc.js';
import {
  benchLog,
  elapsedSeconds,
  fmt,
  loadAverage,
  machine,
  measure,
  measureServed,
  openBenchDatabase,
  runBench,
  writeSection,
  type Latency,
} from './support.js';

const REQUESTS = Number(process.env.BENCH_API_REQUESTS ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_API_CONCURRENCY ?? 200);
const GATEWAY = { id: 'bench-gateway', secret: 'bench-gateway-secret-123' };
const KEK = randomBytes(32).toString('base64');
const log = benchLog('bench agent-api');

const rosterEnv = {
  ROSTER_OAUTH_KEK: KEK,
  // Replicas share one issuer (and so one audience for Roster's API): the public URL.
  ROSTER_PUBLIC_URL: 'http://roster.bench.test',
  ROSTER_OAUTH_INTROSPECTION_CLIENTS: `${GATEWAY.id}:${sha256(GATEWAY.secret)}`,
  ROSTER_API_RATE_LIMIT_PER_MINUTE: '10000000',
};

const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
const form = { 'content-type': 'application/x-www-form-urlencoded' };

async function main(): Promise<void> {
  const loadBefore = loadAverage();
  const database = await openBenchDatabase();
  const dbName = `bench_api_${Date.now()}`;
  // Two Roster processes on one database, the floor in a third and this one the load generator:
  // none shares an event loop with another.
  const [rosterA, rosterB, floors] = await Promise.all([
    forkBench('roster-process.ts', { gc: true }),
    forkBench('roster-process.ts', { gc: true }),
    forkBench('floor-process.ts'),
  ]);
  try {
    const a = await rosterA.call<{ baseUrl: string }>('start', database.uri, dbName, rosterEnv, { chat: false });
    const b = await rosterB.call<{ baseUrl: string }>('start', database.uri, dbName, rosterEnv, { chat: false });
    const floorUrl = await floors.call<string>('constant');
    log(`Roster processes ${rosterA.pid} and ${rosterB.pid}, the floor ${floors.pid}`);
    // Agents with keys and a few live grants each.
    const agents = await rosterA.call<Array<{ id: string; key: string }>>('apiAgents', 20);
    const tokenOf = async (roster: { baseUrl: string }, agent: { id: string; key: string }) => {
      const res = await fetch(`${roster.baseUrl}/oauth/token`, {
        method: 'POST',
        headers: { ...form, authorization: basic(agent.id, agent.key) },
        body: 'grant_type=client_credentials',
      });
      return String(((await res.json()) as { access_token: string }).access_token);
    };
    const tokens = await Promise.all(agents.map((agent) => tokenOf(a, agent)));
    const introspect = (roster: { baseUrl: string }, token: string) =>
      fetch(`${roster.baseUrl}/oauth/introspect`, {
        method: 'POST',
        headers: { ...form, authorization: basic(GATEWAY.id, GATEWAY.secret) },
        body: new URLSearchParams({ token }).toString(),
      });
    const check = (roster: { baseUrl: string }, token: string, scope: string) =>
      fetch(`${roster.baseUrl}/api/v1/access/check`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ scope }),
      });

    // Each measurement is preceded by a warm-up at the same concurrency, so every run starts with
    // its keep-alive connections open (connection set-up would otherwise dominate the p99).
    // CPU per request is the serving process's own (user + system): unlike latency, it hardly
    // depends on what else the shared machine is doing.
    const run = async (name: string, send: (i: number) => Promise<Response>, server: typeof rosterA = rosterA) => {
      await measure(send, CONCURRENCY * 2, CONCURRENCY);
      log(`${name}, ${REQUESTS} × ${CONCURRENCY}`);
      const before = await rosterA.call<number>('commands');
      const latency = await measureServed(server, send, REQUESTS, CONCURRENCY);
      return { ...latency, commands: ((await rosterA.call<number>('commands')) - before) / REQUESTS };
    };
    const floorResult = await run('floor', () => fetch(floorUrl, { method: 'POST' }), floors);
    const tokenResult = await run('token issuance', (i) =>
      fetch(`${a.baseUrl}/oauth/token`, {
        method: 'POST',
        headers: { ...form, authorization: basic(agents[i % agents.length]!.id, agents[i % agents.length]!.key) },
        body: 'grant_type=client_credentials',
      }),
    );
    const introspectionResult = await run('introspection', (i) => introspect(a, tokens[i % tokens.length]!));
    const checkResult = await run('access check', (i) => check(a, tokens[i % tokens.length]!, 'crm:read'));
    const floorAgain = await run('floor again', () => fetch(floorUrl, { method: 'POST' }), floors);
    const floorP99 = Math.min(floorResult.p99, floorAgain.p99);
    const floorBest = floorResult.p99 <= floorAgain.p99 ? floorResult : floorAgain;

    // Revocation: the very next call on the same process, and the other process on the same database.
    log('revocation');
    const victim = agents[0]!;
    const victimToken = tokens[0]!;
    const beforeA = ((await (await introspect(a, victimToken)).json()) as { active: boolean }).active;
    const beforeB = ((await (await introspect(b, victimToken)).json()) as { active: boolean }).active;
    await rosterA.call('revokeGrant', 'tom.becker@brightwater.example', `${victim.id}:crm:read`, 'bench revocation');
    const revokedAt = performance.now();
    const nextA = ((await (await introspect(a, victimToken)).json()) as { active: boolean }).active;
    const nextCheckA = (await (await check(a, victimToken, 'crm:read')).json()) as { allowed: boolean; reason: string };
    const nextTokenA = await tokenOf(a, victim);
    // The other process is asked over and over: when each request that still said active was sent,
    // and when the first one answered inactive was sent and answered (after the revoke returned).
    let seenByB = { sentMs: Number.NaN, answeredMs: Number.NaN };
    let staleAnswers = 0;
    let lastStaleSentMs = Number.NaN;
    for (;;) {
      const sentMs = performance.now() - revokedAt;
      const active = ((await (await introspect(b, victimToken)).json()) as { active: boolean }).active;
      if (!active) {
        seenByB = { sentMs, answeredMs: performance.now() - revokedAt };
        break;
      }
      staleAnswers += 1;
      lastStaleSentMs = sentMs;
      if (performance.now() - revokedAt > 5000) break;
    }
    const nextCheckB = (await (await check(b, victimToken, 'crm:read')).json()) as { allowed: boolean; reason: string };
    const scopeOf = (jwt: string) => (JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as { scope: string }).scope;

    const floorCpu = Math.min(floorResult.cpuMs, floorAgain.cpuMs);
    const row = (name: string, r: Latency & { commands: number; cpuMs: number }, floor = false) =>
      `| ${name} | ${fmt(r.p50)} ms | ${fmt(r.p95)} ms | ${fmt(r.p99)} ms | ×${fmt(r.p50 / floorBest.p50)} / ×${fmt(r.p99 / floorP99)} | ${fmt(r.perSecond, 0)}/s | ${r.errors} | ${floor ? '0' : fmt(r.commands, 1)} | ${fmt(floor ? floorCpu : r.cpuMs, 2)} ms (×${fmt((floor ? floorCpu : r.cpuMs) / floorCpu)}) |`;
    const section = [
      '## Agent API: tokens, introspection, access check (`node --import tsx bench/agent-api.ts`)',
      '',
      `Written on ${new Date().toISOString()} in ${elapsedSeconds().toFixed(0)} s; ${machine()}; ${database.label}.`,
      `${REQUESTS} requests per measurement, ${CONCURRENCY} in flight, on kept-alive connections opened by a warm-up of ${CONCURRENCY * 2} requests at the same concurrency (not reported); 20 agents with 3 live grants each. The load generator, each Roster process and the floor run in their own process on this machine (load average ${loadBefore} at the start, ${loadAverage()} at the end). Database commands per request are Roster's (counted by a proxy in front of the database, bench/db-count-process.ts), Agenda's polling and the outbox worker's periodic due scans left out.`,
      '',
      '| measurement | p50 | p95 | p99 | p50 / p99 against the floor | throughput | non-200 or failed | DB commands per request | CPU per request (its process) |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      row(
        'bare Express endpoint in its own process, constant JSON (floor, best p99 of two runs; CPU the lower of the two)',
        floorBest,
        true,
      ),
      row('POST /oauth/token (client_credentials, ES256 JWT)', tokenResult),
      row('POST /oauth/introspect', introspectionResult),
      row('POST /api/v1/access/check', checkResult),
      '',
      `- Revocation on one process: before, introspection said active=${beforeA}; the very next introspection said active=${nextA}, the next access check said allowed=${nextCheckA.allowed} (${nextCheckA.reason}), the next token has scope "${scopeOf(nextTokenA)}" (crm:read gone).`,
      `- Revocation across two Roster processes on one database: before, the other process said active=${beforeB}; ${Number.isNaN(seenByB.sentMs) ? 'it said active for 5 s (NOT within the bound)' : `the first request it answered inactive was sent ${fmt(seenByB.sentMs)} ms after the revoke returned (answered at ${fmt(seenByB.answeredMs)} ms); ${staleAnswers} request(s) sent before it still said active (the last sent at ${Number.isNaN(lastStaleSentMs) ? '–' : `${fmt(lastStaleSentMs)} ms`}), answered from a read started before the revoke`}; its access check then said allowed=${nextCheckB.allowed} (${nextCheckB.reason}). The bound: each process answers from an agent, its grants and boundary changes read at most ROSTER_ACCESS_CACHE_MS (500 ms) ago, forgotten at every write it makes itself.`,
      '- Token issuance hashes the presented key (SHA-256) and finds it among the credentials of the agent as the live access holds it (a key it does not hold is looked up by hash), takes the live grants from the same record and signs an ES256 JWT; introspection and the access check verify the token (a token whose signature was verified before is remembered by its exact bytes: its key, issuer, audience and expiry are checked again) and decide from the same record. That record (the agent with its grants and approved boundary changes, one `aggregate` with two `$lookup`s) is read once for all the calls asking at once and serves the next calls for at most 500 ms from the start of the read; any write this process makes to the agent, its grants or boundary changes forgets it (the revocation rows above). Usage is counted in memory and added to per-agent-hour documents every 2 s, off the request path.',
      "- CPU per request is the serving process's own user + system time over the measured requests (its share of Agenda's polling and other timers included), divided by the number of requests: unlike the latencies, it hardly depends on what else the shared machine is doing.",
    ];
    writeSection('agent-api', section);
    log('wrote the agent-api section of bench/RESULTS.md');
    process.stdout.write(`${section.join('\n')}\n`);
  } finally {
    await Promise.all([rosterA.stop(), rosterB.stop(), floors.stop()]);
    await database.stop();
  }
}

runBench(main);
