import type { EventEmitter } from 'node:events';
import { z } from 'zod';
import { AgentRefusal } from './errors.js';

/** Longest long-poll of the agent-facing API, in seconds. */
export const MAX_WAIT_S = 60;

/** `?wait=` of the long polls: whole seconds, 0 to 60. */
const waitQuerySchema = z.coerce
  .number({ error: `wait must be a number of seconds from 0 to ${MAX_WAIT_S}` })
  .int(`wait must be a whole number of seconds from 0 to ${MAX_WAIT_S}`)
  .min(0, `wait must be from 0 to ${MAX_WAIT_S} seconds`)
  .max(MAX_WAIT_S, `wait must be from 0 to ${MAX_WAIT_S} seconds`)
  .default(0);

/** The seconds a long poll waits (none when absent or empty), or a 400 `invalid_wait` refusal. */
export function parseWait(raw: unknown): number {
  const parsed = waitQuerySchema.safeParse(raw === '' ? undefined : raw);
  if (!parsed.success) throw new AgentRefusal(400, 'invalid_wait', parsed.error.issues[0]!.message);
  return parsed.data;
}

/**
 * Re-reads a record until `settled(record)` or until `waitMs` (at most {@link MAX_WAIT_S}) has
 * passed, and resolves the record as it is then. A change made in this process wakes it at once
 * (`events` emits the record's id); one made by another replica is seen within a second.
 */
export async function longPoll<T>(
  events: EventEmitter,
  id: string,
  waitMs: number,
  read: () => Promise<T>,
  settled: (record: T) => boolean,
): Promise<T> {
  let record = await read();
  const deadline = Date.now() + Math.min(Math.max(0, waitMs), MAX_WAIT_S * 1000);
  while (!settled(record) && Date.now() < deadline) {
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        events.off(id, done);
        resolve();
      };
      const timer = setTimeout(done, Math.min(1000, Math.max(0, deadline - Date.now())));
      events.once(id, done);
    });
    record = await read();
  }
  return record;
}
