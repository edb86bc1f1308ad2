/*
 * `npm run bench:webhooks`: webhook delivery lag with a healthy receiver. Roster runs with one
 * subscription to a receiver on 127.0.0.1 that verifies every delivery with the `standardwebhooks`
 * package; N audit entries of a subscribed action (alert.raised) are appended through the real
 * audit service, one after the other, spread over 20 agents. Lag is from the append returning
 * (the entry is stored) to the receiver having the request's body. Writes its section of
 * bench/RESULTS.md (between the `webhooks` markers), leaving the rest. Runs against the embedded
 * MongoDB-compatible server started here, or MONGODB_URI when set. Size: BENCH_WEBHOOK_EVENTS.
 */
import { eventIdOf } from '../src/core/webhooks.js';
import { people } from '../test/helpers/harness.js';
import { newWebhookSecret, subscriptionTo, WebhookReceiver } from '../test/helpers/webhook-receiver.js';
import {
  benchLog,
  elapsedSeconds,
  fmt,
  loadAverage,
  machine,
  openBenchDatabase,
  percentile,
  runBench,
  startBenchRoster,
  writeSection,
} from './support.js';
import { asAgentId } from '../test/helpers/ids.js';

const EVENTS = Number(process.env.BENCH_WEBHOOK_EVENTS ?? 200);
const AGENTS = 20;
/** The bench is bounded: past this many seconds it stops with exit code 2 (BENCH_WEBHOOK_DEADLINE_S). */
const DEADLINE_S = Number(process.env.BENCH_WEBHOOK_DEADLINE_S ?? 600);
const log = benchLog('bench:webhooks');

