import type { CommandStartedEvent } from 'mongodb';
import { sha256 } from '../../src/core/agents.js';
import { binOf, COST_BINS, LATENCY_BINS } from '../../src/core/stats.js';
import { fieldKey } from '../../src/core/telemetry.js';
import type { Granularity, Rollup } from '../../src/store/telemetry-store.js';
import { createLogger } from '../../src/logger.js';
import { createTelemetryIngest, SPIKE_CHECK_DELAY_MS } from '../../src/http/telemetry.js';
import { startTestRoster } from '../helpers/app.js';
import { testMongoUri } from '../helpers/db.js';
import { agentWithTelemetryKey } from '../helpers/harness.js';

/*
 * Ingest in bulk (issue 21 item 3): a batch costs one write per collection whatever its size, the
 * rollups still add up to the events, and the key cache never outlives its bound.
 */

type Roster = Awaited<ReturnType<typeof startTestRoster>>;
const PLATFORM_KEY = 'platform-key-for-the-bulk-gateway-0123456789';
const SPONSOR = 'noah.fischer@brightwater.example';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const CACHE_MS = 2_000;

/** The collections a telemetry batch touches; other commands (outbox, scheduler) are not the batch's. */
const INGEST_COLLECTIONS = new Set(['telemetry_events', 'telemetry_rollups', 'telemetry_last', 'telemetry_blocked', 'agents']);

interface WireEvent {
  eventId: string;
  agentId?: string;
  time: string;
  taskType: string;
  outcome: 'success' | 'failure' | 'handed-to-human';
  correctness?: number;
  latencyMs: number;
  costUSD: number;
  tokens?: number;
  segment?: string;
  favourable?: boolean;
}

/** `count` varied events for `agentId`, spread over the last `spanMs` (hours and days), ids from `offset`. */
function eventsFor(agentId: string | undefined, count: number, offset: number, spanMs: number, now: number): WireEvent[] {
  const outcomes = ['success', 'success', 'failure', 'handed-to-human'] as const;
  return Array.from({ length: count }, (_, j) => {
    const i = offset + j;
    return {
      eventId: `ev-${i}`,
      ...(agentId ? { agentId } : {}),
      time: new Date(now - ((i * 7_919_000) % spanMs)).toISOString(),
      taskType: i % 3 ? 'answer' : 'triage.ticket',
      outcome: outcomes[i % 4]!,
      ...(i % 5 ? { correctness: (i % 10) / 10 } : {}),
      latencyMs: 20 + ((i * 37) % 4000),
      costUSD: ((i * 13) % 50) / 1000,
      ...(i % 2 ? { tokens: 100 + i } : {}),
      ...(i % 3 ? { segment: i % 2 ? 'emea' : 'amer.tier-1' } : {}),
      ...(i % 7 === 0 ? { favourable: false } : {}),
    };
  });
}

/** What the rollups of these (distinct) events must say, summed here one event at a time. */
function expectedRollups(events: WireEvent[], granularity: Granularity): Map<string, Omit<Rollup, 'agentId' | 'granularity'>> {
  const size = granularity === 'hour' ? HOUR : DAY;
  const out = new Map<string, Omit<Rollup, 'agentId' | 'granularity'>>();
  for (const e of events) {
    const start = new Date(Math.floor(Date.parse(e.time) / size) * size);
    const key = start.toISOString();
    const r = out.get(key) ?? {
      start,
      count: 0,
      outcomes: { success: 0, failure: 0, handedToHuman: 0 },
      correctSum: 0,
      correctCount: 0,
      costSum: 0,
      tokens: 0,
      latency: {},
      cost: {},
      segments: {},
      tasks: {},
    };
    r.count += 1;
    r.outcomes[e.outcome === 'handed-to-human' ? 'handedToHuman' : e.outcome] += 1;
    if (e.correctness !== undefined) {
      r.correctSum += e.correctness;
      r.correctCount += 1;
    }
    r.costSum += e.costUSD;
    r.tokens += e.tokens ?? 0;
    const lat = String(binOf(e.latencyMs, LATENCY_BINS));
    r.latency[lat] = (r.latency[lat] ?? 0) + 1;
    const cost = String(binOf(e.costUSD, COST_BINS));
    r.cost[cost] = (r.cost[cost] ?? 0) + 1;
    const task = fieldKey(e.taskType);
    r.tasks[task] = (r.tasks[task] ?? 0) + 1;
    if (e.segment) {
      // A segment's favourable count exists once it has one favourable outcome, as $inc makes it.
      const seg: { total: number; favourable?: number } = (r.segments[fieldKey(e.segment)] ??= { total: 0 } as never);
      seg.total += 1;
      if (e.favourable ?? e.outcome === 'success') seg.favourable = (seg.favourable ?? 0) + 1;
    }
    out.set(key, r);
  }
  return out;
}

