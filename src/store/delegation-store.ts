import type { Connection } from 'mongoose';
import type { Delegation, DelegationRepository } from '../core/delegations.js';
import { toStored, withEffects, withoutOutbox } from './outbox-store.js';

/**
 * Delegations (out of office), one document each in `delegations`; status changes are atomic
 * and carry their effects into the document's outbox in the same update.
 */
export function createDelegationRepository(connection: Connection): DelegationRepository {
  const col = connection.collection<Delegation & { _id: string }>('delegations');
  const strip = (doc: (Delegation & { _id: string }) | null): Delegation | undefined => {
    if (!doc) return undefined;
    const { _id, outboxLeaseUntil: _lease, ...rest } = withoutOutbox(doc as unknown as Record<string, unknown>);
    return { ...(rest as Omit<Delegation, 'id'>), id: String(_id) };
  };
  return {
    async insert(delegation, effects = []) {
      const { id, ...rest } = delegation;
      await col.insertOne({ _id: id, id, ...rest, ...(effects.length ? { outbox: effects.map(toStored) } : {}) } as never);
    },
    async get(id) {
      return strip(await col.findOne({ _id: id }));
    },
    async openFor(filter) {
      const query: Record<string, unknown> = { status: { $in: ['scheduled', 'active'] } };
      if (filter.principal) query.principal = filter.principal;
      else if (filter.principals) query.principal = { $in: [...filter.principals] };
      if (filter.delegate) query.delegate = filter.delegate;
      return (await col.find(query as never).toArray()).map((d) => strip(d)!);
    },
    async transition(id, from, to, at, effects = []) {
      const result = await col.updateOne(
        { _id: id, status: { $in: from } } as never,
        withEffects({ $set: { status: to, ...(to === 'ended' ? { endedAt: at } : {}) } }, effects),
      );
      return result.modifiedCount === 1;
    },
  };
}
