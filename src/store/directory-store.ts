import type { Connection } from 'mongoose';

/*
 * The directory as provisioned over SCIM: users and groups, one document each, plus the chat
 * identities linked by a verified e-mail. Every write takes a number from one counter (`seq`) so
 * that other replicas can load exactly what changed since they last looked. Deletes leave a
 * tombstone (so replicas see them) whose unique keys are released.
 */

/** A stored user. `resource` is the canonical SCIM JSON (its extension URNs contain dots, awkward as field names). */
export interface UserDoc {
  _id: string;
  userNameKey: string;
  emailKey: string;
  externalId?: string;
  displayNameKey: string;
  emailValues: string[];
  emailTyped: string[];
  active: boolean;
  resource: string;
  /** people.yaml roles, unit and manager of a seeded person the identity provider has not touched yet. */
  seed?: { roles: string[]; businessUnit: string; manager?: string };
  created: Date;
  lastModified: Date;
  version: number;
  seq: number;
  deleted?: boolean;
  /** Effects stored with the write (the reaction to it, see DirectoryService); a replacement adds its own. */
  outbox?: Array<Record<string, unknown>>;
  /** Until when an outbox worker holds those effects (never written by a replacement). */
  outboxLeaseUntil?: Date;
}

/** A stored group; `members` are user ids. */
export interface GroupDoc {
  _id: string;
  displayNameKey: string;
  externalId?: string;
  resource: string;
  members: string[];
  created: Date;
  lastModified: Date;
  version: number;
  seq: number;
  deleted?: boolean;
  /** Effects stored with the write (the reaction to it, see DirectoryService); a replacement adds its own. */
  outbox?: Array<Record<string, unknown>>;
  /** Until when an outbox worker holds those effects (never written by a replacement). */
  outboxLeaseUntil?: Date;
}

/** A Slack or Teams id linked to a person by a verified e-mail. */
export interface LinkDoc {
  _id: string;
  kind: 'slack' | 'teams';
  id: string;
  email: string;
  seq: number;
}

/** What the audit trail last recorded of a person: whether they were one, and what counts for authority. */
export interface AuditedPerson {
  email: string;
  roles: string[];
  businessUnit: string;
  manager?: string;
}

/**
 * The last audited state of the person a directory user makes (one per user, `_id` the user id):
 * each reaction audits the difference between it and the person now, and moves it on, so two
 * reactions that both see one change record it once. `n` counts the moves (the compare-and-set
 * version); `pending` is a move claimed but not yet recorded in full: whoever reads it finishes
 * it, with its own keys, before claiming another.
 */
export interface AuditedDoc {
  _id: string;
  n: number;
  /** The directory's change number the state was read at: an older view never moves it back. */
  seq: number;
  /** Null while the user makes no person (never provisioned, inactive or deleted). */
  state: AuditedPerson | null;
  /** The move claimed, with the provisioning source and leaving reason of the reaction that claimed it. */
  pending?: { from: AuditedPerson | null; to: AuditedPerson | null; seq: number; source: string; reason: 'deactivated' | 'deleted' };
}

/** Thrown when a unique key (userName, e-mail, group name) is taken. */
export class UniqueKeyError extends Error {
  constructor(readonly key: string) {
    super(`${key} is already taken`);
    this.name = 'UniqueKeyError';
  }
}

/** A page of a query. */
export interface Page<T> {
  total: number;
  items: T[];
}

