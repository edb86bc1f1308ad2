import type { Connection } from 'mongoose';
import type { KeyedDoc } from './keyed.js';

/** A token-signing key as stored: the private part only sealed under the key-encryption key. */
export interface StoredSigningKey {
  kid: string;
  /** 1 for the first key, then consecutive; unique, so two replicas rotating at once add one key. */
  generation: number;
  alg: string;
  /** The public JWK (no private members). */
  publicJwk: Record<string, unknown>;
  /** AES-256-GCM of the PKCS#8 private key, additional data = kid; base64 parts. */
  sealed: { iv: string; tag: string; data: string };
  createdAt: Date;
  /** From when it signs; published before that so verifiers can fetch it first. */
  activatesAt: Date;
}

const DUPLICATE_KEY = 11000;

/** The `oauth_signing_keys` collection, shared by every Roster replica on the database. */
export function createSigningKeyRepository(connection: Connection) {
  const collection = connection.collection<KeyedDoc>('oauth_signing_keys');
  const fromDoc = (doc: Record<string, unknown>): StoredSigningKey => {
    const { _id, ...rest } = doc;
    return { kid: String(_id), ...(rest as Omit<StoredSigningKey, 'kid'>) };
  };
  return {
    async ensureIndexes(): Promise<void> {
      await collection.createIndex({ generation: 1 }, { unique: true });
    },
    /** Every stored key, newest generation first. */
    async list(): Promise<StoredSigningKey[]> {
      const docs = await collection.find({}).sort({ generation: -1 }).limit(50).toArray();
      return docs.map((d) => fromDoc(d));
    },
    /** Adds a key; false when another replica added that generation first. */
    async insert(key: StoredSigningKey): Promise<boolean> {
      const { kid, ...rest } = key;
      try {
        await collection.insertOne({ _id: kid, ...rest });
        return true;
      } catch (err) {
        if ((err as { code?: number }).code === DUPLICATE_KEY) return false;
        throw err;
      }
    },
    /** Removes keys no token can still need. */
    async remove(kids: string[]): Promise<void> {
      if (kids.length) await collection.deleteMany({ _id: { $in: kids } });
    },
  };
}

export type SigningKeyRepository = ReturnType<typeof createSigningKeyRepository>;
