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

/** One ask waiting in a {@link groupCommit}, with how its caller is answered. */
export type Waiting<A, R> = { ask: A; resolve(result: R): void; reject(err: unknown): void };

/**
 * A group commit: asks made while a group is being written wait and are written together, at
 * most `max` at a time, in the order asked; alone, an ask is written at once. `askAll`'s asks
 * join together (in one group when they fit). `write` answers each ask of its group (resolve or
 * reject); if it throws, every ask of the group not answered yet fails with that error
 * (answering a promise twice changes nothing).
 */
export function groupCommit<A, R>(
  max: number,
  write: (group: ReadonlyArray<Waiting<A, R>>) => Promise<void>,
): { ask(ask: A): Promise<R>; askAll(asks: readonly A[]): Array<Promise<R>> } {
  const waiting: Array<Waiting<A, R>> = [];
  let writing = false;
  async function drain(): Promise<void> {
    if (writing) return;
    writing = true;
    try {
      while (waiting.length > 0) {
        const group = waiting.splice(0, max);
        await write(group).catch((err: unknown) => {
          for (const g of group) g.reject(err);
        });
      }
    } finally {
      writing = false;
    }
  }
  const askAll = (asks: readonly A[]): Array<Promise<R>> => {
    const answers = asks.map((ask) => new Promise<R>((resolve, reject) => waiting.push({ ask, resolve, reject })));
    void drain();
    return answers;
  };
  return { ask: (ask) => askAll([ask])[0]!, askAll };
}

/**
 * Single-document writes to one collection as a {@link groupCommit}: a write asked for while
 * another group is being written waits and goes with the others in one unordered bulkWrite;
 * alone, it is written at once. Each caller learns whether its own operation upserted a
 * document, or gets its own operation's error (a duplicate key keeps its `code`, as a write alone
 * would throw it); a bulk write that failed as a whole fails every write of its group. Many cards
 * sent at once (50 agents asking at once, issue 19) then cost one command per step, not one each.
 */
export function groupedWrites(
  collection: () => mongo.Collection<KeyedDoc>,
): (op: mongo.AnyBulkWriteOperation<KeyedDoc>) => Promise<{ upserted: boolean }> {
  return groupCommit<mongo.AnyBulkWriteOperation<KeyedDoc>, { upserted: boolean }>(MAX_GROUP, async (group) => {
    let upserted: Record<number, unknown> = {};
    let failures = new Map<number, WriteFailure>();
    try {
      upserted = (
        await collection().bulkWrite(
          group.map((g) => g.ask),
          { ordered: false },
        )
      ).upsertedIds;
    } catch (err) {
      const some = perOperationFailures(err);
      if (!some) throw err;
      failures = some;
      upserted = (err as mongo.MongoBulkWriteError).result?.upsertedIds ?? {};
    }
    for (const [i, g] of group.entries()) {
      const failure = failures.get(i);
      if (failure) g.reject(failureOf(failure));
      else g.resolve({ upserted: upserted[i] !== undefined });
    }
  }).ask;
}
