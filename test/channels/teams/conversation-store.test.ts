import { createConversationStore, type ConversationStore } from '../../../src/store/conversation-store.js';
import { openTestDb, type TestDb } from '../../helpers/db.js';

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
});
