import mongoose, { type Connection } from 'mongoose';
import { createConversationStore, type ConversationStore } from '../../../src/store/conversation-store.js';
import { openTestDb, testMongoUri, type TestDb } from '../../helpers/db.js';

const aad = '6C45046D-121A-4C1B-BDF9-D30B47C1CC50';
const base = { userId: '29:tom', botId: '28:roster', serviceUrl: 'https://smba.example/emea/', channelId: 'msteams', tenantId: 'tenant-1' };

describe('conversation references (MongoDB)', () => {
  let db: TestDb;
  let store: ConversationStore;
  beforeEach(async () => {
    db = await openTestDb('conv');
    store = createConversationStore(db.connection);
    await store.ensureIndexes();
  });
  afterEach(async () => {
    await db.close();
  });

  it('keeps one reference per AAD object id, whatever its case, and upserts it', async () => {
    await store.save({ ...base, aadObjectId: aad, email: 'tom.becker@brightwater.example', conversationId: 'a:personal-1' });
    await store.save({ ...base, aadObjectId: aad.toLowerCase(), serviceUrl: 'https://smba.example/amer/', conversationId: 'a:personal-1' });
    expect(await store.count()).toBe(1);
    expect(await store.get(aad)).toMatchObject({
      aadObjectId: aad.toLowerCase(),
      serviceUrl: 'https://smba.example/amer/',
      conversationId: 'a:personal-1',
      email: 'tom.becker@brightwater.example',
    });
    expect((await store.getByEmail('tom.becker@brightwater.example'))?.aadObjectId).toBe(aad.toLowerCase());
  });

  it('never lets a team sighting replace the personal conversation', async () => {
    await store.save({ ...base, aadObjectId: aad, conversationId: 'a:personal-1' });
    await store.save({ ...base, aadObjectId: aad, userName: 'Tom Becker' });
    expect(await store.get(aad)).toMatchObject({ conversationId: 'a:personal-1', userName: 'Tom Becker' });
  });

  it('remembers a created 1:1 conversation and forgets a user on removal', async () => {
    await store.save({ ...base, aadObjectId: aad });
    expect((await store.get(aad))?.conversationId).toBeUndefined();
    await store.setPersonalConversation(aad, 'a:created-1');
    expect((await store.get(aad))?.conversationId).toBe('a:created-1');
    expect(await store.remove(aad)).toBe(true);
    expect(await store.get(aad)).toBeUndefined();
    expect(await store.remove(aad)).toBe(false);
  });

  it('is safe when many replicas record the same user at once', async () => {
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.save({ ...base, aadObjectId: aad, userName: `Tom ${i}` })));
    expect(await store.count()).toBe(1);
  });

  it('ignores look-ups that are not strings', async () => {
    await store.save({ ...base, aadObjectId: aad, email: 'tom.becker@brightwater.example' });
    expect(await store.get({ $ne: '' } as unknown as string)).toBeUndefined();
    expect(await store.getByEmail({ $ne: '' } as unknown as string)).toBeUndefined();
    expect(await store.get('')).toBeUndefined();
  });

  describe('time zones, as the working-hours check asks for them', () => {
    const tom = { teamsAadObjectId: aad, email: 'tom.becker@brightwater.example' };
    const noTeams = { email: 'maya.chen@brightwater.example' };
    let monitored: Connection;
    let reads: number;
    let now: number;
    let zones: ConversationStore;
    beforeEach(async () => {
      // The store on a connection of its own, whose reads of the references are counted.
      monitored = await mongoose
        .createConnection(testMongoUri(), { dbName: db.dbName, monitorCommands: true, autoCreate: false })
        .asPromise();
      reads = 0;
      monitored.getClient().on('commandStarted', (e) => {
        if (e.commandName === 'find' && e.command.find === 'teams_conversations') reads += 1;
      });
      now = Date.now();
      zones = createConversationStore(monitored, { clock: () => now });
    });
    afterEach(async () => {
      await monitored.close();
    });

    it('reads a person once for many questions, known or not, until ten minutes have passed', async () => {
      await store.save({ ...base, aadObjectId: aad, email: tom.email, timeZone: 'Asia/Tokyo' });
      for (let i = 0; i < 25; i++) {
        expect(await zones.timeZoneOf(tom)).toBe('Asia/Tokyo');
        expect(await zones.timeZoneOf(noTeams)).toBeUndefined();
      }
      // Tom by his AAD id; Maya, whom Teams never saw, by her e-mail.
      expect(reads).toBe(2);

      // Another replica heard from Tom's client in another zone: seen once the answer is old.
      await store.save({ ...base, aadObjectId: aad, timeZone: 'America/Chicago' });
      expect(await zones.timeZoneOf(tom)).toBe('Asia/Tokyo');
      now += 10 * 60_000;
      expect(await zones.timeZoneOf(tom)).toBe('America/Chicago');
      expect(reads).toBe(3);
    });

    it('answers at once with the zone a sighting stored here reported, and reads again after one without a zone', async () => {
      expect(await zones.timeZoneOf(tom)).toBeUndefined();
      expect(reads).toBe(2); // no reference by AAD id, none by e-mail
      await zones.save({ ...base, aadObjectId: aad, email: tom.email, timeZone: 'Europe/Berlin' });
      expect(await zones.timeZoneOf(tom)).toBe('Europe/Berlin');
      // Found by e-mail too (a directory entry without the AAD id), without reading.
      expect(await zones.timeZoneOf({ email: tom.email })).toBe('Europe/Berlin');
      expect(reads).toBe(2);

      // A sighting without a zone (a client that did not say) keeps the stored one: read again.
      await zones.save({ ...base, aadObjectId: aad, userName: 'Tom Becker' });
      expect(await zones.timeZoneOf(tom)).toBe('Europe/Berlin');
      expect(reads).toBe(3);

      // Removed (the app uninstalled): the zone is no longer Teams' to tell.
      await zones.remove(aad);
      expect(await zones.timeZoneOf(tom)).toBeUndefined();
    });

    it('forgets what an e-mail found once a sighting stored here gives that reference another e-mail', async () => {
      await store.save({ ...base, aadObjectId: aad, email: tom.email, timeZone: 'Asia/Tokyo' });
      expect(await zones.timeZoneOf({ email: tom.email })).toBe('Asia/Tokyo');
      // His address changed: the old one no longer finds his reference, nor its zone.
      await zones.save({ ...base, aadObjectId: aad, email: 'tom.becker@riverside.example' });
      expect(await zones.timeZoneOf({ email: tom.email })).toBeUndefined();
      expect(await zones.timeZoneOf({ email: 'tom.becker@riverside.example' })).toBe('Asia/Tokyo');
    });

    it('remembers a bounded number of people, forgetting the longest-remembered first', async () => {
      const few = createConversationStore(monitored, { clock: () => now, zoneCacheEntries: 2 });
      await store.save({ ...base, aadObjectId: aad, email: tom.email, timeZone: 'Asia/Tokyo' });
      const someone = (i: number) => ({ email: `person.${i}@brightwater.example` });
      expect(await few.timeZoneOf(someone(1))).toBeUndefined();
      expect(await few.timeZoneOf(someone(2))).toBeUndefined();
      expect(reads).toBe(2);
      // Asked again, still remembered; a third person makes room by forgetting the first.
      expect(await few.timeZoneOf(someone(1))).toBeUndefined();
      expect(reads).toBe(2);
      expect(await few.timeZoneOf(someone(3))).toBeUndefined();
      expect(reads).toBe(3);
      expect(await few.timeZoneOf(someone(2))).toBeUndefined();
      expect(reads).toBe(3);
      expect(await few.timeZoneOf(someone(1))).toBeUndefined();
      expect(reads).toBe(4);
      // By AAD id the same bound holds, and the answer is still right once read again.
      expect(await few.timeZoneOf(tom)).toBe('Asia/Tokyo');
      expect(reads).toBe(5);
    });

    it("names people's Teams user ids for a card's refresh, reading those not remembered together, found or not", async () => {
      const noah = { teamsAadObjectId: '6839F4B1-628B-4121-BFC7-DB544ED01AEC', email: 'noah.fischer@brightwater.example' };
      const liam = { teamsAadObjectId: 'f73be47a-3355-4ebf-9a4b-ed282e9beff4', email: 'liam.oneill@brightwater.example' };
      // Known to Teams by e-mail only: a directory entry without the AAD id.
      const kai = { email: 'Kai.Tanaka@brightwater.example' };
      await store.save({ ...base, aadObjectId: noah.teamsAadObjectId, userId: '29:noah', email: noah.email });
      await store.save({ ...base, aadObjectId: 'aad-of-kai', userId: '29:kai', email: 'kai.tanaka@brightwater.example' });
      const ids = await zones.teamsUserIdsOf([noah, liam, kai, noTeams]);
      expect(Object.fromEntries(ids)).toEqual({ [noah.email]: '29:noah', 'kai.tanaka@brightwater.example': '29:kai' });
      // One read by AAD ids (Noah, Liam), one by e-mails (Liam, Kai, Maya).
      expect(reads).toBe(2);
      for (let i = 0; i < 25; i++) expect(await zones.teamsUserIdsOf([noah, liam, kai, noTeams])).toEqual(ids);
      // What the user id read taught about the zone is remembered too.
      expect(await zones.timeZoneOf(noah)).toBeUndefined();
      expect(reads).toBe(2);

      // Liam opens Roster in Teams on this replica: his id at once, without reading.
      await zones.save({ ...base, aadObjectId: liam.teamsAadObjectId, userId: '29:liam', email: liam.email });
      expect((await zones.teamsUserIdsOf([noah, liam])).get(liam.email)).toBe('29:liam');
      expect(reads).toBe(2);

      // Another replica heard from Noah under another id: seen once the answer is old.
      await store.save({ ...base, aadObjectId: noah.teamsAadObjectId, userId: '29:noah-2', email: noah.email });
      expect((await zones.teamsUserIdsOf([noah])).get(noah.email)).toBe('29:noah');
      now += 10 * 60_000;
      expect((await zones.teamsUserIdsOf([noah])).get(noah.email)).toBe('29:noah-2');
      expect(reads).toBe(3);

      // Removed here (the app uninstalled): no longer named.
      await zones.remove(noah.teamsAadObjectId);
      expect((await zones.teamsUserIdsOf([noah])).has(noah.email)).toBe(false);
    });

    /** Holds the next reads of references once the database has answered, until `release`; `restore` ends the hold. */
    const holdReads = () => {
      const collection = monitored.models.TeamsConversation!.collection;
      const find = collection.find.bind(collection);
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let found!: () => void;
      const read = new Promise<void>((resolve) => (found = resolve));
      collection.find = ((...args: Parameters<typeof find>) => {
        const cursor = find(...args);
        const toArray = cursor.toArray.bind(cursor);
        cursor.toArray = async () => {
          const docs = await toArray();
          found();
          await held;
          return docs;
        };
        return cursor;
      }) as typeof collection.find;
      return { read, release, restore: () => (collection.find = find) };
    };

    it('does not remember a read that a write to the same person overtook', async () => {
      await store.save({ ...base, aadObjectId: aad, userId: '29:tom-old', email: tom.email });
      // The read finds the old reference in the database, and its answer comes back only once a
      // sighting stored through this store has changed Tom's id.
      const hold = holdReads();
      const asked = zones.teamsUserIdsOf([tom]);
      await hold.read;
      await zones.save({ ...base, aadObjectId: aad, userId: '29:tom-new', email: tom.email });
      hold.release();
      expect((await asked).get(tom.email)).toBe('29:tom-old');
      hold.restore();
      expect((await zones.teamsUserIdsOf([tom])).get(tom.email)).toBe('29:tom-new');
    });

    it('does not remember what an e-mail found in a reference that a write overtaking the read gave another e-mail', async () => {
      await store.save({ ...base, aadObjectId: aad, userId: '29:tom', email: tom.email });
      // Asked by his old address (a directory entry without the AAD id): the read finds his
      // reference as it was, and answers only once a sighting stored here has moved it to his new address.
      const hold = holdReads();
      const asked = zones.teamsUserIdsOf([{ email: tom.email }]);
      await hold.read;
      await zones.save({ ...base, aadObjectId: aad, userId: '29:tom', email: 'tom.becker@riverside.example' });
      hold.release();
      expect((await asked).get(tom.email)).toBe('29:tom');
      hold.restore();
      // The old address no longer finds him: his card's refresh no longer names him by it.
      expect((await zones.teamsUserIdsOf([{ email: tom.email }])).has(tom.email)).toBe(false);
      expect(await zones.timeZoneOf({ email: tom.email })).toBeUndefined();
      expect((await zones.teamsUserIdsOf([{ email: 'tom.becker@riverside.example' }])).get('tom.becker@riverside.example')).toBe('29:tom');
    });
  });
});
