import { mongo } from 'mongoose';
import type { KeyedDoc } from './keyed.js';

/** Most single writes {@link groupedWrites} sends in one command. */
const MAX_GROUP = 200;

/** A write error of an unordered bulk write: the operation it concerns, its code and message. */
type WriteFailure = { index: number; code?: number; errmsg?: string; errInfo?: mongo.Document };

/** The error the operation would have thrown written alone (a duplicate key: a MongoServerError with code 11000). */
function failureOf(failure: WriteFailure): mongo.MongoServerError {
  const errmsg = failure.errmsg ?? 'write failed';
  return new mongo.MongoServerError({
    message: errmsg,
    errmsg,
    ...(failure.code !== undefined ? { code: failure.code } : {}),
    ...(failure.errInfo ? { errInfo: failure.errInfo } : {}),
  });
}

/** The per-operation failures of a bulk write that failed for some operations only; undefined when it failed as a whole. */
function perOperationFailures(err: unknown): Map<number, WriteFailure> | undefined {
  if (!(err instanceof mongo.MongoBulkWriteError) || err.result?.getWriteConcernError()) return undefined;
  const list = (Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors]) as WriteFailure[];
  if (list.length === 0) return undefined;
  return new Map(list.map((e) => [e.index, e]));
}

/**
 * Single-document writes to one collection as a group commit: a write asked for while another
 * group is being written waits and goes with the others in one unordered bulkWrite; alone, it
 * is written at once. Each caller learns whether its own operation upserted a document, or gets
 * its own operation's error (a duplicate key keeps its `code`, as a write alone would throw it);
 * a bulk write that failed as a whole fails every write of its group. Many cards sent at once
 * (50 agents asking at once, issue 19) then cost one command per step, not one each.
 */
export function groupedWrites(collection: () => mongo.Collection<KeyedDoc>) {
  type Waiting = { op: mongo.AnyBulkWriteOperation<KeyedDoc>; resolve(r: { upserted: boolean }): void; reject(err: unknown): void };
  const waiting: Waiting[] = [];
  let writing = false;

  async function write(group: Waiting[]): Promise<void> {
    let upserted: Record<number, unknown> = {};
    let failures = new Map<number, WriteFailure>();
    try {
      upserted = (
        await collection().bulkWrite(
          group.map((g) => g.op),
          { ordered: false },
        )
      ).upsertedIds;
    } catch (err) {
      const some = perOperationFailures(err);
      if (!some) {
        for (const g of group) g.reject(err);
        return;
      }
      failures = some;
      upserted = (err as mongo.MongoBulkWriteError).result?.upsertedIds ?? {};
    }
    for (const [i, g] of group.entries()) {
      const failure = failures.get(i);
      if (failure) g.reject(failureOf(failure));
      else g.resolve({ upserted: upserted[i] !== undefined });
    }
  }

  async function drain(): Promise<void> {
    if (writing) return;
    writing = true;
    try {
      while (waiting.length > 0) {
        const group = waiting.splice(0, MAX_GROUP);
        // Whatever else goes wrong fails the group's writes (settling a promise twice changes nothing).
        await write(group).catch((err: unknown) => {
          for (const g of group) g.reject(err);
        });
      }
    } finally {
      writing = false;
    }
  }

  return (op: mongo.AnyBulkWriteOperation<KeyedDoc>): Promise<{ upserted: boolean }> =>
    new Promise((resolve, reject) => {
      waiting.push({ op, resolve, reject });
      void drain();
    });
}
