import type { Connection } from 'mongoose';
import type { Delegation, DelegationRepository } from '../core/delegations.js';
import { ReadThroughCache } from '../core/read-through-cache.js';
import { toStored, withEffects, withoutOutbox } from './outbox-store.js';

/**
 * Delegations (out of office), one document each in `delegations`; status changes are atomic
 * and carry their effects into the document's outbox in the same update.
 *
 * Identical `openFor` reads asked while one is in flight share it (50 agents asking at once for
 * approval by the same sponsor: one read of the sponsor's delegations, not fifty). Nothing is
 * remembered once a read is done, and a write by this repository, once done, keeps anyone asking
 * after it from joining a read that started before it.
 */
export function createDelegationRepository(connection: Connection): DelegationRepository {
  const col = connection.collection<Delegation & { _id: string }>('delegations');
  const strip = (doc: (Delegation & { _id: string }) | null): Delegation | undefined => {
    if (!doc) return undefined;
    const { _id, outboxLeaseUntil: _lease, ...rest } = withoutOutbox(doc as unknown as Record<string, unknown>);
    return { ...(rest as Omit<Delegation, 'id'>), id: String(_id) };
  };
  const reads = new ReadThroughCache<string, Delegation[]>({ ttlMs: Number.POSITIVE_INFINITY });
  const writing = async <R>(write: () => Promise<R>): Promise<R> => {
    try {
      return await write();
    } finally {
      reads.forget();
    }
  };
  return {
    async insert(delegation, effects = []) {
      const { id, ...rest } = delegation;
      await writing(() => col.insertOne({ _id: id, id, ...rest, ...(effects.length ? { outbox: effects.map(toStored) } : {}) } as never));
    },
    async get(id) {
      return strip(await col.findOne({ _id: id }));
    },
    async openFor(filter) {
      const query: Record<string, unknown> = { status: { $in: ['scheduled', 'active'] } };
      if (filter.principal) query.principal = filter.principal;
      else if (filter.principals) query.principal = { $in: [...new Set(filter.principals)].sort() };
      if (filter.delegate) query.delegate = filter.delegate;
      const found = await reads.get(
        JSON.stringify(query),
        async () => (await col.find(query as never).toArray()).map((d) => strip(d)!),
        () => false,
      );
      // Each caller its own copies: the read's answer is shared.
      return found.map((d) => ({ ...d }));
    },
    async transition(id, from, to, at, effects = []) {
      const result = await writing(() =>
        col.updateOne(
          { _id: id, status: { $in: from } } as never,
          withEffects({ $set: { status: to, ...(to === 'ended' ? { endedAt: at } : {}) } }, effects),
        ),
      );
      return result.modifiedCount === 1;
    },
  };
}