async function waitFor(condition: () => boolean, what: string, deadlineMs = 300_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function main(): Promise<void> {
  setTimeout(() => {
    process.stderr.write(`bench:webhooks did not finish within ${DEADLINE_S} s; stopped\n`);
    process.exit(2);
  }, DEADLINE_S * 1000).unref();
  const loadAtStart = loadAverage();
  const database = await openBenchDatabase();
  const receiver = new WebhookReceiver(newWebhookSecret());
  await receiver.start();
  const webhooks = subscriptionTo(receiver, { id: 'bench-feed', events: "['alert.opened']", owner: people.aisha });
  // Command monitoring is a client option: set in the URI Roster connects with.
  const monitored = `${database.uri}${/^mongodb:\/\/[^/]+$/.test(database.uri) ? '/' : ''}${database.uri.includes('?') ? '&' : '?'}monitorCommands=true`;
  const roster = await startBenchRoster(monitored, `bench_webhooks_${Date.now()}`, {}, { webhooks });
  const byKind = new Map<string, number>();
  let counting = false;
  roster.db.connection.getClient().on('commandStarted', (e: { commandName: string; command: Record<string, unknown> }) => {
    const collection = String(e.command[e.commandName]);
    if (!counting || collection === 'agendaJobs' || ['hello', 'isMaster', 'ping'].includes(e.commandName)) return;
    const kind = `${e.commandName} ${collection}`;
    byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
  });

  const storedAt = new Map<string, number>();
  let appendCommands = 0;
  let wallS = 0;
  try {
    // A warm-up of 10 events, not reported: connections, JIT, the subscription's state document.
    for (let i = 0; i < 10; i++)
      await roster.services.audit.append({
        actor: { kind: 'system', name: 'supervision' },
        action: 'alert.raised',
        subject: { type: 'alert', id: `alr_warm${i}`, agentId: asAgentId(`agt_warm${i % 4}`) },
        details: { kind: 'error-spike', severity: 'warning', summary: `warm-up ${i}` },
      });
    await waitFor(() => receiver.accepted().length >= 10, 'the warm-up deliveries');
    await roster.services.webhooks.tick();
    receiver.received.length = 0;

    log(`appending ${EVENTS} alert.raised entries`);
    counting = true;
    const t0 = performance.now();
    for (let i = 0; i < EVENTS; i++) {
      const before = sum(byKind, 'audit_entries', 'insert');
      const entry = await roster.services.audit.append({
        actor: { kind: 'system', name: 'supervision' },
        action: 'alert.raised',
        subject: { type: 'alert', id: `alr_bench${i}`, agentId: asAgentId(`agt_bench${i % AGENTS}`) },
        details: { kind: 'error-spike', severity: 'warning', summary: `alert ${i}` },
      });
      storedAt.set(eventIdOf(entry), Date.now());
      appendCommands += sum(byKind, 'audit_entries', 'insert') - before;
    }
    await waitFor(() => receiver.accepted().length >= EVENTS, `${EVENTS} deliveries`);
    wallS = (performance.now() - t0) / 1000;
    // One more pass proves nothing is left to send (and that nothing is sent twice).
    await roster.services.webhooks.tick();
    counting = false;
  } finally {
    await roster.stop();
    await receiver.stop();
    await database.stop();
  }
  const loadAtEnd = loadAverage();

  const accepted = receiver.accepted();
  const lags = accepted.map((r) => r.receivedAt - storedAt.get(r.webhookId)!).sort((a, b) => a - b);
  const unverified = receiver.received.filter((r) => !r.verified).length;
  const duplicates = receiver.received.length - accepted.length;
  const total = [...byKind.values()].reduce((a, b) => a + b, 0);
  const webhookCommands = [...byKind].filter(
    ([k]) => k.endsWith(' webhook_deliveries') || k.endsWith(' webhook_subscriptions') || k === 'find audit_entries',
  );
  const perDelivery = webhookCommands.reduce((a, [, n]) => a + n, 0) / accepted.length;
  const top = [...byKind].sort((a, b) => b[1] - a[1]).slice(0, 8);
  const p95 = percentile(lags, 95);
  log(`lag p50 ${percentile(lags, 50)} ms, p95 ${p95} ms, p99 ${percentile(lags, 99)} ms over ${lags.length}`);

  const section = [
    '## Webhook delivery lag',
    '',
    `Written by \`npm run bench:webhooks\` on ${new Date().toISOString()} in ${fmt(elapsedSeconds(), 0)} s.`,
    '',
    `- Machine: ${machine()}; database: ${database.label}. Roster and the receiver share the process.`,
    `- Load average (1, 5, 15 min): ${loadAtStart} at the start, ${loadAtEnd} at the end (the machine was shared with other work).`,
    `- ${EVENTS} \`alert.raised\` audit entries (event type \`alert.opened\`) appended one after the other through the audit service (${AGENTS} agents), one subscription to a receiver on 127.0.0.1 that verifies each request with \`standardwebhooks\` (Webhook.verify) and answers 200. Lag: the append returned (entry stored) → the receiver had the body. A warm-up of 10 events runs first and is not reported.`,
    '',
    '| measurement | value |',
    '| --- | --- |',
    `| delivery lag p50 / p95 / p99 / max | ${percentile(lags, 50)} / ${p95} / ${percentile(lags, 99)} / ${lags.at(-1) ?? 0} ms |`,
    `| deliveries per second (first append → last delivery, ${fmt(wallS, 2)} s) | ${fmt(accepted.length / wallS)}/s |`,
    `| delivered, verified / unverified / duplicates | ${accepted.length} / ${unverified} / ${duplicates} |`,
    `| database commands per delivery, dispatcher (webhook_deliveries, webhook_subscriptions, reads of audit_entries) | ${fmt(perDelivery, 2)} |`,
    `| database commands per event, everything (append included, Agenda's own excluded) | ${fmt(total / accepted.length, 2)} (audit inserts ${fmt(appendCommands / EVENTS, 2)}) |`,
    '',
    `- Goal (issue 18): p95 under 1 s with a healthy receiver: ${p95 < 1000 ? 'met' : 'not met'} in this run.`,
    `- Commands by kind over the run: ${top.map(([k, n]) => `${k} ${n}`).join(', ')}.`,
  ];
  writeSection('webhooks', section);
  log('wrote the webhooks section of bench/RESULTS.md');
  process.stdout.write(`${section.join('\n')}\n`);
  if (lags.length !== EVENTS || unverified > 0) process.exitCode = 1;
}

/** Commands counted so far on `collection`, of the kind `commandName`. */
function sum(byKind: ReadonlyMap<string, number>, collection: string, commandName: string): number {
  return byKind.get(`${commandName} ${collection}`) ?? 0;
}

runBench(main);
