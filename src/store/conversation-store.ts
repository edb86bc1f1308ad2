import { Schema, type Connection } from 'mongoose';

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
  /** Forgets a user (the app was removed from their personal scope). */
  remove(aadObjectId: string): Promise<boolean>;
  count(): Promise<number>;
  ensureIndexes(): Promise<void>;
}

/** How long a zone read from the store stands in this process (see {@link ConversationStore.timeZoneOf}). */
const ZONE_CACHE_MS = 10 * 60_000;
/** Most answers remembered per look-up (by AAD id, by e-mail); the oldest are dropped first. */
const ZONE_CACHE_ENTRIES = 10_000;

/** What one look-up found: whether there is a reference (`aad`, its AAD object id), and its zone. */
interface ZoneAnswer {
  found: boolean;
  aad?: string | undefined;
  zone?: string | undefined;
  at: number;
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
    return fromDoc(await Model.collection.findOne({ _id: key(aadObjectId) as never }));
  };
  const getByEmail = async (email: string) => {
    if (typeof email !== 'string' || !email.trim()) return undefined;
    return fromDoc(await Model.collection.findOne({ email: email.trim().toLowerCase() }, { sort: { updatedAt: -1 } }));
  };

  // The two look-ups `timeZoneOf` makes, each remembered apart, so that a write here replaces
  // exactly the answers it changes. `writes` counts this store's finished writes: a read that one
  // overtook may have read the old document, and is not remembered. Each holds at most
  // `zoneCacheEntries` answers (people come and go with the directory), the oldest dropped first.
  const clock = options.clock ?? Date.now;
  const zoneCacheMs = options.zoneCacheMs ?? ZONE_CACHE_MS;
  const zoneCacheEntries = options.zoneCacheEntries ?? ZONE_CACHE_ENTRIES;
  const zonesByAad = new Map<string, ZoneAnswer>();
  const zonesByEmail = new Map<string, ZoneAnswer>();
  let writes = 0;
  const remember = (cache: Map<string, ZoneAnswer>, id: string, answer: ZoneAnswer) => {
    cache.delete(id);
    cache.set(id, answer);
    while (cache.size > zoneCacheEntries) cache.delete(cache.keys().next().value!);
  };
  const remembered = async (cache: Map<string, ZoneAnswer>, id: string, read: () => Promise<TeamsConversationRef | undefined>) => {
    const cached = cache.get(id);
    if (cached && clock() - cached.at < zoneCacheMs) return cached;
    const before = writes;
    const ref = await read();
    const answer: ZoneAnswer = { found: Boolean(ref), aad: ref?.aadObjectId, zone: ref?.timeZone, at: clock() };
    if (writes === before) remember(cache, id, answer);
    return answer;
  };
  /** After a write to `aad`'s reference (with `email` when the write said it, `zone` when it set one). */
  const wrote = (aad: string, email: string | undefined, zone: string | undefined) => {
    writes += 1;
    const answer: ZoneAnswer | undefined = zone ? { found: true, aad, zone, at: clock() } : undefined;
    if (answer) remember(zonesByAad, aad, answer);
    else zonesByAad.delete(aad);
    // As the newest reference with its e-mail, this one is what the e-mail finds now; an e-mail
    // that found it before may find another now (its e-mail changed); a write whose e-mail is not
    // known here may have changed any e-mail's answer.
    if (!email) return zonesByEmail.clear();
    for (const [other, found] of zonesByEmail) if (found.aad === aad) zonesByEmail.delete(other);
    if (answer) remember(zonesByEmail, email, answer);
    else zonesByEmail.delete(email);
  };

  return {
    async save(sighting) {
      const { aadObjectId, conversationId, ...rest } = sighting;
      const set: Record<string, unknown> = { updatedAt: new Date() };
      for (const [field, value] of Object.entries(rest))
        if (value !== undefined) set[field] = field === 'email' ? String(value).toLowerCase() : String(value);
      if (conversationId) set.conversationId = String(conversationId);
      await Model.collection.updateOne({ _id: key(aadObjectId) as never }, { $set: set }, { upsert: true });
      // Without a zone in the sighting, the stored one (if any) is read again when asked.
      wrote(
        key(aadObjectId),
        typeof set.email === 'string' ? set.email : undefined,
        typeof set.timeZone === 'string' ? set.timeZone : undefined,
      );
    },
    async setPersonalConversation(aadObjectId, conversationId) {
      await Model.collection.updateOne(
        { _id: key(aadObjectId) as never },
        { $set: { conversationId: String(conversationId), updatedAt: new Date() } },
      );
    },
    get,
    async getMany(aadObjectIds) {
      const ids = [...new Set(aadObjectIds.filter((id) => typeof id === 'string' && id.trim()).map(key))];
      const found = new Map<string, TeamsConversationRef>();
      if (ids.length === 0) return found;
      for (const doc of await Model.collection.find({ _id: { $in: ids as never[] } }).toArray()) {
        const ref = fromDoc(doc);
        if (ref) found.set(ref.aadObjectId, ref);
      }
      return found;
    },
    getByEmail,
    async timeZoneOf(person) {
      const aad = typeof person.teamsAadObjectId === 'string' && person.teamsAadObjectId.trim() ? key(person.teamsAadObjectId) : '';
      if (aad) {
        const byAad = await remembered(zonesByAad, aad, () => get(aad));
        if (byAad.found) return byAad.zone;
      }
      const email = typeof person.email === 'string' ? person.email.trim().toLowerCase() : '';
      return email ? (await remembered(zonesByEmail, email, () => getByEmail(email))).zone : undefined;
    },
    async remove(aadObjectId) {
      const result = await Model.collection.deleteOne({ _id: key(aadObjectId) as never });
      wrote(key(aadObjectId), undefined, undefined);
      return result.deletedCount === 1;
    },
    count() {
      return Model.collection.countDocuments({});
    },
    async ensureIndexes() {
      await Model.init();
    },
  };
}