export interface DirectoryStore {
  ensureIndexes(): Promise<void>;
  /** The next change number (also the highest one ever handed out, once taken). */
  nextSeq(): Promise<number>;
  /** The highest change number handed out so far (0 when none). */
  currentSeq(): Promise<number>;
  insertUser(doc: UserDoc): Promise<void>;
  /**
   * Writes `doc` if the stored version is still `expectedVersion` (false when someone wrote first):
   * its fields, and its `outbox` added to the effects the user holds, which are kept as they are.
   */
  replaceUser(doc: UserDoc, expectedVersion: number): Promise<boolean>;
  getUser(id: string): Promise<UserDoc | undefined>;
  findUsers(query: Record<string, unknown>, skip: number, limit: number): Promise<Page<UserDoc>>;
  insertGroup(doc: GroupDoc): Promise<void>;
  /** `replaceUser` for a group. */
  replaceGroup(doc: GroupDoc, expectedVersion: number): Promise<boolean>;
  getGroup(id: string): Promise<GroupDoc | undefined>;
  findGroups(query: Record<string, unknown>, skip: number, limit: number): Promise<Page<GroupDoc>>;
  /** Groups that list this user (to drop a deleted user from them). */
  groupsWithMember(userId: string): Promise<GroupDoc[]>;
  putLink(link: Omit<LinkDoc, '_id'>): Promise<void>;
  /** Everything changed after `seq` (tombstones included), for another replica to catch up. */
  changesSince(seq: number): Promise<{ users: UserDoc[]; groups: GroupDoc[]; links: LinkDoc[] }>;
  /** The last audited states of these users (those never audited are missing). */
  auditedStates(userIds: readonly string[]): Promise<AuditedDoc[]>;
  /**
   * Claims the move of a user's audited state from version `from` (absent: never audited) to
   * `pending`; false when another reaction moved or claimed it first.
   */
  claimAudited(userId: string, from: AuditedDoc | undefined, pending: NonNullable<AuditedDoc['pending']>): Promise<boolean>;
  /** Completes the claimed move of `doc` (a no-op when it is already completed). */
  completeAudited(doc: AuditedDoc): Promise<void>;
  /** Records these states for users never audited (users already audited keep theirs). */
  seedAudited(states: ReadonlyArray<{ userId: string; state: AuditedPerson | null; seq: number }>): Promise<void>;
  /** True once every user present before audited states existed has one. */
  auditedSeeded(): Promise<boolean>;
  markAuditedSeeded(): Promise<void>;
  /** True once people.yaml has seeded this database. */
  seeded(): Promise<boolean>;
  markSeeded(): Promise<void>;
}

const LIVE = { deleted: { $ne: true } };

/**
 * The update that writes `doc` over a stored user or group field by field (what `doc` lacks of
 * `optional` is removed), adding `doc.outbox` to the stored outbox. A whole-document replacement
 * would write back the outbox as it was read: an effect performed and removed since would return
 * (and be performed again), a worker's lease would be dropped. Writers only `$push` effects.
 */
function replacement(doc: UserDoc | GroupDoc, optional: readonly string[]): Record<string, unknown> {
  const { _id: _key, outbox, outboxLeaseUntil: _lease, ...rest } = doc;
  const fields = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
  const absent = optional.filter((k) => fields[k] === undefined);
  return {
    $set: fields,
    ...(absent.length > 0 ? { $unset: Object.fromEntries(absent.map((k) => [k, ''])) } : {}),
    ...(outbox && outbox.length > 0 ? { $push: { outbox: { $each: outbox } } } : {}),
  };
}

/** The collections of users and groups (outbox holders: a write's reaction is stored with it). */
export const DIRECTORY_USERS = 'directory_users';
export const DIRECTORY_GROUPS = 'directory_groups';

