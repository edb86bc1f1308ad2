import { Schema } from 'mongoose';
import { openDatabase } from '../../src/store/database.js';
import { startEmbeddedMongo } from '../../src/store/embedded/embedded-mongo.js';
import { createAgentRepository } from '../../src/store/agent-store.js';
import { connectTestDb, openTestDb, testMongoUri, uniqueDbName } from '../helpers/db.js';
import { agentRecord } from '../helpers/harness.js';
import { silentLogger } from '../helpers/logger.js';

describe('database over the wire (embedded MongoDB-compatible server)', () => {
  it('writes and reads documents through mongoose over TCP', async () => {
    const db = await openTestDb();
    try {
      const Note = db.connection.model('Note', new Schema({ key: { type: String, required: true, unique: true }, body: String }));
      await Note.init();
      await Note.create({ key: 'a', body: 'hello' });
      const found = await Note.findOne({ key: 'a' }).lean();
      expect(found?.body).toBe('hello');
      expect(testMongoUri()).toMatch(/^mongodb:\/\/127\.0\.0\.1:\d+/);
    } finally {
      await db.close();
    }
  });

  it('enforces unique indexes, which Roster relies on for exactly-once', async () => {
    const db = await openTestDb();
    try {
      const Key = db.connection.model('Key', new Schema({ key: { type: String, unique: true } }));
      await Key.init();
      await Key.create({ key: 'once' });
      await expect(Key.create({ key: 'once' })).rejects.toMatchObject({ code: 11000 });
      expect(await Key.countDocuments()).toBe(1);
    } finally {
      await db.close();
    }
  });

  it('applies conditional updates atomically: one of many racing writers wins', async () => {
    const db = await openTestDb();
    try {
      const Run = db.connection.model('Run', new Schema({ _id: String, status: String, winner: String }));
      await Run.create({ _id: 'r1', status: 'pending' });
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          Run.updateOne({ _id: 'r1', status: 'pending' }, { $set: { status: 'approved', winner: `p${i}` } }),
        ),
      );
      expect(results.filter((r) => r.modifiedCount === 1)).toHaveLength(1);
    } finally {
      await db.close();
    }
  });

  it('reports MongoDB 6.0 (wire version 17) so the Node driver 7 accepts it', async () => {
    const db = await openTestDb();
    try {
      const hello = await db.connection.db!.admin().command({ isMaster: 1 });
      expect(hello.maxWireVersion).toBe(17);
    } finally {
      await db.close();
    }
  });

  it("a test's own connection, like Roster's, sends no create: a collection comes with its first index or write, so none races a write", async () => {
    // The embedded server's `create` is not atomic with a concurrent first insert into the same
    // collection (see connectTestDb): a repository made just before an insert must not send one.
    const connection = await connectTestDb(uniqueDbName('create'), { monitorCommands: true });
    const commands: string[] = [];
    connection.getClient().on('commandStarted', (e) => commands.push(e.commandName));
    try {
      const agents = createAgentRepository(connection);
      await agents.ensureIndexes();
      const agent = agentRecord();
      await agents.insert(agent);
      expect(await agents.get(agent.id)).toMatchObject({ id: agent.id, sponsors: agent.sponsors });
      expect(commands).toContain('insert');
      expect(commands).not.toContain('create');
    } finally {
      await connection.dropDatabase().catch(() => undefined);
      await connection.close();
    }
  });

  it('openDatabase pings and closes a connection to a given URI', async () => {
    const db = await openDatabase({ uri: testMongoUri(), dataDir: '/nonexistent', dbName: uniqueDbName() }, silentLogger());
    expect(await db.ping()).toBe(true);
    expect(db.embedded).toBeUndefined();
    await db.close();
    expect(await db.ping()).toBe(false);
  });

  it('starts and stops its own embedded server, leaving no Java process', async () => {
    const server = await startEmbeddedMongo({ backend: 'memory', onProgress: () => undefined });
    expect(server.pid).toBeGreaterThan(0);
    expect(() => process.kill(server.pid, 0)).not.toThrow();
    await server.stop();
    expect(() => process.kill(server.pid, 0)).toThrow();
  });
});
