import { Schema } from 'mongoose';
import { openDatabase } from '../../src/store/database.js';
import { startEmbeddedMongo } from '../../src/store/embedded/embedded-mongo.js';
import { openTestDb, testMongoUri, uniqueDbName } from '../helpers/db.js';
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
