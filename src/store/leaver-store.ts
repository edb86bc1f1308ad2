import type { Connection } from 'mongoose';
import type { LeaverRepository, SponsorshipOffer } from '../core/leavers.js';
import { toStored, withoutOutbox } from './outbox-store.js';
import type { KeyedDoc } from './keyed.js';

/** The last directory snapshot and sponsorship offers (`agentId:leaver` is unique; an offer holds its outbox). */
export function createLeaverRepository(connection: Connection): LeaverRepository {
  const snapshots = connection.collection<KeyedDoc>('directory_snapshot');
  const offers = connection.collection<KeyedDoc>('sponsorship_offers');
  return {
    async snapshot() {
      const doc = await snapshots.findOne({ _id: 'people' });
      return doc ? (Object.fromEntries(doc.entries as Array<[string, string | null]>) as Record<string, string | null>) : undefined;
    },
    async saveSnapshot(people) {
      // Keys are e-mails: stored as a list, since dots are awkward in field names.
      await snapshots.replaceOne({ _id: 'people' }, { entries: Object.entries(people) }, { upsert: true });
    },
    async offer(offer: SponsorshipOffer, effects = []) {
      try {
        await offers.insertOne({
          _id: `${offer.agentId}:${offer.leaver}`,
          ...offer,
          ...(effects.length ? { outbox: effects.map(toStored) } : {}),
        });
        return true;
      } catch (err) {
        if ((err as { code?: number }).code === 11000) return false;
        throw err;
      }
    },
    async open(agentId, manager) {
      const open = await offers.findOne({ agentId: agentId, manager: String(manager), status: 'open' });
      if (!open) return undefined;
      const { _id, outboxLeaseUntil: _lease, ...rest } = withoutOutbox(open);
      return rest as unknown as SponsorshipOffer;
    },
    async accept(agentId, manager) {
      const open = await offers.findOne({ agentId: agentId, manager: String(manager), status: 'open' });
      if (!open) return undefined;
      const result = await offers.updateOne({ _id: open._id, status: 'open' }, { $set: { status: 'accepted' } });
      if (result.modifiedCount !== 1) return undefined;
      const { _id, outboxLeaseUntil: _lease, ...rest } = withoutOutbox(open);
      return { ...(rest as unknown as SponsorshipOffer), status: 'accepted' };
    },
  };
}
