import { Schema, type Connection, type mongo } from 'mongoose';
import { binOf, COST_BINS, LATENCY_BINS } from '../core/stats.js';
import { fieldKey, type TelemetryEvent } from '../core/telemetry.js';
import type { AgentId } from '../core/ids.js';
import { keyed, type KeyedDoc } from './keyed.js';

export type Granularity = 'hour' | 'day';

/** Per-agent aggregate of one hour or one day: everything a check-in needs, and no raw events. */
export interface Rollup {
  agentId: string;
  granularity: Granularity;
  start: Date;
  count: number;
  outcomes: { success: number; failure: number; handedToHuman: number };
  correctSum: number;
  correctCount: number;
  costSum: number;
  tokens: number;
  /** Latency and cost histograms on fixed log-scale bins (index → count). */
  latency: Record<string, number>;
  cost: Record<string, number>;
  /** Fairness: events and favourable outcomes per segment. */
  segments: Record<string, { total: number; favourable: number }>;
  tasks: Record<string, number>;
}

/** What a check-in reads of a rollup (the check-in sweep's read of many agents' daily rollups). */
export type CheckInRollup = Omit<Rollup, 'granularity' | 'tokens' | 'tasks'>;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function bucketStart(time: Date, granularity: Granularity): Date {
  const size = granularity === 'hour' ? HOUR : DAY;
  return new Date(Math.floor(time.getTime() / size) * size);
}

/** A rollup's key: one document per agent, granularity and bucket start. */
function rollupId(agentId: string, granularity: Granularity, startIso: string): string {
  return `${agentId}:${granularity}:${startIso}`;
}

/** One agent-hour's or agent-day's `$inc` of a batch, and the fields its upsert sets on insert. */
interface RollupIncrement {
  id: string;
  filter: { agentId: string; granularity: Granularity; start: Date };
  inc: Record<string, number>;
}

const GRANULARITIES = ['hour', 'day'] as const;
const OUTCOME_FIELD = { success: 'outcomes.success', failure: 'outcomes.failure', 'handed-to-human': 'outcomes.handedToHuman' } as const;
const LATENCY_FIELDS = Array.from({ length: LATENCY_BINS.count }, (_, bin) => `latency.${bin}`);
const COST_FIELDS = Array.from({ length: COST_BINS.count }, (_, bin) => `cost.${bin}`);

/** The rollup field names of task types and segments, each worked out once per batch (a batch repeats a few). */
class FieldNames {
  private readonly tasks = new Map<string, string>();
  private readonly segments = new Map<string, { total: string; favourable: string }>();

  task(taskType: string): string {
    let name = this.tasks.get(taskType);
    if (name === undefined) this.tasks.set(taskType, (name = `tasks.${fieldKey(taskType)}`));
    return name;
  }

  segment(segment: string): { total: string; favourable: string } {
    let names = this.segments.get(segment);
    if (!names) {
      const key = fieldKey(segment);
      this.segments.set(segment, (names = { total: `segments.${key}.total`, favourable: `segments.${key}.favourable` }));
    }
    return names;
  }
}

/** The fields a check-in reads, with their defaults (see {@link CheckInRollup}). */
function toCheckInRollup(d: mongo.Document): CheckInRollup {
  return {
    agentId: d.agentId,
    start: d.start,
    count: d.count ?? 0,
    outcomes: { success: d.outcomes?.success ?? 0, failure: d.outcomes?.failure ?? 0, handedToHuman: d.outcomes?.handedToHuman ?? 0 },
    correctSum: d.correctSum ?? 0,
    correctCount: d.correctCount ?? 0,
    costSum: d.costSum ?? 0,
    latency: d.latency ?? {},
    cost: d.cost ?? {},
    segments: d.segments ?? {},
  };
}

function toRollup(d: mongo.Document): Rollup {
  return { ...toCheckInRollup(d), granularity: d.granularity, tokens: d.tokens ?? 0, tasks: d.tasks ?? {} };
}

/**
 * Raw events (kept for explainability, purged after the retention period) and rollups updated
 * incrementally with `$inc` upserts, so a check-in reads a few dozen documents per agent however
 * many events there were. An event's id is unique per agent: a retried batch is counted once.
 */
