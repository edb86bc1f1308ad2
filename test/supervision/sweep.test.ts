import mongoose, { type Connection } from 'mongoose';
import { loadOrgConfig } from '../../src/config/org-config.js';
import { AGENT_HOLDER, type AgentRecord } from '../../src/core/agents.js';
import { AlertService } from '../../src/core/alerts.js';
import type { AuditLog } from '../../src/core/audit.js';
import { CheckInService, type CheckInRepository } from '../../src/core/checkin-service.js';
import { SupervisionCards } from '../../src/views/supervision-cards.js';
import { ALERT_HOLDER } from '../../src/core/alerts.js';
import { CHECKIN_HOLDER } from '../../src/core/checkin-service.js';
import { Outbox, type QuietHours } from '../../src/core/outbox.js';
import { auditPerformer } from '../../src/core/audit-effects.js';
import { chatSendPerformer } from '../../src/core/chat-effects.js';
import { createCardDeliveries, createOutboxRepository } from '../../src/store/outbox-store.js';
import { silentLogger } from '../helpers/logger.js';
import { createAgentRepository } from '../../src/store/agent-store.js';
import { createAlertRepository } from '../../src/store/alert-store.js';
import { createAuditLog } from '../../src/store/audit-store.js';
import { createCheckInRepository } from '../../src/store/checkin-store.js';
import { createTelemetryStore } from '../../src/store/telemetry-store.js';
import { testMongoUri, uniqueDbName } from '../helpers/db.js';
import { agentRecord, people, SHIPPED_CONFIG } from '../helpers/harness.js';
import { RecordingNotifier } from '../helpers/recording-notifier.js';
import { generateEvents } from '../helpers/synthetic-telemetry.js';

const DAY = 86_400_000;
const NOW = new Date(Date.UTC(2026, 10, 25, 6));
const CHUNK = 3;
const org = loadOrgConfig(SHIPPED_CONFIG);

/**
 * The check-in sweep's parts on their own connection, which counts the commands it sends
 * (the driver's command monitoring), so a test can show the sweep's cost per chunk.
 */
async function openRig(
  options: {
    chunk?: number;
    audit?: (real: AuditLog) => AuditLog;
    checkins?: (real: CheckInRepository) => CheckInRepository;
    /** Working hours for the review cards (the outbox's); without it every card goes out at once. */
    quiet?: QuietHours;
    /** Agents per read when the agents are read page by page (the store's default otherwise). */
    agentPageSize?: number;
  } = {},
) {
  const connection: Connection = await mongoose
    .createConnection(testMongoUri(), { dbName: uniqueDbName('sweep'), monitorCommands: true, autoCreate: false })
    .asPromise();
  const commands: string[] = [];
  connection.getClient().on('commandStarted', (e) => commands.push(e.commandName));
  const agents = createAgentRepository(connection, options.agentPageSize ? { pageSize: options.agentPageSize } : {});
  const audit = createAuditLog(connection, { clock: () => NOW });
  const telemetry = createTelemetryStore(connection);
  const checkinRepo = createCheckInRepository(connection);
  const alertRepo = createAlertRepository(connection);
  await Promise.all([
    agents.ensureIndexes(),
    audit.ensureIndexes(),
    telemetry.ensureIndexes(),
    checkinRepo.ensureIndexes(),
    alertRepo.ensureIndexes(),
  ]);
  const notifier = new RecordingNotifier();
  const cards = new SupervisionCards(org);
  // The sweep's audit entries are appended by the outbox (its records hold them), so a wrapped log is the outbox's too.
  const outbox = new Outbox({
    repo: createOutboxRepository(connection, { [ALERT_HOLDER]: 'alerts', [CHECKIN_HOLDER]: 'checkins', [AGENT_HOLDER]: 'agents' }),
    log: silentLogger(),
    clock: () => NOW,
    ...(options.quiet ? { quiet: options.quiet } : {}),
  });
  const deliveries = createCardDeliveries(connection);
  outbox.register(auditPerformer(options.audit ? options.audit(audit) : audit));
  outbox.register(chatSendPerformer({ notifier, deliveries, leaseMs: outbox.settings.leaseMs, clock: () => NOW }));
  const alerts = new AlertService({
    org,
    alerts: alertRepo,
    audit,
    notifier,
    timers: { schedule: async () => undefined },
    presenter: cards,
    roleOf: async (agentId) => (await agents.get(agentId))?.catalogRoleId,
    clock: () => NOW,
    outbox,
    deliveries,
  });
  const service = (chunk = options.chunk ?? CHUNK, wrapped = true) =>
    new CheckInService({
      org,
      agents,
      telemetry,
      checkins: wrapped && options.checkins ? options.checkins(checkinRepo) : checkinRepo,
      alerts,
      outbox,
      presenter: cards,
      clock: () => NOW,
      sweepChunkSize: chunk,
    });
  const fleet = async (n: number, sponsors?: string[]): Promise<AgentRecord[]> => {
    const then = new Date(NOW.getTime() - 20 * DAY).toISOString();
    const list = Array.from({ length: n }, (_, i) =>
      agentRecord({ name: `Fleet ${i}`, createdAt: then, updatedAt: then, statusChangedAt: then, ...(sponsors ? { sponsors } : {}) }),
    );
    for (const a of list) await agents.insert(a);
    return list;
  };
  /** Check-in records, `checkin.completed` entries and review cards per agent. */
  const outcome = async (fleetAgents: readonly AgentRecord[]) => {
    const entries = await audit.export();
    return Promise.all(
      fleetAgents.map(async (a) => ({
        records: (await checkinRepo.listForAgent(a.id)).length,
        audited: entries.filter((e) => e.action === 'checkin.completed' && e.subject.agentId === a.id).length,
        cards: notifier.to(people.tom, 'checkin').filter((m) => m.card.data.agentId === a.id || JSON.stringify(m.card.data).includes(a.id))
          .length,
      })),
    );
  };
  return {
    connection,
    commands,
    agents,
    audit,
    telemetry,
    checkinRepo,
    notifier,
    service,
    fleet,
    outcome,
    async close() {
      await connection.dropDatabase().catch(() => undefined);
      await connection.close();
    },
  };
}

