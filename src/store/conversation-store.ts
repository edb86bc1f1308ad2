import { Schema, type Connection } from 'mongoose';
import { keyed } from './keyed.js';

/**
 * Where Roster can reach one Teams user proactively: the Bot Connector endpoint of their tenant
 * (`serviceUrl`), the bot's and the user's channel ids, and the 1:1 conversation when one exists.
 * A reference learned in a team or group chat has no `conversationId` until Roster creates the
 * personal conversation with the user.
 */
export interface TeamsConversationRef {
  /** The user's Microsoft Entra (AAD) object id, lower-cased: the key. */
  aadObjectId: string;
  /** The directory person's e-mail when the user was known at the time. */
  email?: string;
  /** The user's Teams channel id (`29:…`). */
  userId: string;
  userName?: string;
  /** The bot's channel id (`28:<app id>`). */
  botId: string;
  botName?: string;
  tenantId?: string;
  serviceUrl: string;
  /** `msteams` in Teams; the Playground may use another channel id. */
  channelId: string;
  /** The personal (1:1) conversation with the user, when known. */
  conversationId?: string;
  /** The user's time zone as their Teams client last reported it (`clientInfo.timezone`). */
  timeZone?: string;
  updatedAt: Date;
}

/** What an inbound activity tells about a user; `conversationId` only for personal conversations. */
export type ConversationSighting = Omit<TeamsConversationRef, 'updatedAt'>;

/** Conversation references for proactive Teams messages, one document per user. */
export interface ConversationStore {
  /** Records a sighting; a team or group sighting never replaces a known personal conversation. */
  save(sighting: ConversationSighting): Promise<void>;
  /** Remembers the personal conversation Roster created with a user. */
  setPersonalConversation(aadObjectId: string, conversationId: string): Promise<void>;
  get(aadObjectId: string): Promise<TeamsConversationRef | undefined>;
  /** Several users' references in one read, by (lower-cased) AAD object id; those unknown are absent. */
  getMany(aadObjectIds: readonly string[]): Promise<Map<string, TeamsConversationRef>>;
  /** By the directory e-mail, for people whose directory entry has no AAD object id. */
  getByEmail(email: string): Promise<TeamsConversationRef | undefined>;
  /**
   * The zone a person's Teams client last reported, found as proactive messages find their
   * reference (by AAD object id, else by e-mail); undefined when unknown. Each answer stands for
   * ten minutes in this process, as Slack's `users.info` does: the working-hours check asks for
   * every reminder that can wait, most of them to the same few people. A sighting stored through
   * this store replaces it at once; one stored by another replica is seen within ten minutes.
   */
  timeZoneOf(person: { teamsAadObjectId?: string | undefined; email: string }): Promise<string | undefined>;
  /**
   * The Teams user ids (`29:…`) of people, by e-mail, found as {@link timeZoneOf} finds their
   * reference; people Teams never saw are absent. For an approval card's `refresh.userIds`, which
   * every click and card update renders: each answer, found or not, stands for ten minutes in this
   * process, and those not remembered are read together (one query by AAD object id, one by
   * e-mail). A sighting stored through this store replaces the answers it changes at once.
   */
  teamsUserIdsOf(people: ReadonlyArray<{ teamsAadObjectId?: string | undefined; email: string }>): Promise<Map<string, string>>;
  /** Forgets a user (the app was removed from their personal scope). */
  remove(aadObjectId: string): Promise<boolean>;
  count(): Promise<number>;
  ensureIndexes(): Promise<void>;
}

/** How long an answer read from the store stands in this process (see {@link ConversationStore.timeZoneOf}). */
const ZONE_CACHE_MS = 10 * 60_000;

/** Most answers remembered per look-up (people come and go with the directory); the oldest are dropped first. */
const ZONE_CACHE_ENTRIES = 10_000;

/** What one look-up found: whether there is a reference (`aad`, its AAD object id), and the part of it asked for. */
interface Answer<T> {
  found: boolean;
  value?: T | undefined;
  aad?: string | undefined;
  at: number;
}