/** The MongoDB {@link DirectoryStore} (collections `directory_users`, `directory_groups`, `directory_links`, `directory_meta`, `directory_audited`). */
export function createDirectoryStore(connection: Connection): DirectoryStore {
  const users = connection.collection<UserDoc>(DIRECTORY_USERS);
  const groups = connection.collection<GroupDoc>(DIRECTORY_GROUPS);
  const links = connection.collection<LinkDoc>('directory_links');
  const meta = connection.collection<{ _id: string; n?: number; at?: Date }>('directory_meta');
  const audited = connection.collection<AuditedDoc>('directory_audited');

  const uniqueKey = (err: unknown): string | undefined => {
    const e = err as { code?: number; message?: string; keyPattern?: Record<string, unknown> };
    if (e.code !== 11000) return undefined;
    const fromPattern = e.keyPattern ? Object.keys(e.keyPattern)[0] : undefined;
    return fromPattern ?? ['userNameKey', 'emailKey', 'displayNameKey', '_id'].find((k) => e.message?.includes(k)) ?? 'key';
  };
  const write = async (op: () => Promise<unknown>) => {
    try {
      await op();
    } catch (err) {
      const key = uniqueKey(err);
      if (key) throw new UniqueKeyError(key);
      throw err;
    }
  };

  return {
    async ensureIndexes() {
      await users.createIndex({ userNameKey: 1 }, { unique: true });
      await users.createIndex({ emailKey: 1 }, { unique: true });
      await users.createIndex({ externalId: 1 });
      await users.createIndex({ emailValues: 1 });
      await users.createIndex({ emailTyped: 1 });
      await users.createIndex({ seq: 1 });
      await groups.createIndex({ displayNameKey: 1 }, { unique: true });
      await groups.createIndex({ members: 1 });
      await groups.createIndex({ seq: 1 });
      await links.createIndex({ seq: 1 });
    },
    async nextSeq() {
      const doc = await meta.findOneAndUpdate({ _id: 'seq' }, { $inc: { n: 1 } }, { upsert: true, returnDocument: 'after' });
      return doc?.n ?? 1;
    },
    async currentSeq() {
      return (await meta.findOne({ _id: 'seq' }))?.n ?? 0;
    },
    insertUser: (doc) => write(() => users.insertOne(doc)),
    async replaceUser(doc, expectedVersion) {
      let matched = 0;
      await write(async () => {
        matched = (await users.updateOne({ _id: doc._id, version: expectedVersion }, replacement(doc, ['externalId', 'seed', 'deleted'])))
          .matchedCount;
      });
      return matched === 1;
    },
    async getUser(id) {
      return (await users.findOne({ _id: id, ...LIVE })) ?? undefined;
    },
    async findUsers(query, skip, limit) {
      // Flat, so a filter that pins a unique key (userName) is answered from its index.
      const filter = { ...query, ...LIVE } as never;
      const [total, items] = await Promise.all([
        users.countDocuments(filter),
        limit > 0 ? users.find(filter).sort({ _id: 1 }).skip(skip).limit(limit).toArray() : Promise.resolve([]),
      ]);
      return { total, items };
    },
    insertGroup: (doc) => write(() => groups.insertOne(doc)),
    async replaceGroup(doc, expectedVersion) {
      let matched = 0;
      await write(async () => {
        matched = (await groups.updateOne({ _id: doc._id, version: expectedVersion }, replacement(doc, ['externalId', 'deleted'])))
          .matchedCount;
      });
      return matched === 1;
    },
    async getGroup(id) {
      return (await groups.findOne({ _id: id, ...LIVE })) ?? undefined;
    },
    async findGroups(query, skip, limit) {
      const filter = { ...query, ...LIVE } as never;
      const [total, items] = await Promise.all([
        groups.countDocuments(filter),
        limit > 0 ? groups.find(filter).sort({ _id: 1 }).skip(skip).limit(limit).toArray() : Promise.resolve([]),
      ]);
      return { total, items };
    },
    async groupsWithMember(userId) {
      return groups.find({ members: userId, ...LIVE } as never).toArray();
    },
    async putLink(link) {
      const _id = `${link.kind}:${link.id}`;
      await links.replaceOne({ _id }, { ...link }, { upsert: true });
    },
    async changesSince(seq) {
      const since = { seq: { $gt: seq } };
      const [u, g, l] = await Promise.all([users.find(since).toArray(), groups.find(since).toArray(), links.find(since).toArray()]);
      return { users: u, groups: g, links: l };
    },
    async auditedStates(userIds) {
      if (userIds.length === 0) return [];
      return audited.find({ _id: { $in: [...userIds] } } as never).toArray();
    },
    async claimAudited(userId, from, pending) {
      if (!from) {
        try {
          await audited.insertOne({ _id: userId, n: 0, seq: 0, state: pending.from, pending });
          return true;
        } catch (err) {
          if ((err as { code?: number }).code === 11000) return false;
          throw err;
        }
      }
      const { matchedCount } = await audited.updateOne({ _id: userId, n: from.n, pending: { $exists: false } } as never, {
        $set: { pending },
      });
      return matchedCount === 1;
    },
    async completeAudited(doc) {
      if (!doc.pending) return;
      await audited.updateOne({ _id: doc._id, n: doc.n, pending: { $exists: true } } as never, {
        $set: { n: doc.n + 1, seq: doc.pending.seq, state: doc.pending.to },
        $unset: { pending: '' },
      });
    },
    async seedAudited(states) {
      if (states.length === 0) return;
      try {
        await audited.insertMany(
          states.map(({ userId, state, seq }) => ({ _id: userId, n: 0, seq, state })),
          { ordered: false },
        );
      } catch (err) {
        // Users another replica (or a reaction) recorded first keep their state.
        const e = err as { code?: number; writeErrors?: Array<{ code?: number }> };
        const codes = e.writeErrors?.map((w) => w.code) ?? [e.code];
        if (!codes.every((c) => c === 11000)) throw err;
      }
    },
    async auditedSeeded() {
      return (await meta.findOne({ _id: 'audited' })) !== null;
    },
    async markAuditedSeeded() {
      await meta.updateOne({ _id: 'audited' }, { $set: { at: new Date() } }, { upsert: true });
    },
    async seeded() {
      return (await meta.findOne({ _id: 'seeded' })) !== null;
    },
    async markSeeded() {
      await meta.updateOne({ _id: 'seeded' }, { $set: { at: new Date() } }, { upsert: true });
    },
  };
}
