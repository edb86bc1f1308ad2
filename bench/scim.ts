/*
 * `npm run bench:scim`: provisions 10,000 users and 200 groups through Roster's SCIM endpoint (over
 * HTTP, as an identity provider would), then shows that a decision's directory look-ups cost the
 * same with 14 people and with 10,000. Writes its section of bench/RESULTS.md (between the
 * `scim` markers, leaving the rest of the file alone). Runs on 127.0.0.1 against the embedded
 * MongoDB-compatible server started here, or MONGODB_URI when set. Sizes: BENCH_SCIM_USERS,
 * BENCH_SCIM_GROUPS.
 */
import { findPersonByEmail, findPersonBySlackId, findPersonByTeamsId, peopleWithRole } from '../src/config/directory.js';
import type { OrgConfig } from '../src/config/schemas.js';
import type { Roster } from '../src/compose.js';
import { people } from '../test/helpers/harness.js';
import {
  benchLog,
  elapsedSeconds,
  fmt,
  machine,
  openBenchDatabase,
  org as fileOrg,
  pool,
  runBench,
  startBenchRoster,
  waitingRequests,
  writeSection,
} from './support.js';
import { commandsOf } from '../test/helpers/commands.js';

const TOKEN = 'bench-scim-token-0123456789abcdef0123456789abcdef';
const USERS = Number(process.env.BENCH_SCIM_USERS ?? 10_000);
const GROUPS = Number(process.env.BENCH_SCIM_GROUPS ?? 200);
const CONCURRENCY = 16;
const rows: string[] = [];
const notes: string[] = [];

const log = benchLog('bench:scim');
const mb = (bytes: number) => `${fmt(bytes / 1024 ** 2, 0)} MB`;