/**
 * Answers of one kind of look-up (by AAD object id, or by e-mail), each standing for `ttlMs`, at
 * most `maxEntries` of them: the longest-remembered is dropped first.
 */
class Remembered<T> {
  private readonly answers = new Map<string, Answer<T>>();

  constructor(
    private readonly ttlMs: number,
    private readonly clock: () => number,
    private readonly maxEntries: number,
  ) {}

  fresh(key: string): Answer<T> | undefined {
    const answer = this.answers.get(key);
    return answer && this.clock() - answer.at < this.ttlMs ? answer : undefined;
  }

  /** Remembers what `key` finds now (in reference `aad`), as the newest answer. */
  set(key: string, found: boolean, value: T | undefined, aad?: string): void {
    this.answers.delete(key);
    this.answers.set(key, { found, value, aad, at: this.clock() });
    while (this.answers.size > this.maxEntries) this.answers.delete(this.answers.keys().next().value!);
  }

  /** A write here made `key`'s answer `value` (found in reference `aad`), or unknown (`undefined`: read again). */
  replace(key: string, value: T | undefined, aad?: string): void {
    if (value === undefined) this.answers.delete(key);
    else this.set(key, true, value, aad);
  }

  /** Forgets the answers found in reference `aad` (a write gave it another e-mail). */
  forgetFound(aad: string): void {
    for (const [key, answer] of this.answers) if (answer.aad === aad) this.answers.delete(key);
  }

  clear(): void {
    this.answers.clear();
  }
}

/**
 * MongoDB-backed {@link ConversationStore} (collection `teams_conversations`). The AAD object id
 * is the document `_id`, so a user has exactly one reference; writes are atomic upserts, safe
 * when several Roster replicas see the same user at once.
 */