type Rig = Awaited<ReturnType<typeof openRig>>;

describe('the check-in sweep in chunks', () => {
  let rig: Rig;
  afterEach(async () => rig?.close());

  it.each([0, 1, CHUNK, CHUNK + 1, 2 * CHUNK + 1])(
    'with %i agents (chunks of 3) checks each agent once, audits it once and sends its review once',
    async (n) => {
      rig = await openRig();
      const fleet = await rig.fleet(n);
      const result = await rig.service().sweep(NOW);
      expect(result).toEqual({ ran: n, dormant: 0, ownerless: 0 });
      expect(await rig.outcome(fleet)).toEqual(fleet.map(() => ({ records: 1, audited: 1, cards: 1 })));
      // Not due again until the cadence has passed; the chain of entries written in bulk verifies.
      expect((await rig.service().sweep(new Date(NOW.getTime() + 60_000))).ran).toBe(0);
      expect(await rig.outcome(fleet)).toEqual(fleet.map(() => ({ records: 1, audited: 1, cards: 1 })));
      expect((await rig.audit.verify()).ok).toBe(true);
    },
  );

  // 250 is the default chunk: every entry of a chunk joins one audit group (one head read, one insert), not two.
  it.each([12, 250])(
    'costs the same number of database commands for a chunk of 1 agent as for a chunk of %i',
    async (size) => {
      rig = await openRig({ chunk: size });
      const one = await rig.fleet(1);
      rig.commands.length = 0;
      expect((await rig.service().sweep(NOW)).ran).toBe(1);
      const forOne = [...rig.commands];
      await rig.agents.transition(one[0]!.id, 'active', 'retired');
      await rig.fleet(size);
      rig.commands.length = 0;
      expect((await rig.service().sweep(NOW)).ran).toBe(size);
      expect(rig.commands).toEqual(forOne);
      // A handful per chunk: agents, due times, claims, rollups, results, audit head and entries, next due times, claims released, last events.
      expect(forOne.length).toBeLessThanOrEqual(14);
    },
    60_000,
  );

  it('reads the agents a page at a time as it sweeps them, in the chunks the whole list would make', async () => {
    rig = await openRig({ agentPageSize: 4 });
    const fleet = await rig.fleet(10);
    const reads: string[] = [];
    rig.connection.getClient().on('commandStarted', (e) => {
      const target = (e.command as Record<string, unknown>)[e.commandName];
      if ((e.commandName === 'find' && target === 'agents') || (e.commandName === 'insert' && target === 'checkins'))
        reads.push(`${e.commandName} ${String(target)}`);
    });
    expect(await rig.service().sweep(NOW)).toEqual({ ran: 10, dormant: 0, ownerless: 0 });
    expect(await rig.outcome(fleet)).toEqual(fleet.map(() => ({ records: 1, audited: 1, cards: 1 })));
    // Pages of 4 (4, 4, 2), chunks of 3 (3, 3, 3, 1): each page is read when the chunks before it
    // are done, so the sweep never holds the whole fleet; one insert of records per chunk.
    expect(reads).toEqual([
      'find agents',
      'insert checkins',
      'find agents',
      'insert checkins',
      'find agents',
      'insert checkins',
      'insert checkins',
    ]);
  });

  it('reviews each agent from its own rollups, as a single check-in of that agent does', async () => {
    rig = await openRig();
    const fleet = await rig.fleet(CHUNK + 1);
    const end = new Date(Math.floor(NOW.getTime() / DAY) * DAY);
    for (const [i, a] of fleet.entries()) {
      await rig.telemetry.ingest(
        generateEvents({
          agentId: a.id,
          profile: i === 1 ? 'accuracy-drop' : 'healthy',
          days: 30,
          end,
          perDay: 20 + i,
          seed: i,
          driftDays: 14,
        }),
      );
    }
    await rig.service().sweep(NOW);
    for (const [i, a] of fleet.entries()) {
      const [swept] = await rig.checkinRepo.listForAgent(a.id);
      const single = await rig.service().run(a.id, NOW);
      const { id: _a, ...sweptRest } = swept!;
      const { id: _b, ...singleRest } = single;
      expect(sweptRest).toEqual(singleRest);
      expect(swept!.sample.current).toBe(14 * (20 + i));
    }
    // The degraded agent was moved to probation by the sweep (the single run found it there already).
    expect((await rig.agents.get(fleet[1]!.id))?.status).toBe('probation');
    const moves = (await rig.audit.export({ agentId: fleet[1]!.id })).filter((e) => e.action === 'agent.status-changed');
    expect(moves.map((e) => e.details.to)).toEqual(['probation']);
  });

  it.each(['audit entries', 'next due times'] as const)(
    'a sweep that dies mid-chunk (writing the %s) is finished by a later sweep once its claims expire: each agent checked once',
    async (failing) => {
      let calls = 0;
      /** The second chunk's write fails, as if the process died there. */
      const dieOnSecond = async <T>(write: () => Promise<T>): Promise<T> => {
        calls += 1;
        if (calls === 2) throw new Error('process died');
        return write();
      };
      rig = await openRig({
        audit: (real) =>
          failing === 'audit entries' ? { ...real, appendMany: (inputs, keys) => dieOnSecond(() => real.appendMany(inputs, keys)) } : real,
        checkins: (real) =>
          failing === 'next due times' ? { ...real, complete: (next, keys) => dieOnSecond(() => real.complete(next, keys)) } : real,
      });
      const fleet = await rig.fleet(2 * CHUNK + 1);
      await expect(rig.service().sweep(NOW)).rejects.toThrow('process died');
      // While the dead sweep's claims hold, another sweep leaves its agents alone and does the rest.
      expect((await rig.service().sweep(new Date(NOW.getTime() + 60_000))).ran).toBe(1);
      // Once they expire, the next sweep finishes them: their stored results stand, audited once.
      expect((await rig.service().sweep(new Date(NOW.getTime() + 16 * 60_000))).ran).toBe(CHUNK);
      expect((await rig.service().sweep(new Date(NOW.getTime() + 17 * 60_000))).ran).toBe(0);
      expect(await rig.outcome(fleet)).toEqual(fleet.map(() => ({ records: 1, audited: 1, cards: 1 })));
      expect((await rig.audit.verify()).ok).toBe(true);
    },
  );

  /** Working hours where Tom is off until `heldUntil` and Sofia at work; counts the look-ups, keeps what was deferred. */
  const quietFor = (options: { failFor?: (effectId: string) => boolean; bulk?: boolean } = {}) => {
    const heldUntil = new Date(NOW.getTime() + 3 * 3_600_000);
    const asked = new Map<string, number>();
    const deferred: Array<{
      at: Date;
      type: string;
      effectId: string;
      data: { to: string; quiet: boolean; card: { data: { agentId: string } } };
    }> = [];
    const quiet: QuietHours = {
      async until(to) {
        asked.set(to, (asked.get(to) ?? 0) + 1);
        return to === people.tom ? heldUntil : undefined;
      },
      async defer(at, type, effectId, data) {
        if (options.failFor?.(effectId)) throw new Error('the scheduler is unavailable');
        deferred.push({ at, type, effectId, data: data as (typeof deferred)[number]['data'] });
      },
    };
    const bulkWrites: number[] = [];
    if (options.bulk) {
      quiet.deferMany = async (items) => {
        bulkWrites.push(items.length);
        for (const { at, type, effectId, data } of items) await quiet.defer(at, type, effectId, data);
      };
    }
    return { quiet, asked, deferred, heldUntil, bulkWrites };
  };

  it("holds the cards of sponsors outside working hours, asking each sponsor's hours once per chunk, and sends the others", async () => {
    const hours = quietFor({ bulk: true });
    rig = await openRig({ quiet: hours.quiet });
    const fleet = await rig.fleet(2 * CHUNK + 1, [people.tom, people.sofia]);
    expect((await rig.service().sweep(NOW)).ran).toBe(fleet.length);
    // Handed over in one write per chunk.
    expect(hours.bulkWrites).toEqual([CHUNK, CHUNK, 1]);
    // Three chunks: each asks Tom's and Sofia's hours once, not once per card.
    expect(Object.fromEntries(hours.asked)).toEqual({ [people.tom]: 3, [people.sofia]: 3 });
    // Each of Tom's cards is deferred once, until his hours start, marked to go out then; none sent now.
    expect(hours.deferred.map((d) => d.data.card.data.agentId).sort()).toEqual(fleet.map((a) => a.id).sort());
    expect(new Set(hours.deferred.map((d) => d.effectId)).size).toBe(fleet.length);
    for (const d of hours.deferred) {
      expect(d).toMatchObject({ at: hours.heldUntil, type: 'chat.send', data: { to: people.tom, quiet: false } });
    }
    expect(rig.notifier.to(people.tom, 'checkin')).toHaveLength(0);
    // Sofia's go out at once, one per agent; every agent is audited once; nothing is left in the outboxes.
    expect(
      rig.notifier
        .to(people.sofia, 'checkin')
        .map((m) => m.card.data.agentId)
        .sort(),
    ).toEqual(fleet.map((a) => a.id).sort());
    const entries = await rig.audit.export();
    for (const a of fleet) expect(entries.filter((e) => e.action === 'checkin.completed' && e.subject.agentId === a.id)).toHaveLength(1);
    const records = await Promise.all(fleet.map(async (a) => (await rig.checkinRepo.listForAgent(a.id))[0]!));
    const left = await rig.checkinRepo.getManyWithEffects(records.map((r) => r.id));
    expect(left.flatMap((l) => l.effects)).toEqual([]);
  });

  it('keeps the held cards of a chunk whose bulk deferral failed in their records for the worker', async () => {
    const hours = quietFor({ bulk: true, failFor: () => true });
    rig = await openRig({ quiet: hours.quiet });
    const fleet = await rig.fleet(CHUNK, [people.tom, people.sofia]);
    await expect(rig.service().sweep(NOW)).rejects.toThrow('the scheduler is unavailable');
    expect(rig.notifier.to(people.sofia, 'checkin')).toHaveLength(CHUNK);
    const records = await Promise.all(fleet.map(async (a) => (await rig.checkinRepo.listForAgent(a.id))[0]!));
    const left = (await rig.checkinRepo.getManyWithEffects(records.map((r) => r.id))).flatMap((l) => l.effects);
    expect(left.map((e) => (e.data as { to?: string }).to)).toEqual(fleet.map(() => people.tom));
  });

  it('keeps a card whose deferral failed in its record for the worker, and still performs the rest of the chunk', async () => {
    let failed: string | undefined;
    const hours = quietFor({ failFor: (id) => (failed ??= id) === id });
    rig = await openRig({ quiet: hours.quiet });
    const fleet = await rig.fleet(CHUNK, [people.tom, people.sofia]);
    // The failure stops the sweep where it would have died, after the chunk's other effects were performed.
    await expect(rig.service().sweep(NOW)).rejects.toThrow('the scheduler is unavailable');
    expect(hours.deferred).toHaveLength(CHUNK - 1);
    expect(rig.notifier.to(people.sofia, 'checkin')).toHaveLength(CHUNK);
    const records = await Promise.all(fleet.map(async (a) => (await rig.checkinRepo.listForAgent(a.id))[0]!));
    const left = (await rig.checkinRepo.getManyWithEffects(records.map((r) => r.id))).flatMap((l) => l.effects);
    expect(left.map((e) => e.id)).toEqual([failed]);
    expect(left[0]).toMatchObject({ type: 'chat.send', data: { to: people.tom, quiet: true } });
  });
});
