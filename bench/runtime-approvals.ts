/*
 * `node --import tsx bench/runtime-approvals.ts`: runtime approvals (issue 19), run once.
 * 1. Autonomous and forbidden answers against a bare Express endpoint measured in the same run.
 * 2. Request → card: 50 agents ask at once; half the sponsors are on Slack (fake Web API), half on
 *    Teams (fake Bot Connector). The API answers only after the card was accepted by the fake, so
 *    the request's latency bounds request → card from above.
 * 3. Click → long poll answered: an agent long-polls, the sponsor clicks Approve (a signed Slack
 *    request); time from sending the click to the poll's answer.
 * Writes its section of bench/RESULTS.md (between the runtime-approvals markers), leaving the rest.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { startRoster, type Roster } from '../src/app.js';
import { createSlackChannel } from '../src/channels/slack/index.js';
import { createTeamsChannel } from '../src/channels/teams/index.js';
import { envSchema } from '../src/config/env.js';
import { loadOrgConfig } from '../src/config/org-config.js';
import { issueTelemetryKey, newAgentId, type AgentRecord } from '../src/core/agents.js';
import { createLogger } from '../src/logger.js';
import { loadFlowDefinitions } from '../src/services.js';
import { startEmbeddedMongo, type EmbeddedMongo } from '../src/store/embedded/embedded-mongo.js';
import { FakeConnector } from '../test/helpers/fake-connector.js';
import { FakeSlack } from '../test/helpers/fake-slack.js';
import { buttonClick, interaction } from '../test/helpers/slack-requests.js';
import { TeamsClient, teamsUser } from '../test/channels/teams/teams-client.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const org = loadOrgConfig(path.join(root, 'config'));
const MAYA = { id: 'U04B7K2M9QX', email: 'maya.chen@brightwater.example' };
const SOFIA = 'sofia.alvarez@brightwater.example';
const started = Date.now();
const log = (msg: string) => process.stdout.write(`[bench runtime ${((Date.now() - started) / 1000).toFixed(0)}s] ${msg}\n`);
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const fmt = (n: number) => n.toFixed(1);

async function timed(send: (i: number) => Promise<Response>, count: number, concurrency: number, expect: number) {
  const times: number[] = [];
  let next = 0;
  let errors = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const s = performance.now();
        const res = await send(i);
        await res.arrayBuffer();
        times.push(performance.now() - s);
        if (res.status !== expect) errors += 1;
      }
    }),
  );
  times.sort((a, b) => a - b);
  return { p50: pct(times, 50), p95: pct(times, 95), p99: pct(times, 99), errors };
}

async function main(): Promise<void> {
  const mongo: EmbeddedMongo = await startEmbeddedMongo({ backend: 'memory' });
  const slack = new FakeSlack();
  await slack.start();
  const connector = await FakeConnector.start();
  const env = envSchema.parse({
    NODE_ENV: 'test',
    PORT: '0',
    MONGODB_URI: mongo.uri,
    LOG_LEVEL: 'silent',
    ROSTER_API_RATE_LIMIT_PER_MINUTE: '10000000',
    ...slack.rosterEnv(),
  });
  const roster: Roster = await startRoster({
    env,
    org,
    flows: loadFlowDefinitions(path.join(root, 'flows')),
    log: createLogger({ level: 'silent', pretty: false }),
    channels: [createSlackChannel, createTeamsChannel],
    dbName: `bench_runtime_${Date.now()}`,
    host: '127.0.0.1',
  });
  const base = `http://127.0.0.1:${roster.port}`;
  const teams = new TeamsClient(base, connector.serviceUrl);
  await teams.install(teamsUser(org.people.find((p) => p.email === SOFIA)!));
  const floorApp = express();
  floorApp.post(
    '/floor',
    express.json(),
    (_req, res) => void res.status(201).json({ id: 'apr_0', status: 'allowed', reason: 'autonomous' }),
  );
  const floor = http.createServer(floorApp);
  await new Promise<void>((r) => floor.listen(0, '127.0.0.1', r));
  const floorUrl = `http://127.0.0.1:${(floor.address() as AddressInfo).port}/floor`;

  const agent = async (i: number, sponsor: string) => {
    const now = new Date();
    const id = newAgentId();
    const { key, credential } = issueTelemetryKey(id, now);
    const record: AgentRecord = {
      id,
      name: `Bench desk ${i}`,
      catalogRoleId: 'procurement-agent',
      version: '1.0.0',
      sponsors: [sponsor],
      businessUnit: 'risk-compliance',
      status: 'active',
      purpose: 'Benchmarks runtime approvals.',
      requestedBy: 'daniel.okafor@brightwater.example',
      requestRunId: `run_${id}`,
      credentials: [credential],
      knowledgeNotes: [],
      complianceTags: [],
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
      statusChangedAt: now.toISOString(),
    };
    await roster.services.agents.insert(record);
    const res = await fetch(`${base}/oauth/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${id}:${key}`).toString('base64')}`,
      },
      body: 'grant_type=client_credentials',
    });
    return { id, token: String(((await res.json()) as { access_token: string }).access_token) };
  };
  const post = (token: string, body: unknown) =>
    fetch(`${base}/api/v1/approvals`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const modify = (key: string) => ({
    action: 'contracts.modify',
    summary: 'Extend the Acme cleaning contract by 12 months.',
    details: { contractId: 'C-2291', supplier: 'Acme Facilities', change: 'Extend to 2026-06-30', amountUSD: 48000 },
    idempotency_key: key,
  });

  try {
    const fast = await agent(0, MAYA.email);
    const N = Number(process.env.BENCH_RUNTIME_REQUESTS ?? 2000);
    log(`floor and autonomous/forbidden, ${N} requests each, 20 in flight`);
    for (let i = 0; i < 200; i++)
      await (await post(fast.token, { action: 'suppliers.read', summary: 'warm', idempotency_key: `warm-${i}-xxxx` })).arrayBuffer();
    const floorStats = await timed(
      (i) => fetch(floorUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ action: 'x', i }) }),
      N,
      20,
      201,
    );
    const auto = await timed(
      (i) => post(fast.token, { action: 'suppliers.read', summary: 'Compare offers', idempotency_key: `auto-${i}-xxxx` }),
      N,
      20,
      201,
    );
    const forbidden = await timed(
      (i) => post(fast.token, { action: 'contracts.terminate', summary: 'Terminate Acme', idempotency_key: `forb-${i}-xxxx` }),
      N,
      20,
      201,
    );

    log('request → card, 50 concurrent agents (25 Slack sponsors, 25 Teams)');
    const askers = await Promise.all(Array.from({ length: 50 }, (_, i) => agent(i + 1, i % 2 === 0 ? MAYA.email : SOFIA)));
    const slackBefore = slack.of('chat.postMessage').length;
    const teamsBefore = connector.posts(teamsUser(org.people.find((p) => p.email === SOFIA)!).conversationId).length;
    const cardTimes: number[] = [];
    const ids: string[] = [];
    await Promise.all(
      askers.map(async (a, i) => {
        const s = performance.now();
        const res = await post(a.token, modify(`card-${i}-xxxxxxxx`));
        const body = (await res.json()) as { id: string };
        cardTimes.push(performance.now() - s);
        ids[i] = body.id;
      }),
    );
    cardTimes.sort((x, y) => x - y);
    const slackCards = slack.of('chat.postMessage').length - slackBefore;
    const teamsCards = connector.posts(teamsUser(org.people.find((p) => p.email === SOFIA)!).conversationId).length - teamsBefore;

    log('click → long poll answered, 30 sequential approvals in Slack');
    const clickTimes: number[] = [];
    for (let i = 0; i < 30; i++) {
      const a = askers[(i * 2) % askers.length]!;
      const res = await post(a.token, modify(`click-${i}-xxxxxxxx`));
      const { id } = (await res.json()) as { id: string };
      const record = await roster.services.runtime.get(a.id, id);
      const poll = fetch(`${base}/api/v1/approvals/${id}?wait=30`, { headers: { authorization: `Bearer ${a.token}` } }).then((r) =>
        r.json(),
      );
      await new Promise((r) => setTimeout(r, 20));
      const payload = interaction(buttonClick(MAYA.id, 'approval_approve', JSON.stringify({ runId: record.runId, stepId: 'decision' })));
      const s = performance.now();
      const click = fetch(`${base}/slack/events`, { method: 'POST', headers: payload.headers, body: payload.body });
      const answer = (await poll) as { status: string };
      clickTimes.push(performance.now() - s);
      await click;
      if (answer.status !== 'approved') throw new Error(`click ${i}: ${answer.status}`);
    }
    clickTimes.sort((x, y) => x - y);

    const rows = [
      `| Bare Express POST (floor) | ${fmt(floorStats.p50)} | ${fmt(floorStats.p95)} | ${fmt(floorStats.p99)} | ${floorStats.errors} |`,
      `| Autonomous action → \`allowed\` | ${fmt(auto.p50)} | ${fmt(auto.p95)} | ${fmt(auto.p99)} | ${auto.errors} |`,
      `| Forbidden action → \`denied\` | ${fmt(forbidden.p50)} | ${fmt(forbidden.p95)} | ${fmt(forbidden.p99)} | ${forbidden.errors} |`,
      `| Request → card posted, 50 concurrent | ${fmt(pct(cardTimes, 50))} | ${fmt(pct(cardTimes, 95))} | ${fmt(pct(cardTimes, 99))} | ${50 - slackCards - teamsCards} missing cards |`,
      `| Click → long poll answered (Slack) | ${fmt(pct(clickTimes, 50))} | ${fmt(pct(clickTimes, 95))} | ${fmt(pct(clickTimes, 99))} | 0 |`,
    ];
    const section = [
      '<!-- runtime-approvals -->',
      '## Runtime approvals (bench/runtime-approvals.ts)',
      '',
      `Run once on ${new Date().toISOString()}, ${process.platform} ${process.arch}, Node ${process.version}, embedded mongo-java-server (in-memory), on a shared 2-core machine.`,
      '',
      '| Measurement | p50 ms | p95 ms | p99 ms | errors |',
      '|---|---|---|---|---|',
      ...rows,
      '',
      `- Autonomous p99 is ${fmt(auto.p99 / floorStats.p99)}× and forbidden p99 ${fmt(forbidden.p99 / floorStats.p99)}× the floor's (target ≤ 2×): each answer verifies the JWT, reads the agent and its grants, inserts the record (its unique id is the idempotency key) and appends an audit entry, where the floor does nothing.`,
      `- Request → card: ${slackCards} Slack and ${teamsCards} Teams cards reached the fakes; the API answers after the card was accepted, so these times bound request → card from above (target p95 < 500 ms).`,
      `- Click → long poll: the poll is woken in-process by the decision (other replicas re-read every second); target p95 < 300 ms.`,
      '<!-- /runtime-approvals -->',
    ].join('\n');
    const file = path.join(root, 'bench/RESULTS.md');
    const existing = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmark results\n';
    const marked = /<!-- runtime-approvals -->[\s\S]*<!-- \/runtime-approvals -->/;
    writeFileSync(file, marked.test(existing) ? existing.replace(marked, section) : `${existing.trimEnd()}\n\n${section}\n`);
    log(`done\n${rows.join('\n')}`);
  } finally {
    await roster.stop();
    floor.close();
    await connector.close();
    await slack.stop();
    await mongo.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
