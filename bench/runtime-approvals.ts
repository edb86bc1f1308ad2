/*
 * `node --import tsx bench/runtime-approvals.ts`: runtime approvals (issue 19), run once.
 * Roster runs alone in a forked process (bench/roster-process.ts), the fake Slack Web API and Bot
 * Connector in another (bench/fakes-process.ts), the floor in a third; this one is the load generator.
 * 1. Autonomous and forbidden answers against a bare Express endpoint measured in the same run.
 * 2. Request → card: 50 agents ask at once; half the sponsors are on Slack (fake Web API), half on
 *    Teams (fake Bot Connector). The API answers `pending` once the request and its run (stored
 *    waiting, its cards in its outbox) are stored; the cards go out at once beside the answer.
 *    Timed from sending the request to the card reaching the fake (each fake's call list is
 *    watched as calls arrive, in the fakes' process, on a clock both processes share).
 * 3. Click → long poll answered: an agent long-polls, the sponsor clicks Approve (a signed Slack
 *    request) once the card is there; time from sending the click to the poll's answer.
 * 4. Database commands per operation: 20 sequential requests of each kind, counting the driver's
 *    command events in Roster's process (Agenda's own polling left out) until the answer, then until
 *    the outbox is idle; with Roster's CPU per request.
 * Writes its section of bench/RESULTS.md (between the runtime-approvals markers), leaving the rest.
 */
import { interaction, buttonClick } from '../test/helpers/slack-requests.js';
import { TeamsClient, teamsUser } from '../test/channels/teams/teams-client.js';
import { forkBench } from './ipc.js';
import {
  benchLog,
  fmt,
  loadAverage,
  machine,
  measure,
  measureServed,
  openBenchDatabase,
  org,
  percentile,
  runBench,
  writeSection,
} from './support.js';

const MAYA = { id: 'U04B7K2M9QX', email: 'maya.chen@brightwater.example' };
const SOFIA = 'sofia.alvarez@brightwater.example';
const log = benchLog('bench runtime');
/** The clock the fakes' process stamps card arrivals with (see bench/fakes-process.ts). */
const now = () => performance.timeOrigin + performance.now();

