import type { Connection } from 'mongoose';
import type { LeaverRepository, SponsorshipOffer } from '../core/leavers.js';

/** The last directory snapshot and sponsorship offers (`agentId:leaver` is unique). */
export function createLeaverRepository(connection: Connection): LeaverRepository {
  const snapshots = connection.collection('directory_snapshot');
  const offers = connection.collection('sponsorship_offers');
  return {
    async snapshot() {
      const doc = await snapshots.findOne({ _id: 'people' as never });
      return doc ? (Object.fromEntries(doc.entries as Array<[string, string | null]>) as Record<string, string | null>) : undefined;
    },
    async saveSnapshot(people) {
      // Keys are e-mails: stored as a list, since dots are awkward in field names.
      await snapshots.replaceOne({ _id: 'people' as never }, { entries: Object.entries(people) }, { upsert: true });
    },
    async offer(offer: SponsorshipOffer) {
      try {
        await offers.insertOne({ _id: `${offer.agentId}:${offer.leaver}` as never, ...offer });
        return true;
      } catch (err) {
        if ((err as { code?: number }).code === 11000) return false;
        throw err;
      }
    },
    async accept(agentId, manager) {
      const open = await offers.findOne({ agentId: String(agentId), manager: String(manager), status: 'open' });
      if (!open) return undefined;
      const result = await offers.updateOne({ _id: open._id, status: 'open' }, { $set: { status: 'accepted' } });
      return result.modifiedCount === 1
        ? ({ ...(open as unknown as SponsorshipOffer), status: 'accepted' } as SponsorshipOffer)
        : undefined;
    },
  };
}
