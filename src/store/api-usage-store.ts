import type { Connection } from 'mongoose';
import type { AgentId } from '../core/ids.js';
import { trustedId } from '../core/ids.js';
import type { KeyedDoc } from './keyed.js';

/** What an agent did with the agent-facing API in one hour (counters only; no token or secret). */
export interface HourlyUsage {
  agentId: AgentId;
  /** ISO start of the hour. */
  hour: string;
  counts: Record<string, number>;
}

const DUPLICATE_KEY = 11000;

/**
 * `api_usage`: one document per agent and hour, incremented with `$inc` (atomic, so every
 * replica adds to the same counters); `api_usage_summaries`: one document per hour once its
 * audit summary is written, so two replicas never summarise the same hour twice.
 */
export function createApiUsageRepository(connection: Connection) {
  const usage = connection.collection<KeyedDoc>('api_usage');
  const summaries = connection.collection<KeyedDoc>('api_usage_summaries');
  return {
    /** Adds counts; each entry is one `$inc` upsert on the agent-hour document. */
    async add(entries: Array<{ agentId: AgentId; hour: string; counts: Record<string, number> }>): Promise<void> {
      if (entries.length === 0) return;
      await usage.bulkWrite(
        entries.map((e) => ({
          updateOne: {
            filter: { _id: `${e.agentId}|${e.hour}` },
            update: {
              $setOnInsert: { agentId: e.agentId, hour: e.hour },
              $inc: Object.fromEntries(Object.entries(e.counts).map(([k, n]) => [`counts.${k}`, n])),
            },
            upsert: true,
          },
        })),
        { ordered: false },
      );
    },
    /** Every agent's counters for the hour starting at `hour` (ISO). */
    async forHour(hour: string): Promise<HourlyUsage[]> {
      const docs = await usage.find({ hour }).limit(10_000).toArray();
      return docs.map((d) => ({
        agentId: trustedId('AgentId', String(d.agentId)),
        hour: String(d.hour),
        counts: (d.counts ?? {}) as Record<string, number>,
      }));
    },
    /** Hours (ISO) with counters, before `before`, not summarised yet. */
    async unsummarisedHoursBefore(before: string): Promise<string[]> {
      const hours = (await usage.distinct('hour', { hour: { $lt: before } })) as string[];
      if (hours.length === 0) return [];
      const done = new Set((await summaries.find({ _id: { $in: hours } }).toArray()).map((d) => d._id));
      return hours.filter((h) => !done.has(h)).sort();
    },
    /** Claims the hour's summary for this replica; false when another one already did. */
    async claimSummary(hour: string): Promise<boolean> {
      try {
        await summaries.insertOne({ _id: hour, at: new Date() });
        return true;
      } catch (err) {
        if ((err as { code?: number }).code === DUPLICATE_KEY) return false;
        throw err;
      }
    },
  };
}

export type ApiUsageRepository = ReturnType<typeof createApiUsageRepository>;