export function createConversationStore(
  connection: Connection,
  options: { zoneCacheMs?: number; zoneCacheEntries?: number; clock?: () => number } = {},
): ConversationStore {
  const schema = new Schema(
    {
      _id: String,
      email: String,
      userId: String,
      userName: String,
      botId: String,
      botName: String,
      tenantId: String,
      serviceUrl: String,
      channelId: String,
      conversationId: String,
      timeZone: String,
      updatedAt: Date,
    },
    { collection: 'teams_conversations', versionKey: false, minimize: false },
  );
  schema.index({ email: 1 });
  const Model = connection.models.TeamsConversation ?? connection.model('TeamsConversation', schema);
  const key = (aadObjectId: string) => aadObjectId.trim().toLowerCase();
  const fromDoc = (doc: Record<string, unknown> | null): TeamsConversationRef | undefined => {
    if (!doc) return undefined;
    const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
    return {
      aadObjectId: String(doc._id),
      ...(text(doc.email) ? { email: text(doc.email) } : {}),
      userId: String(doc.userId),
      ...(text(doc.userName) ? { userName: text(doc.userName) } : {}),
      botId: String(doc.botId),
      ...(text(doc.botName) ? { botName: text(doc.botName) } : {}),
      ...(text(doc.tenantId) ? { tenantId: text(doc.tenantId) } : {}),
      serviceUrl: String(doc.serviceUrl),
      channelId: String(doc.channelId),
      ...(text(doc.conversationId) ? { conversationId: text(doc.conversationId) } : {}),
      ...(text(doc.timeZone) ? { timeZone: text(doc.timeZone) } : {}),
      updatedAt: doc.updatedAt instanceof Date ? doc.updatedAt : new Date(String(doc.updatedAt)),
    };
  };

  const get = async (aadObjectId: string) => {
    if (typeof aadObjectId !== 'string' || !aadObjectId.trim()) return undefined;
    return fromDoc(await keyed(Model).findOne({ _id: key(aadObjectId) }));
  };
  const getByEmail = async (email: string) => {
    if (typeof email !== 'string' || !email.trim()) return undefined;
    return fromDoc(await keyed(Model).findOne({ email: email.trim().toLowerCase() }, { sort: { updatedAt: -1 } }));
  };

  const getMany = async (aadObjectIds: readonly string[]) => {
    const ids = [...new Set(aadObjectIds.filter((id) => typeof id === 'string' && id.trim()).map(key))];
    const found = new Map<string, TeamsConversationRef>();
    if (ids.length === 0) return found;
    for (const doc of await keyed(Model)
      .find({ _id: { $in: ids } })
      .toArray()) {
      const ref = fromDoc(doc);
      if (ref) found.set(ref.aadObjectId, ref);
    }
    return found;
  };

  // The look-ups `timeZoneOf` and `teamsUserIdsOf` make, by AAD object id and by e-mail, each
  // remembered apart, so that a write here replaces exactly the answers it changes.
  const clock = options.clock ?? Date.now;
  const ttl = options.zoneCacheMs ?? ZONE_CACHE_MS;
  const entries = options.zoneCacheEntries ?? ZONE_CACHE_ENTRIES;
  const zonesByAad = new Remembered<string>(ttl, clock, entries);
  const zonesByEmail = new Remembered<string>(ttl, clock, entries);
  const userIdsByAad = new Remembered<string>(ttl, clock, entries);
  const userIdsByEmail = new Remembered<string>(ttl, clock, entries);
  // Writes are numbered. While reads are in flight, a write notes the keys whose answers it may
  // have changed (`aad:<id>`, `email:<address>`, or `email:*` for every e-mail): a read that such
  // a write overtook may have read the old document, and is not remembered.
  let writes = 0;
  let reading = 0;
  const overtaking = new Map<string, number>();
  const overtaken = (since: number, keys: readonly string[]) => keys.some((k) => (overtaking.get(k) ?? 0) > since);
  /** Reads, then remembers what was found (`learn`, given the number of the last write before the read). */
  const remembering = async <R>(read: () => Promise<R>, learn: (found: R, since: number) => void): Promise<R> => {
    const since = writes;
    reading += 1;
    try {
      const found = await read();
      learn(found, since);
      return found;
    } finally {
      reading -= 1;
      // No read in flight: none can be overtaken, the notes are no longer needed.
      if (reading === 0) overtaking.clear();
    }
  };
  const learnByAad = (aad: string, ref: TeamsConversationRef | undefined, since: number) => {
    if (overtaken(since, [`aad:${aad}`])) return;
    zonesByAad.set(aad, Boolean(ref), ref?.timeZone);
    userIdsByAad.set(aad, Boolean(ref), ref?.userId);
  };
  const learnByEmail = (email: string, ref: TeamsConversationRef | undefined, since: number) => {
    // A write to the reference found may have given it another e-mail since.
    if (overtaken(since, ['email:*', `email:${email}`, ...(ref ? [`aad:${ref.aadObjectId}`] : [])])) return;
    zonesByEmail.set(email, Boolean(ref), ref?.timeZone, ref?.aadObjectId);
    userIdsByEmail.set(email, Boolean(ref), ref?.userId, ref?.aadObjectId);
  };
  const readByAad = (aad: string) =>
    remembering(
      () => get(aad),
      (ref, since) => learnByAad(aad, ref, since),
    );
  const readByEmail = (email: string) =>
    remembering(
      () => getByEmail(email),
      (ref, since) => learnByEmail(email, ref, since),
    );
  /** After a write to `aad`'s reference (with `email` when the write said it, `zone` and `userId` when it set them). */
  const wrote = (aad: string, email: string | undefined, zone: string | undefined, userId: string | undefined) => {
    writes += 1;
    if (reading > 0) {
      overtaking.set(`aad:${aad}`, writes);
      overtaking.set(email ? `email:${email}` : 'email:*', writes);
    }
    zonesByAad.replace(aad, zone);
    userIdsByAad.replace(aad, userId);
    // As the newest reference with its e-mail, this one is what the e-mail finds now; an e-mail
    // that found it before may find another now (its e-mail changed); a write whose e-mail is not
    // known here may have changed any e-mail's answer.
    for (const [cache, value] of [
      [zonesByEmail, zone],
      [userIdsByEmail, userId],
    ] as const) {
      if (!email) cache.clear();
      else {
        cache.forgetFound(aad);
        cache.replace(email, value, aad);
      }
    }
  };
  const zoneIn = (ref: TeamsConversationRef | undefined) => ({ found: Boolean(ref), value: ref?.timeZone });
  const aadKey = (person: { teamsAadObjectId?: string | undefined }) =>
    typeof person.teamsAadObjectId === 'string' && person.teamsAadObjectId.trim() ? key(person.teamsAadObjectId) : '';
  const emailKey = (person: { email: string }) => (typeof person.email === 'string' ? person.email.trim().toLowerCase() : '');

  return {
    async save(sighting) {
      const { aadObjectId, conversationId, ...rest } = sighting;
      const set: Record<string, unknown> = { updatedAt: new Date() };
      for (const [field, value] of Object.entries(rest))
        if (value !== undefined) set[field] = field === 'email' ? String(value).toLowerCase() : String(value);
      if (conversationId) set.conversationId = String(conversationId);
      await keyed(Model).updateOne({ _id: key(aadObjectId) }, { $set: set }, { upsert: true });
      // Without a zone in the sighting, the stored one (if any) is read again when asked.
      wrote(
        key(aadObjectId),
        typeof set.email === 'string' ? set.email : undefined,
        typeof set.timeZone === 'string' ? set.timeZone : undefined,
        typeof set.userId === 'string' ? set.userId : undefined,
      );
    },
    async setPersonalConversation(aadObjectId, conversationId) {
      await keyed(Model).updateOne({ _id: key(aadObjectId) }, { $set: { conversationId: String(conversationId), updatedAt: new Date() } });
    },
    get,
    getMany,
    getByEmail,
    async timeZoneOf(person) {
      const aad = aadKey(person);
      if (aad) {
        const byAad = zonesByAad.fresh(aad) ?? zoneIn(await readByAad(aad));
        if (byAad.found) return byAad.value;
      }
      const email = emailKey(person);
      return email ? (zonesByEmail.fresh(email) ?? zoneIn(await readByEmail(email))).value : undefined;
    },
    async teamsUserIdsOf(people) {
      const ids = new Map<string, string>();
      const byEmail: string[] = [];
      const unknownAad = new Map<string, string[]>();
      for (const person of people) {
        const email = emailKey(person);
        if (!email) continue;
        const aad = aadKey(person);
        const known = aad ? userIdsByAad.fresh(aad) : undefined;
        if (known?.found) ids.set(email, known.value!);
        else if (aad && !known) unknownAad.set(aad, [...(unknownAad.get(aad) ?? []), email]);
        else byEmail.push(email);
      }
      if (unknownAad.size > 0) {
        const aads = [...unknownAad.keys()];
        const found = await remembering(
          () => getMany(aads),
          (refs, since) => {
            for (const aad of aads) learnByAad(aad, refs.get(aad), since);
          },
        );
        for (const [aad, emails] of unknownAad) {
          const ref = found.get(aad);
          for (const email of emails) {
            if (ref) ids.set(email, ref.userId);
            else byEmail.push(email);
          }
        }
      }
      const ask = [...new Set(byEmail)].filter((email) => {
        const known = userIdsByEmail.fresh(email);
        if (known?.found) ids.set(email, known.value!);
        return !known;
      });
      if (ask.length > 0) {
        const newest = await remembering(
          async () => {
            // Each e-mail's newest reference, as `getByEmail` finds it.
            const refs = new Map<string, TeamsConversationRef>();
            for (const doc of await keyed(Model)
              .find({ email: { $in: ask } }, { sort: { updatedAt: -1 } })
              .toArray()) {
              const ref = fromDoc(doc);
              if (ref?.email && !refs.has(ref.email)) refs.set(ref.email, ref);
            }
            return refs;
          },
          (refs, since) => {
            for (const email of ask) learnByEmail(email, refs.get(email), since);
          },
        );
        for (const [email, ref] of newest) ids.set(email, ref.userId);
      }
      return ids;
    },
    async remove(aadObjectId) {
      const result = await keyed(Model).deleteOne({ _id: key(aadObjectId) });
      wrote(key(aadObjectId), undefined, undefined, undefined);
      return result.deletedCount === 1;
    },
    count() {
      return keyed(Model).countDocuments({});
    },
    async ensureIndexes() {
      await Model.init();
    },
  };
}