export function createTelemetryStore(connection: Connection) {
  const eventSchema = new Schema(
    { _id: String, agentId: String, time: Date },
    { collection: 'telemetry_events', strict: false, versionKey: false },
  );
  eventSchema.index({ agentId: 1, time: -1 });
  eventSchema.index({ time: 1 });
  const Event = connection.models.TelemetryEvent ?? connection.model('TelemetryEvent', eventSchema);
  const rollupSchema = new Schema(
    { _id: String, agentId: String, granularity: String, start: Date },
    { collection: 'telemetry_rollups', strict: false, versionKey: false },
  );
  rollupSchema.index({ agentId: 1, granularity: 1, start: 1 });
  // `find cost>N` adds up the daily rollups of the last days across agents.
  rollupSchema.index({ granularity: 1, start: 1 });
  const RollupModel = connection.models.TelemetryRollup ?? connection.model('TelemetryRollup', rollupSchema);

  /**
   * The rollups of these agents in [from, to) read by key, oldest first per agent; `checkIn`: only
   * what a check-in reads (a sweep reads 30 per agent: what is not read back is not decoded).
   */
  async function rollupsByKey<K extends string>(
    agentIds: readonly K[],
    granularity: Granularity,
    from: Date,
    to: Date,
  ): Promise<Map<K, Rollup[]>>;
  async function rollupsByKey<K extends string>(
    agentIds: readonly K[],
    granularity: Granularity,
    from: Date,
    to: Date,
    fields: 'checkIn',
  ): Promise<Map<K, CheckInRollup[]>>;
  async function rollupsByKey<K extends string>(
    agentIds: readonly K[],
    granularity: Granularity,
    from: Date,
    to: Date,
    fields?: 'checkIn',
  ): Promise<Map<K, CheckInRollup[]>> {
    const size = granularity === 'hour' ? HOUR : DAY;
    const byAgent = new Map<K, CheckInRollup[]>(agentIds.map((id) => [id, []]));
    const keys: string[] = [];
    for (let at = bucketStart(from, granularity).getTime(); at < to.getTime(); at += size) {
      if (at < from.getTime()) continue;
      const start = new Date(at).toISOString();
      for (const agentId of byAgent.keys()) keys.push(rollupId(agentId, granularity, start));
    }
    if (keys.length === 0) return byAgent;
    // The long key is never read back (toRollup leaves it out).
    const projection = fields === 'checkIn' ? { _id: 0, granularity: 0, tokens: 0, tasks: 0 } : { _id: 0 };
    const docs = await keyed(RollupModel)
      .find({ _id: { $in: keys } }, { projection })
      .toArray();
    const convert = fields === 'checkIn' ? toCheckInRollup : toRollup;
    for (const doc of docs) byAgent.get(doc.agentId as K)?.push(convert(doc));
    for (const list of byAgent.values()) list.sort((a, b) => a.start.getTime() - b.start.getTime());
    return byAgent;
  }

  return {
    async ensureIndexes() {
      await Event.init();
      await RollupModel.init();
    },

    /** Stores new events and adds them to the rollups; returns how many were new and how many were repeats. */
    async ingest(events: TelemetryEvent[], receivedAt = new Date()): Promise<{ inserted: number; duplicates: number }> {
      if (events.length === 0) return { inserted: 0, duplicates: 0 };
      // An event repeated within the batch is one event, as one repeated across batches is: its
      // second copy would fail the insert and, by its id, take the first copy out of the rollups.
      const byId = new Map<string, TelemetryEvent>();
      for (const e of events) {
        const id = `${e.agentId}:${e.eventId}`;
        if (!byId.has(id)) byId.set(id, e);
      }
      const docs = [...byId].map(([_id, e]) => ({ _id, ...e, receivedAt }));
      const fresh = new Set(byId.keys());
      try {
        await keyed(Event).insertMany(docs as never[], { ordered: false });
      } catch (err) {
        const writeErrors = (err as { writeErrors?: Array<{ code?: number; index?: number; err?: { index?: number; code?: number } }> })
          .writeErrors;
        if (!writeErrors) throw err;
        for (const w of writeErrors) {
          const code = w.code ?? w.err?.code;
          const index = w.index ?? w.err?.index;
          if (code !== 11000) throw err;
          if (index !== undefined) fresh.delete(docs[index]!._id);
        }
      }
      const inserted = [...byId].flatMap(([id, e]) => (fresh.has(id) ? [e] : []));
      // Group by bucket first: one $inc upsert per agent-hour and agent-day, not per event. An
      // event's increments are worked out once and added to both of its buckets; the buckets are
      // found by agent and start time (numbers), their keys written once per bucket.
      const increments: RollupIncrement[] = [];
      const buckets = new Map<string, { hour: Map<number, RollupIncrement>; day: Map<number, RollupIncrement> }>();
      const names = new FieldNames();
      const keys: string[] = [];
      const amounts: number[] = [];
      const put = (key: string, n: number) => {
        keys.push(key);
        amounts.push(n);
      };
      for (const e of inserted) {
        keys.length = 0;
        amounts.length = 0;
        put('count', 1);
        put(OUTCOME_FIELD[e.outcome], 1);
        if (e.correctness !== undefined) {
          put('correctSum', e.correctness);
          put('correctCount', 1);
        }
        put('costSum', e.costUSD);
        put('tokens', e.tokens ?? 0);
        if (e.toolCalls) put('toolCalls', e.toolCalls);
        put(LATENCY_FIELDS[binOf(e.latencyMs, LATENCY_BINS)]!, 1);
        put(COST_FIELDS[binOf(e.costUSD, COST_BINS)]!, 1);
        put(names.task(e.taskType), 1);
        if (e.segment) {
          const segment = names.segment(e.segment);
          put(segment.total, 1);
          if (e.favourable ?? e.outcome === 'success') put(segment.favourable, 1);
        }
        let mine = buckets.get(e.agentId);
        if (!mine) buckets.set(e.agentId, (mine = { hour: new Map(), day: new Map() }));
        const time = e.time.getTime();
        for (const granularity of GRANULARITIES) {
          const size = granularity === 'hour' ? HOUR : DAY;
          const at = Math.floor(time / size) * size;
          let entry = mine[granularity].get(at);
          if (!entry) {
            const start = new Date(at);
            entry = {
              id: rollupId(e.agentId, granularity, start.toISOString()),
              filter: { agentId: e.agentId, granularity, start },
              inc: {},
            };
            mine[granularity].set(at, entry);
            increments.push(entry);
          }
          const inc = entry.inc;
          for (let i = 0; i < keys.length; i++) inc[keys[i]!] = (inc[keys[i]!] ?? 0) + amounts[i]!;
        }
      }
      // Each agent's newest event time, kept beside the rollups so dormancy is one document read.
      const newest = new Map<string, Date>();
      for (const e of inserted) if (!newest.has(e.agentId) || newest.get(e.agentId)! < e.time) newest.set(e.agentId, e.time);
      // Every command costs about a millisecond of this process's CPU whatever it carries, so the
      // rollups (hourly and daily) and the newest times each go in one unordered bulk write, both
      // in flight together; $inc and $max commute, so concurrent batches add up in any order.
      const writes: Array<Promise<unknown>> = [];
      if (increments.length > 0) {
        writes.push(
          keyed(RollupModel).bulkWrite(
            increments.map(({ id, filter, inc }) => ({
              updateOne: { filter: { _id: id }, update: { $inc: inc, $setOnInsert: filter }, upsert: true },
            })),
            { ordered: false },
          ),
        );
      }
      if (newest.size > 0) {
        writes.push(
          connection.collection<KeyedDoc>('telemetry_last').bulkWrite(
            [...newest].map(([agentId, time]) => ({
              updateOne: { filter: { _id: agentId }, update: { $max: { lastEventAt: time } }, upsert: true },
            })),
            { ordered: false },
          ),
        );
      }
      // allSettled first: a failed write never leaves the other one running unobserved.
      // A known limit: when the rollup write fails after the raw insert, the retried batch finds
      // its events stored and counts them as duplicates, so they stay out of the rollups. Repairing
      // that on retry needs each event's $inc applied exactly once, which neither a bulk write nor
      // a compensating delete can promise without transactions (a reply lost after the write
      // would count the events twice).
      const settled = await Promise.allSettled(writes);
      const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      return { inserted: inserted.length, duplicates: events.length - inserted.length };
    },

    /** Rollups of an agent in [from, to), oldest first. */
    async rollups(agentId: string, granularity: Granularity, from: Date, to: Date): Promise<Rollup[]> {
      const docs = await keyed(RollupModel)
        .find({ agentId: agentId, granularity, start: { $gte: from, $lt: to } })
        .sort({ start: 1 })
        .toArray();
      return docs.map(toRollup);
    },

    /**
     * Daily rollups of many agents in [from, to) (whole days), oldest first per agent, in one
     * query: a rollup's key is its agent, granularity and start, so the query names the keys and
     * is answered from the `_id` index however many rollups the other agents have.
     */
    async dailyRollupsOf(agentIds: readonly string[], from: Date, to: Date): Promise<Map<string, CheckInRollup[]>> {
      return rollupsByKey(agentIds, 'day', from, to, 'checkIn');
    },

    /** Hourly rollups of many agents in [from, to) (whole hours), oldest first per agent, in one query by key. */
    async hourlyRollupsOf(agentIds: readonly AgentId[], from: Date, to: Date): Promise<Map<AgentId, Rollup[]>> {
      return rollupsByKey(agentIds, 'hour', from, to);
    },

    /** Agents whose daily rollups since `since` add up to more than `usd` (at least, with `inclusive`). */
    async spentOver(usd: number, inclusive: boolean, since: Date): Promise<string[]> {
      const rows = await keyed(RollupModel)
        .aggregate([
          { $match: { granularity: 'day', start: { $gte: since } } },
          { $group: { _id: '$agentId', cost: { $sum: '$costSum' } } },
          { $match: { cost: { [inclusive ? '$gte' : '$gt']: usd } } },
        ])
        .toArray();
      return rows.map((r) => r._id);
    },

    /** The newest event time of each of these agents that has sent any (one query). */
    async lastEventsOf(agentIds: readonly string[]): Promise<Map<string, Date>> {
      if (agentIds.length === 0) return new Map();
      const docs = await connection
        .collection<KeyedDoc>('telemetry_last')
        .find({ _id: { $in: agentIds.map(String) } })
        .toArray();
      return new Map(docs.filter((d) => d.lastEventAt instanceof Date).map((d) => [d._id, d.lastEventAt as Date]));
    },

    /** Refuses an (unregistered) agent id's telemetry from now on. */
    async block(agentId: string, by: string): Promise<void> {
      await connection
        .collection<KeyedDoc>('telemetry_blocked')
        .updateOne({ _id: agentId }, { $setOnInsert: { by, at: new Date() } }, { upsert: true });
    },

    /** Which of these agent ids are blocked. */
    async blocked(agentIds: string[]): Promise<Set<string>> {
      const docs = await connection
        .collection<KeyedDoc>('telemetry_blocked')
        .find({ _id: { $in: agentIds.map(String) } })
        .toArray();
      return new Set(docs.map((d) => d._id));
    },

    /** The catalog role of each of these agents that exists (one read). */
    async rolesOf(agentIds: string[]): Promise<Map<string, string>> {
      if (agentIds.length === 0) return new Map();
      const docs = await connection
        .collection<KeyedDoc>('agents')
        .find({ _id: { $in: agentIds.map(String) } }, { projection: { catalogRoleId: 1 } })
        .toArray();
      return new Map(docs.map((d) => [d._id, String(d.catalogRoleId)]));
    },

    /** Which of these agent ids exist in the registry. */
    async knownAgents(agentIds: string[]): Promise<Map<string, string>> {
      const docs = await connection
        .collection<KeyedDoc>('agents')
        .find({ _id: { $in: agentIds.map(String) } }, { projection: { status: 1 } })
        .toArray();
      return new Map(docs.map((d) => [d._id, String(d.status)]));
    },

    /**
     * The newest event time of an agent, for dormancy: one read by key of the document ingest
     * keeps per agent, so its cost does not depend on how many raw events are stored (and it
     * outlives their purge).
     */
    async lastEventAt(agentId: string): Promise<Date | undefined> {
      const doc = await connection.collection<KeyedDoc>('telemetry_last').findOne({ _id: agentId });
      return doc?.lastEventAt instanceof Date ? doc.lastEventAt : undefined;
    },

    /** Raw events of an agent, newest first, for the decision log. */
    async events(agentId: string, filter: { since?: Date; outcome?: string; limit?: number; eventId?: string } = {}) {
      const query: Record<string, unknown> = { agentId: agentId };
      if (filter.eventId !== undefined) query._id = `${agentId}:${String(filter.eventId)}`;
      if (filter.since) query.time = { $gte: filter.since };
      if (filter.outcome) query.outcome = String(filter.outcome);
      return keyed(Event)
        .find(query)
        .sort({ time: -1 })
        .limit(Math.min(filter.limit ?? 50, 500))
        .toArray();
    },

    /** Every raw event of an agent (newest first, at most `max`), without storage keys: its decision log for the archive. */
    async archiveEvents(agentId: string, max: number): Promise<Array<Record<string, unknown>>> {
      const docs = await keyed(Event).find({ agentId: agentId }).sort({ time: -1 }).limit(max).toArray();
      return docs.map(({ _id: _key, ...event }) => ({ ...event, time: new Date(event.time as Date).toISOString() }));
    },

    /**
     * Deletes raw events older than `before` (rollups stay), except those of the agents in `keep`
     * (retiring agents, whose decision log the archive has yet to take); the embedded server has no TTL indexes.
     */
    async purgeEventsBefore(before: Date, keep: readonly string[] = []): Promise<number> {
      const query: Record<string, unknown> = { time: { $lt: before } };
      if (keep.length > 0) query.agentId = { $nin: keep.map(String) };
      return (await keyed(Event).deleteMany(query)).deletedCount;
    },
  };
}

export type TelemetryStore = ReturnType<typeof createTelemetryStore>;
