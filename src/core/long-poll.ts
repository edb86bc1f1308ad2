import type { EventEmitter } from 'node:events';

/** Longest long-poll of the agent-facing API, in seconds. */
export const MAX_WAIT_S = 60;

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