async function main(): Promise<void> {
  const loadAtStart = loadAverage();
  const database = await openBenchDatabase();
  // Roster alone in one process, the fakes (Slack Web API, Bot Connector) in another, the floor in
  // a third, this one the load generator: only Roster's own work is on Roster's event loop.
  const [rosterProcess, fakes, floors] = await Promise.all([
    forkBench('roster-process.ts', { gc: true }),
    forkBench('fakes-process.ts'),
    forkBench('floor-process.ts'),
  ]);
  const stopAll = async () => {
    await Promise.all([rosterProcess.stop(), fakes.stop(), floors.stop()]);
    await database.stop();
  };
  const urls = await fakes.call<{ slackEnv: Record<string, string>; serviceUrl: string }>('urls');
  const { baseUrl: base } = await rosterProcess.call<{ baseUrl: string }>(
    'start',
    database.uri,
    `bench_runtime_${Date.now()}`,
    { ROSTER_API_RATE_LIMIT_PER_MINUTE: '10000000', ...urls.slackEnv },
    { chat: true },
  );
  const floorUrl = await floors.call<string>('created');
  await fakes.call('watchCards');
  await fakes.call(
    'slackPeople',
    org.people.filter((p) => p.slackUserId).map((p) => ({ id: p.slackUserId!, email: p.email })),
  );
  log(`Roster process ${rosterProcess.pid}, the fakes ${fakes.pid}, the floor ${floors.pid}`);
  const commandCount = () => rosterProcess.call<number>('commands');
  const cpuMs = () => rosterProcess.call<number>('cpuMs');
  /** Commands until the answer and after it (until the outbox's deferred work is done), and Roster's CPU, averaged over `n` sequential requests. */
  const commandsPer = async (n: number, send: (i: number) => Promise<Response>) => {
    let answer = 0;
    let after = 0;
    const cpu0 = await cpuMs();
    for (let i = 0; i < n; i++) {
      const c0 = await commandCount();
      await (await send(i)).arrayBuffer();
      const c1 = await commandCount();
      await rosterProcess.call('outboxIdle');
      answer += c1 - c0;
      after += (await commandCount()) - c1;
    }
    return { answer: answer / n, after: after / n, cpuMs: ((await cpuMs()) - cpu0) / n };
  };
  const sofia = teamsUser(org.people.find((p) => p.email === SOFIA)!);
  const teams = new TeamsClient(base, urls.serviceUrl);
  await teams.install(sofia);

  const agent = async (i: number, sponsor: string) => {
    const { id, key } = await rosterProcess.call<{ id: string; key: string }>('runtimeAgent', `Bench desk ${i}`, sponsor);
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
    const sendFloor = (i: number) =>
      fetch(floorUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ action: 'x', i }) });
    await measure(sendFloor, 200, 20, 201);
    const floorStats = await measure(sendFloor, N, 20, 201);
    const auto = await measureServed(
      rosterProcess,
      (i) => post(fast.token, { action: 'suppliers.read', summary: 'Compare offers', idempotency_key: `auto-${i}-xxxx` }),
      N,
      20,
      201,
    );
    const forbidden = await measureServed(
      rosterProcess,
      (i) => post(fast.token, { action: 'contracts.terminate', summary: 'Terminate Acme', idempotency_key: `forb-${i}-xxxx` }),
      N,
      20,
      201,
    );

    // The audit entries of the answers above are appended by the outbox after them; the backlog
    // left is timed here, and the card phase starts from an idle outbox like the old inline one did.
    const backlogStart = performance.now();
    await rosterProcess.call('outboxIdle');
    const backlogMs = performance.now() - backlogStart;
    log('request → card, 50 concurrent agents (25 Slack sponsors, 25 Teams)');
    const askers = await Promise.all(Array.from({ length: 50 }, (_, i) => agent(i + 1, i % 2 === 0 ? MAYA.email : SOFIA)));
    // A warm-up request and card per platform (not reported), as the other measurements have their
    // warm-up rounds: a Roster that has sent cards before has their templates compiled.
    const warmers = [await agent(101, MAYA.email), await agent(102, SOFIA)];
    await Promise.all(warmers.map((a, i) => post(a.token, modify(`warm-card-${i}-xxxxxxxx`)).then((r) => r.arrayBuffer())));
    await fakes.call('cardTimes', [101, 102]);
    await rosterProcess.call('outboxIdle');
    const slackBefore = await fakes.call<number>('slackPosts');
    const teamsBefore = await fakes.call<number>('teamsPosts', sofia.conversationId);
    const answerTimes: number[] = [];
    const sentAt = new Map<number, number>();
    // BENCH_RUNTIME_BURST_PROF: a CPU profile of Roster's process over the 50 requests and their cards alone.
    const burstProfile = process.env.BENCH_RUNTIME_BURST_PROF;
    if (burstProfile) await rosterProcess.call('profileStart');
    const burstCpu0 = await cpuMs();
    const burstCommands0 = await commandCount();
    await Promise.all(
      askers.map(async (a, i) => {
        const s = performance.now();
        sentAt.set(i + 1, now());
        const res = await post(a.token, modify(`card-${i}-xxxxxxxx`));
        const body = (await res.json()) as { status: string };
        if (body.status !== 'pending') throw new Error(`asker ${i}: ${body.status}`);
        answerTimes.push(performance.now() - s);
      }),
    );
    const desks = askers.map((_, i) => i + 1);
    const arrived = await fakes.call<number[]>('cardTimes', desks);
    const burstCpuToCards = ((await cpuMs()) - burstCpu0) / askers.length;
    if (burstProfile) await rosterProcess.call('profileStop', burstProfile);
    await rosterProcess.call('outboxIdle');
    const burstCpu = ((await cpuMs()) - burstCpu0) / askers.length;
    const burstCommands = ((await commandCount()) - burstCommands0) / askers.length;
    const cardTimes = desks.map((n, i) => arrived[i]! - sentAt.get(n)!).sort((x, y) => x - y);
    answerTimes.sort((x, y) => x - y);
    const slackCards = (await fakes.call<number>('slackPosts')) - slackBefore;
    const teamsCards = (await fakes.call<number>('teamsPosts', sofia.conversationId)) - teamsBefore;

    log('click → long poll answered, 30 sequential approvals in Slack');
    const clickTimes: number[] = [];
    const clickCpu: number[] = [];
    for (let i = 0; i < 30; i++) {
      const a = askers[(i * 2) % askers.length]!;
      const cardsBefore = await fakes.call<number>('slackPosts');
      const res = await post(a.token, modify(`click-${i}-xxxxxxxx`));
      const { id } = (await res.json()) as { id: string };
      // The sponsor clicks the card, so not before it is there.
      await fakes.call('untilSlackPosts', cardsBefore);
      const runId = await rosterProcess.call<string>('runtimeRunId', a.id, id);
      await rosterProcess.call('outboxIdle');
      const poll = fetch(`${base}/api/v1/approvals/${id}?wait=30`, { headers: { authorization: `Bearer ${a.token}` } }).then((r) =>
        r.json(),
      );
      await new Promise((r) => setTimeout(r, 20));
      const payload = interaction(buttonClick(MAYA.id, 'approval_approve', JSON.stringify({ runId, stepId: 'decision' })));
      const cpu0 = await cpuMs();
      const s = performance.now();
      const click = fetch(`${base}/slack/events`, { method: 'POST', headers: payload.headers, body: payload.body });
      const answer = (await poll) as { status: string };
      clickTimes.push(performance.now() - s);
      await click;
      await rosterProcess.call('outboxIdle');
      clickCpu.push((await cpuMs()) - cpu0);
      if (answer.status !== 'approved') throw new Error(`click ${i}: ${answer.status}`);
    }
    clickTimes.sort((x, y) => x - y);
    const clickCpuMs = clickCpu.reduce((x, y) => x + y, 0) / clickCpu.length;

    log('database commands per operation, 20 sequential requests each');
    const autoCmds = await commandsPer(20, (i) =>
      post(fast.token, { action: 'suppliers.read', summary: 'Compare offers', idempotency_key: `cmd-auto-${i}-xxxx` }),
    );
    const forbCmds = await commandsPer(20, (i) =>
      post(fast.token, { action: 'contracts.terminate', summary: 'Terminate Acme', idempotency_key: `cmd-forb-${i}-xxxx` }),
    );
    await rosterProcess.call('commandKinds');
    const askCmds = await commandsPer(20, (i) => post(askers[(i * 2) % askers.length]!.token, modify(`cmd-ask-${i}-xxxxxxxx`)));
    const askKinds = Object.entries(await rosterProcess.call<Record<string, number>>('commandKinds'))
      .map(([kind, n]) => `${kind} ${fmt(n / 20)}`)
      .join(', ');
    const replayCmds = await commandsPer(20, (i) =>
      post(fast.token, { action: 'suppliers.read', summary: 'Compare offers', idempotency_key: `cmd-auto-${i}-xxxx` }),
    );
    const cmds = (c: { answer: number; after: number }) => `${fmt(c.answer)} + ${fmt(c.after)}`;
    const cpu = (ms: number) => `${fmt(ms, 2)} ms`;
    const laterConcurrency = await rosterProcess.call<number>('outboxLaterConcurrency');

    const rows = [
      `| Bare Express POST in its own process (floor) | ${fmt(floorStats.p50)} | ${fmt(floorStats.p95)} | ${fmt(floorStats.p99)} | ${floorStats.errors} | 0 | |`,
      `| Autonomous action → \`allowed\` | ${fmt(auto.p50)} | ${fmt(auto.p95)} | ${fmt(auto.p99)} | ${auto.errors} | ${cmds(autoCmds)} | ${cpu(auto.cpuMs)} (sequential ${cpu(autoCmds.cpuMs)}) |`,
      `| Forbidden action → \`denied\` | ${fmt(forbidden.p50)} | ${fmt(forbidden.p95)} | ${fmt(forbidden.p99)} | ${forbidden.errors} | ${cmds(forbCmds)} | ${cpu(forbidden.cpuMs)} (sequential ${cpu(forbCmds.cpuMs)}) |`,
      `| Idempotent replay (autonomous) | | | | | ${cmds(replayCmds)} | sequential ${cpu(replayCmds.cpuMs)} |`,
      `| Needs approval → \`pending\` answered, 50 concurrent | ${fmt(percentile(answerTimes, 50))} | ${fmt(percentile(answerTimes, 95))} | ${fmt(percentile(answerTimes, 99))} | 0 | ${cmds(askCmds)} (50 concurrent: ${fmt(burstCommands)} in all) | sequential ${cpu(askCmds.cpuMs)} |`,
      `| Request → card posted, 50 concurrent | ${fmt(percentile(cardTimes, 50))} | ${fmt(percentile(cardTimes, 95))} | ${fmt(percentile(cardTimes, 99))} | ${50 - slackCards - teamsCards} missing cards | | ${cpu(burstCpuToCards)} until the last card, ${cpu(burstCpu)} until the outbox is idle |`,
      `| Click → long poll answered (Slack) | ${fmt(percentile(clickTimes, 50))} | ${fmt(percentile(clickTimes, 95))} | ${fmt(percentile(clickTimes, 99))} | 0 | | ${cpu(clickCpuMs)} (click, poll answer, card update, audit) |`,
    ];
    writeSection('runtime-approvals', [
      '## Runtime approvals (bench/runtime-approvals.ts)',
      '',
      `Run once on ${new Date().toISOString()}; ${machine()}; ${database.label}; load average at the start ${loadAtStart}, at the end ${loadAverage()}. Roster runs alone in its own process (bench/roster-process.ts); the fake Slack Web API and Bot Connector in another (bench/fakes-process.ts), the floor in a third (bench/floor-process.ts), the load generator in the parent.`,
      '',
      '| Measurement | p50 ms | p95 ms | p99 ms | errors | DB commands: to the answer + after it | Roster CPU per request |',
      '|---|---|---|---|---|---|---|',
      ...rows,
      '',
      `- Autonomous p99 is ${fmt(auto.p99 / floorStats.p99)}× and forbidden p99 ${fmt(forbidden.p99 / floorStats.p99)}× the floor's (target ≤ 2×): each answer verifies the JWT (remembered after its first check), takes the agent and its approved boundary changes from the agent API's live access (one read shared by the calls asking at once, at most 500 ms old, forgotten at every write here), inserts the record (its unique id is the idempotency key, so no read first; the inserts of answers given at once go in one command) with its audit entry as an outbox effect, and answers; the outbox appends the audit entries of the answers given meanwhile right after, together, and removes them from their records in one write (a forbidden attempt is counted among the day's attempts then, once stored). The floor parses the JSON body and answers.`,
      `- The outbox finished appending the audit entries of those ${2 * N} answers ${fmt(backlogMs)} ms after the last answer (the audit chain is written by one group commit at a time per process: that is its throughput, not the answers').`,
      "- DB commands are Roster's (the driver's command events on its connection, in its process; Agenda's polling, the outbox worker's periodic due scans and connection handshakes left out), averaged over 20 sequential requests each: before the answer, and after it until the outbox is idle (audit append, cards, marking effects done). The outbox starts the audit append as soon as the record is stored, so a part of its commands lands before the client has read the answer. A request that needs approval adds the agent's latest decisions (read with the insert), the approvers' delegations and the run's insert before its answer (the run is stored already waiting at its approval step, its cards in its outbox); after it: the card (delivery claim, the Teams conversation reference, the post, its record), then the audit append for the request's and the run's entries, the timers and one outbox clean-up per record (the card sent is removed with the run's timers).",
      `- A request that needs approval, by command (per request, over the 20 sequential ones): ${askKinds}.`,
      "- CPU per request is the Roster process's own user + system time (its share of Agenda's polling and other timers included) divided by the requests: unlike the latencies, it hardly depends on what else the shared machine is doing. 'Sequential' is over the 20 sequential requests of the commands rows, each followed by an idle outbox, so it includes the work after the answer.",
      `- Request → card: ${slackCards} Slack and ${teamsCards} Teams cards reached the fakes, timed from sending the request (load generator) to the card's arrival at the fake (fakes' process; both stamp \`performance.timeOrigin + performance.now()\`); the agent has its \`pending\` once the request and its run (waiting, with its cards in its outbox) are stored; the cards are posted at once beside the answer, outside the outbox's queue of deferred work (${laterConcurrency} at a time), which then appends the audit entries and schedules the timers (target p95 < 500 ms).`,
      `- Click → long poll: the poll is woken in-process by the decision (other replicas re-read every second); target p95 < 300 ms. Each click comes after the request's outbox is idle.`,
    ]);
    log(`done\n${rows.join('\n')}`);
  } finally {
    await stopAll();
  }
}

runBench(main);