describe('telemetry ingest in bulk', () => {
  let roster: Roster;
  let cacheNow = 0;
  const commands: CommandStartedEvent[] = [];

  beforeAll(async () => {
    const uri = testMongoUri();
    roster = await startTestRoster({
      env: {
        MONGODB_URI: `${uri}${uri.includes('?') ? '&' : '?'}monitorCommands=true`,
        ROSTER_TELEMETRY_PLATFORM_KEYS_SHA256: sha256(PLATFORM_KEY),
        ROSTER_KEY_CACHE_MS: String(CACHE_MS),
      },
      keyCacheClock: () => cacheNow,
    });
    roster.db.connection.getClient().on('commandStarted', (event) => commands.push(event));
  });
  afterAll(async () => {
    await roster.stop();
  });

  const agentWithKey = (name: string) =>
    agentWithTelemetryKey(roster.services.agents, {
      name,
      catalogRoleId: 'kb-answerer',
      sponsors: [SPONSOR],
      businessUnit: 'engineering',
      status: 'active',
      purpose: 'Answers questions.',
    });

  const post = async (key: string, events: unknown[]) => {
    const res = await fetch(`${roster.baseUrl}/api/v1/telemetry`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ events }),
    });
    return {
      status: res.status,
      body: (await res.json()) as { accepted?: number; duplicates?: number; rejected?: unknown[]; error?: string },
    };
  };

  /** The ingest commands a batch sends, from the request to the end of its error-spike check. */
  async function commandsOf(send: () => Promise<unknown>): Promise<string[]> {
    await roster.services.supervision.ingest.idle();
    const from = commands.length;
    await send();
    await roster.services.supervision.ingest.idle();
    return (
      commands
        .slice(from)
        .filter((c) => INGEST_COLLECTIONS.has(String(c.command[c.commandName])))
        // Of the agents collection, only the key look-up and the registry read (the outbox worker polls it too).
        .filter(
          (c) =>
            c.command[c.commandName] !== 'agents' ||
            (c.commandName === 'find' && /credentials\.hash|"_id"/.test(JSON.stringify(c.command.filter))),
        )
        .map((c) => `${c.commandName} ${String(c.command[c.commandName])}`)
    );
  }

  it('a batch of many events for a few agents gives the rollups the events sum to, duplicates counted once', async () => {
    const now = Date.now();
    const agents = await Promise.all([0, 1, 2].map((i) => agentWithKey(`Bulk Rollups ${i}`)));
    // 900 events, three agents, spread over three days; the second batch repeats a third of the first.
    const first = agents.flatMap(({ agent }, a) => eventsFor(agent.id, 300, a * 1000, 3 * DAY, now));
    const second = agents.flatMap(({ agent }, a) => eventsFor(agent.id, 150, a * 1000 + 200, 3 * DAY, now));
    const r1 = await post(PLATFORM_KEY, first);
    expect(r1).toEqual({ status: 200, body: { accepted: 900, duplicates: 0, rejected: [] } });
    const r2 = await post(PLATFORM_KEY, second);
    expect(r2).toEqual({ status: 200, body: { accepted: 150, duplicates: 300, rejected: [] } });

    const telemetry = roster.services.supervision.telemetry;
    for (const { agent } of agents) {
      const distinct = [...new Map([...first, ...second].filter((e) => e.agentId === agent.id).map((e) => [e.eventId, e])).values()];
      expect(distinct).toHaveLength(350);
      for (const granularity of ['hour', 'day'] as const) {
        const stored = await telemetry.rollups(agent.id, granularity, new Date(now - 5 * DAY), new Date(now + DAY));
        const expected = expectedRollups(distinct, granularity);
        expect(stored.map((r) => r.start.toISOString()).sort()).toEqual([...expected.keys()].sort());
        for (const r of stored) {
          const want = expected.get(r.start.toISOString())!;
          expect(r).toEqual({
            ...want,
            agentId: agent.id,
            granularity,
            correctSum: expect.closeTo(want.correctSum, 9),
            costSum: expect.closeTo(want.costSum, 9),
          });
        }
        expect(stored.reduce((n, r) => n + r.count, 0)).toBe(350);
      }
      const newest = distinct.reduce((t, e) => Math.max(t, Date.parse(e.time)), 0);
      expect((await telemetry.lastEventAt(agent.id))?.getTime()).toBe(newest);
    }
  });

  it('a 100-event batch costs at most 4 commands: one write per collection, the key read once a cache lifetime', async () => {
    // The one key read is a look-up on the key hash's index (real MongoDB uses it; the embedded server lists it).
    const indexes = await roster.db.connection.collection('agents').indexes();
    expect(indexes.map((i) => i.key)).toContainEqual({ 'credentials.hash': 1 });
    const { agent, key } = await agentWithKey('Bulk Commands');
    const now = Date.now();
    const cold = await commandsOf(() => post(key, eventsFor(undefined, 10, 0, 6 * HOUR, now)));
    // The key is read on the first batch only: the cache answers for the next ones.
    expect(cold.filter((c) => c === 'find agents')).toHaveLength(1);
    const events = eventsFor(undefined, 100, 10, 6 * HOUR, now);
    let reply: Awaited<ReturnType<typeof post>> | undefined;
    const warm = await commandsOf(async () => (reply = await post(key, events)));
    expect(reply).toEqual({ status: 200, body: { accepted: 100, duplicates: 0, rejected: [] } });
    // Raw events, rollups (hourly and daily together), newest event time, and the error-spike read.
    expect(warm.sort()).toEqual(['find telemetry_rollups', 'insert telemetry_events', 'update telemetry_last', 'update telemetry_rollups']);
    expect(warm.length).toBeLessThanOrEqual(4);
    const hours = await roster.services.supervision.telemetry.rollups(agent.id, 'hour', new Date(now - DAY), new Date(now + DAY));
    expect(hours.reduce((n, h) => n + h.count, 0)).toBe(110);

    // A platform key's batch for five agents adds the registry and block-list reads, in flight together.
    const many = await Promise.all([0, 1, 2, 3, 4].map((i) => agentWithKey(`Bulk Platform ${i}`)));
    const mixed = many.flatMap(({ agent: a }, i) => eventsFor(a.id, 20, i * 100, 6 * HOUR, now));
    const platform = await commandsOf(() => post(PLATFORM_KEY, mixed));
    expect(platform.sort()).toEqual([
      'find agents',
      'find telemetry_blocked',
      'find telemetry_rollups',
      'insert telemetry_events',
      'update telemetry_last',
      'update telemetry_rollups',
    ]);
  });

  it('batches stored one after another share one error-spike read, started a short while after the first', async () => {
    expect(SPIKE_CHECK_DELAY_MS).toBeGreaterThan(0);
    const now = Date.now();
    const agents = await Promise.all([0, 1, 2, 3, 4].map((i) => agentWithKey(`Bulk Spike Shared ${i}`)));
    const telemetry = roster.services.supervision.telemetry;
    /** The error-spike checks asked for, and the hourly rollups each one reads (as Roster's check does). */
    const checks = (spikeCheckDelayMs: number) => {
      const asked: string[][] = [];
      const ingest = createTelemetryIngest({
        store: telemetry,
        verifyKey: () => Promise.reject(new Error('not used')),
        platformKeyHashes: [],
        onIngested: async (agentIds) => {
          asked.push([...agentIds].sort());
          await telemetry.hourlyRollupsOf(agentIds, new Date(now - HOUR), new Date(now + HOUR));
        },
        onUnregistered: async () => undefined,
        onRefusedKey: async () => undefined,
        retentionDays: () => 30,
        limits: { perKey: { requests: 1000, perMs: 1000 }, failedAuthPerAddress: { requests: 1000, perMs: 1000 } },
        log: createLogger({ level: 'silent', pretty: false }),
        spikeCheckDelayMs,
      });
      return { asked, ingest };
    };
    const send = async ({ ingest }: ReturnType<typeof checks>, offset: number) => {
      const from = commands.length;
      for (const [i, { agent }] of agents.entries()) {
        const stored = await ingest.ingest(
          { kind: 'agent', agentId: agent.id },
          { events: eventsFor(undefined, 20, offset + i * 100, HOUR, now) },
        );
        expect(stored).toEqual({ ok: true, result: { accepted: 20, duplicates: 0, rejected: [] } });
      }
      await ingest.idle();
      return commands.slice(from).filter((c) => c.commandName === 'find' && c.command.find === 'telemetry_rollups').length;
    };
    // Five batches, each stored before the next is sent: one read for all five agents, which
    // idle() (as at shutdown) starts without waiting out the rest of the delay...
    const shared = checks(60_000);
    const sending = Date.now();
    expect(await send(shared, 0)).toBe(1);
    expect(Date.now() - sending).toBeLessThan(60_000);
    expect(shared.asked).toEqual([agents.map((a) => a.agent.id).sort()]);
    // ...where a check started at once reads after the first batch, and again for those stored while it ran.
    const eager = checks(0);
    expect(await send(eager, 10_000)).toBeGreaterThanOrEqual(2);
    expect(eager.asked[0]).toEqual([agents[0]!.agent.id]);
    expect(eager.asked.flat().sort()).toEqual(agents.map((a) => a.agent.id).sort());
  });

  it('a key revoked on another replica is refused once the cache lifetime has passed; revoked or retired here, at once', async () => {
    const now = Date.now();
    const one = (eventId: string) => [
      { eventId, time: new Date(now).toISOString(), taskType: 'x', outcome: 'success', latencyMs: 1, costUSD: 0 },
    ];

    // Another replica (or the CLI) revokes the key in the database: this process learns it within the bound.
    const remote = await agentWithKey('Cache Remote');
    expect((await post(remote.key, one('a1'))).status).toBe(200);
    await roster.db.connection
      .collection('agents')
      .updateOne({ _id: remote.agent.id as never }, { $set: { 'credentials.0.revokedAt': new Date().toISOString() } });
    expect((await post(remote.key, one('a2'))).status).toBe(200); // still within the cache lifetime
    cacheNow += CACHE_MS;
    expect(await post(remote.key, one('a3'))).toMatchObject({ status: 401, body: { error: 'key_revoked' } });

    // Revoked through Roster in this process: refused at the next request, the cache clock unmoved.
    const local = await agentWithKey('Cache Local');
    expect((await post(local.key, one('b1'))).status).toBe(200);
    expect(await roster.services.agentKeys.revokeKeys(SPONSOR, local.agent.id, 'leaked in a log')).toBe(1);
    expect(await post(local.key, one('b2'))).toMatchObject({ status: 401, body: { error: 'key_revoked' } });

    // Retired in this process: the cached agent is dropped too.
    const retired = await agentWithKey('Cache Retired');
    expect((await post(retired.key, one('c1'))).status).toBe(200);
    expect(await roster.services.agents.transition(retired.agent.id, 'active', 'retired')).toBe(true);
    expect(await post(retired.key, one('c2'))).toMatchObject({ status: 401, body: { error: 'agent_retired' } });
  });
});
