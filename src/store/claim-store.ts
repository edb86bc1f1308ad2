import type { Connection } from 'mongoose';
import { trustedId } from '../core/ids.js';
import type { ClaimRepository } from '../core/access.js';
import type { KeyedDoc } from './keyed.js';

const DUPLICATE_KEY = 11000;

/**
 * The `break_glass_claims` collection: one document per claimed key, its `_id` the key, so two
 * writers claiming one free key meet the unique `_id` and a claim taken over is a compare-and-set
 * on the grant that held it (single-document atomic updates, no transactions).
 */
export function createClaimRepository(connection: Connection): ClaimRepository {
  const collection = connection.collection<KeyedDoc>('break_glass_claims');
  return {
    async get(keys) {
      if (keys.length === 0) return [];
      const docs = await collection.find({ _id: { $in: keys.map(String) } }).toArray();
      return docs.map((d) => ({
        key: d._id,
        grantId: trustedId('GrantId', String(d.grantId)),
        by: String(d.by),
        at: new Date(d.at as Date),
      }));
    },
    async take(claim, previous) {
      const { key, ...rest } = claim;
      if (previous === undefined) {
        try {
          await collection.insertOne({ _id: key, ...rest });
          return true;
        } catch (err) {
          if ((err as { code?: number }).code === DUPLICATE_KEY) return false;
          throw err;
        }
      }
      const taken = await collection.updateOne({ _id: key, grantId: previous }, { $set: rest });
      return taken.modifiedCount === 1;
    },
    async release(key, grantId) {
      await collection.deleteOne({ _id: String(key), grantId: grantId });
    },
  };
}