async function scim(base: string, method: string, route: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${base}/scim/v2${route}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/scim+json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${route}: ${res.status} ${text.slice(0, 300)}`);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

/**
 * Nanoseconds per call of the look-ups a decision makes (who holds a role, who is this e-mail or
 * chat id), the best of five rounds (the machine is shared), for answers of the same size at
 * every directory size: roles held by the same one person throughout. `scan` is what a look-up
 * by e-mail cost before the index: a scan of the list.
 */
function lookupCost(org: OrgConfig): { role: number; email: number; chat: number; scan: number } {
  const time = (fn: (i: number) => unknown, n = 100_000) => {
    let best = Infinity;
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 1_000; i++) fn(i);
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) fn(i);
      best = Math.min(best, Number(process.hrtime.bigint() - t0) / n);
    }
    return best;
  };
  const emails = [people.maya, 'noah.fischer@brightwater.example', 'nobody@brightwater.example', people.grace];
  return {
    role: time((i) => peopleWithRole(org, i % 2 ? 'data-owner:kb' : 'data-owner:crm')),
    email: time((i) => findPersonByEmail(org, emails[i % emails.length]!)),
    chat: time((i) => (i % 2 ? findPersonBySlackId(org, 'U04J5M9C1RF') : findPersonByTeamsId(org, 'b6683eea-495c-43ed-bf7c-3b1e40b03252'))),
    scan: time((i) => org.people.find((p) => p.email === emails[i % emails.length]), 2_000),
  };
}

/** Median time of a real approval decision (engine: read, eligibility, compare-and-set, audit). */
async function decisionTime(roster: Roster, count: number, prefix: string): Promise<number> {
  const runs = await waitingRequests(roster, count, prefix);
  const times: number[] = [];
  for (const runId of runs) {
    const t0 = performance.now();
    await commandsOf(roster.services).decide(people.liam, { runId, stepId: 'approvals', decision: 'approve' });
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/** The bench is bounded: past this many seconds it stops with exit code 2 (BENCH_SCIM_DEADLINE_S). */
const DEADLINE_S = Number(process.env.BENCH_SCIM_DEADLINE_S ?? 1500);

async function main(): Promise<void> {
  setTimeout(() => {
    process.stderr.write(`bench:scim did not finish within ${DEADLINE_S} s; stopped\n`);
    process.exit(2);
  }, DEADLINE_S * 1000);
  const database = await openBenchDatabase();
  const roster = await startBenchRoster(
    database.uri,
    `bench_scim_${Date.now()}`,
    { NODE_ENV: 'production', ROSTER_SCIM_TOKEN: TOKEN },
    // The bench is the only client: the per-client limit would only measure itself.
    { scimPerMinute: 100_000_000 },
  );
  const base = roster.baseUrl;
  const directory = roster.services.directory!;
  const org = directory.live.orgConfig(fileOrg);
  try {
    const small = { size: directory.live.size.people, cost: lookupCost(org), decision: await decisionTime(roster, 15, 'Small') };
    log(`look-ups with ${small.size} people: ${JSON.stringify(small.cost)} ns; decision ${fmt(small.decision)} ms`);

    const rssBefore = process.memoryUsage().rss;
    const ids: string[] = new Array(USERS);
    const usersT0 = performance.now();
    let atThousand: { size: number; cost: ReturnType<typeof lookupCost> } | undefined;
    await pool(
      Array.from({ length: USERS }, (_, i) => i),
      CONCURRENCY,
      async (i) => {
        const created = await scim(base, 'POST', '/Users', {
          schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'],
          externalId: `ext-${i}`,
          userName: `user${i}@bench.example`,
          active: true,
          displayName: `Bench User ${i}`,
          name: { givenName: 'Bench', familyName: `User ${i}`, formatted: `Bench User ${i}` },
          emails: [{ primary: true, type: 'work', value: `user${i}@bench.example` }],
          'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': {
            department: ['Finance', 'Engineering', 'Customer Support'][i % 3],
          },
          roles: [],
        });
        ids[i] = String(created.id);
        if (i === 1000 && !atThousand) atThousand = { size: directory.live.size.people, cost: lookupCost(org) };
        if (i % 2000 === 0) log(`${i} users`);
      },
    );
    const usersMs = performance.now() - usersT0;

    const mapped = fileOrg.directory!.groups.map((g) => g.group);
    const names = Array.from({ length: GROUPS }, (_, g) => mapped[g] ?? `Bench Team ${g}`);
    const perGroup = Math.floor(USERS / GROUPS);
    const groupsT0 = performance.now();
    await pool(names, CONCURRENCY, async (displayName, g) => {
      const group = await scim(base, 'POST', '/Groups', {
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
        displayName,
        members: [],
      });
      const members = ids.slice(g * perGroup, (g + 1) * perGroup);
      // Entra adds members in PATCHes of a few at a time; 10 per request here.
      for (let k = 0; k < members.length; k += 10) {
        await scim(base, 'PATCH', `/Groups/${String(group.id)}`, {
          schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
          Operations: [{ op: 'Add', path: 'members', value: members.slice(k, k + 10).map((value) => ({ value })) }],
        });
      }
    });
    const groupsMs = performance.now() - groupsT0;
    const memberships = perGroup * GROUPS;
    const rssAfter = process.memoryUsage().rss;
    const heap = process.memoryUsage().heapUsed;

    // A filtered look-up as Entra sends it, at full size.
    const lookupT0 = performance.now();
    for (let i = 0; i < 200; i++)
      await scim(base, 'GET', `/Users?filter=${encodeURIComponent(`userName eq "user${(i * 37) % USERS}@bench.example"`)}`);
    const filterMs = (performance.now() - lookupT0) / 200;

    const large = { size: directory.live.size.people, cost: lookupCost(org), decision: await decisionTime(roster, 15, 'Large') };
    log(`look-ups with ${large.size} people: ${JSON.stringify(large.cost)} ns; decision ${fmt(large.decision)} ms`);
    const holders = peopleWithRole(org, 'it-admin').length;

    rows.push(
      `| provision ${USERS.toLocaleString('en-US')} users (POST /Users, ${CONCURRENCY} in flight) | ${fmt(usersMs / 1000)} s | ${fmt(USERS / (usersMs / 1000), 0)} users/s | ${fmt(usersMs / USERS, 2)} ms per user |`,
      `| provision ${GROUPS} groups and ${memberships.toLocaleString('en-US')} memberships (POST /Groups + PATCH add, 10 members each) | ${fmt(groupsMs / 1000)} s | ${fmt(memberships / (groupsMs / 1000), 0)} memberships/s | ${fmt(groupsMs / (memberships / 10), 2)} ms per PATCH |`,
      `| GET /Users?filter=userName eq "…" at ${USERS.toLocaleString('en-US')} users | ${fmt(filterMs, 2)} ms per request | | |`,
      `| RSS before / after provisioning | ${mb(rssBefore)} / ${mb(rssAfter)} | heap used ${mb(heap)} | |`,
    );
    const costRow = (label: string, s: { size: number; cost: ReturnType<typeof lookupCost> }) =>
      `| directory look-ups with ${s.size.toLocaleString('en-US')} people (${label}) | peopleWithRole ${fmt(s.cost.role, 0)} ns, findPersonByEmail ${fmt(s.cost.email, 0)} ns | by Slack/Teams id ${fmt(s.cost.chat, 0)} ns | a scan of the list (before the index) ${fmt(s.cost.scan, 0)} ns |`;
    rows.push(costRow('seeded', small));
    if (atThousand) rows.push(costRow('during provisioning', atThousand));
    rows.push(costRow('provisioned', large));
    rows.push(
      `| approval decision (commands.decide, median of 15) | ${fmt(small.decision)} ms with ${small.size} people | ${fmt(large.decision)} ms with ${large.size.toLocaleString('en-US')} people | ratio ×${fmt(large.decision / small.decision, 2)} |`,
    );
    notes.push(
      `Look-ups read the live directory's index (maps by e-mail, Slack id, Teams id and role): from ${small.size} to ${large.size.toLocaleString('en-US')} people a look-up by e-mail goes from ${fmt(small.cost.email, 0)} to ${fmt(large.cost.email, 0)} ns and one by role (same one holder) from ${fmt(small.cost.role, 0)} to ${fmt(large.cost.role, 0)} ns, where a scan of the list goes from ${fmt(small.cost.scan, 0)} to ${fmt(large.cost.scan, 0)} ns (×${fmt(large.cost.scan / small.cost.scan, 0)}). peopleWithRole costs what its answer holds (${holders} it-admins here), not the directory's size.`,
      'A decision reads the run, checks eligibility against the live directory (index look-ups) and writes one compare-and-set; its time is dominated by the database, not the directory size.',
      `Every SCIM write is one single-document write plus a counter increment (other replicas catch up from the counter); each role change and each leaver is audited (a user created without roles is only logged), which is part of the time above. ${USERS.toLocaleString('en-US')} people are ${fmt((rssAfter - rssBefore) / USERS / 1024, 1)} KB of RSS each in the bench process (users, groups, people and index).`,
    );
  } finally {
    await roster.stop();
    await database.stop();
  }

  const section = [
    '## SCIM provisioning and directory size',
    '',
    `Written by \`npm run bench:scim\` on ${new Date().toISOString()} in ${fmt(elapsedSeconds(), 0)} s.`,
    '',
    `- Machine: ${machine()}; database: ${database.label}. Roster and the SCIM client share the process.`,
    '',
    '| measurement | value | | |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
    ...notes.map((n) => `- ${n}`),
  ];
  writeSection('scim', section);
  log('wrote the SCIM section of bench/RESULTS.md');
  process.stdout.write(`${section.join('\n')}\n`);
}

runBench(main);
