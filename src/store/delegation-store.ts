import type { Connection } from 'mongoose';
import type { Delegation, DelegationRepository } from '../core/delegations.js';

/** Delegations (out of office), one document each in `delegations`; status changes are atomic. */
export function createDelegationRepository(connection: Connection): DelegationRepository {
  const col = connection.collection<Delegation & { _id: string }>('delegations');
  const strip = (doc: (Delegation & { _id: string }) | null): Delegation | undefined => {
    if (!doc) return undefined;
    const { _id, ...rest } = doc;
    return { ...rest, id: _id };
  };
  return {
    async insert(delegation) {
      const { id, ...rest } = delegation;
      await col.insertOne({ _id: id, id, ...rest });
    },
    async get(id) {
      return strip(await col.findOne({ _id: id }));
    },
    async openFor(filter) {
      const query: Record<string, unknown> = { status: { $in: ['scheduled', 'active'] } };
      if (filter.principal) query.principal = filter.principal;
      if (filter.delegate) query.delegate = filter.delegate;
      return (await col.find(query as never).toArray()).map((d) => strip(d)!);
    },
    async transition(id, from, to, at) {
      const result = await col.updateOne({ _id: id, status: { $in: from } } as never, {
        $set: { status: to, ...(to === 'ended' ? { endedAt: at } : {}) },
      });
      return result.modifiedCount === 1;
    },
  };
}
