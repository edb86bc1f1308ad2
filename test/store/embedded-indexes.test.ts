import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mongoose, { type mongo } from 'mongoose';
import { startEmbeddedMongo, type EmbeddedMongo } from '../../src/store/embedded/embedded-mongo.js';
import { openTestDb, type TestDb } from '../helpers/db.js';

type Db = mongo.Db;

/*
 * The embedded server (tools/embedded-mongo) answers filters that pin a unique index's fields from
 * that index and matches large `$in` lists with a hash set. These tests prove both structurally:
 * the server counts the documents its matcher examines (`rosterEmbeddedStats`), and results must
 * equal what the filter means, computed here in plain TypeScript.
 */

async function examined(db: Db, collection: string): Promise<number> {
  const reply = await db.command({ rosterEmbeddedStats: collection });
  return Number(reply.examined);
}

/** Documents examined by one operation. */
async function examinedBy<T>(db: Db, collection: string, work: () => Promise<T>): Promise<{ value: T; examined: number }> {
  const before = await examined(db, collection);
  const value = await work();
  return { value, examined: (await examined(db, collection)) - before };
}

const N = 2000;
const ids = Array.from({ length: N }, (_, i) => `agt_${String(i).padStart(5, '0')}`);

async function seedSchedules(db: Db): Promise<void> {
  const now = Date.UTC(2030, 0, 10);
  await db.collection('schedule').insertMany(
    // Inserted in a shuffled order so that index order and insertion order differ.
    ids
      .map((id, i) => ({ _id: id as never, nextAt: new Date(now + (i % 2 === 0 ? -1 : 1) * 3_600_000), n: i }))
      .sort((a, b) => ((a.n * 7919) % N) - ((b.n * 7919) % N)),
  );
}

function suite(label: string, open: () => Promise<{ db: Db; close(): Promise<void> }>) {
  describe(`embedded server index use (${label})`, () => {
    let db: Db;
    let close: () => Promise<void>;
    beforeAll(async () => {
      ({ db, close } = await open());
      await seedSchedules(db);
    });
    afterAll(async () => close());

    it('answers an _id filter with other conditions from the _id index, with the same outcome', async () => {
      const now = new Date(Date.UTC(2030, 0, 10));
      const due = await examinedBy(db, 'schedule', () =>
        db
          .collection('schedule')
          .updateOne({ _id: ids[10] as never, nextAt: { $lte: now } }, { $set: { nextAt: new Date(now.getTime() + 86_400_000) } }),
      );
      expect(due.value.modifiedCount).toBe(1);
      expect(due.examined).toBeLessThanOrEqual(1);
      const notDue = await examinedBy(db, 'schedule', () =>
        db.collection('schedule').updateOne({ _id: ids[11] as never, nextAt: { $lte: now } }, { $set: { nextAt: now } }),
      );
      expect(notDue.value.matchedCount).toBe(0);
      expect(notDue.examined).toBeLessThanOrEqual(1);
      // Claimed once: the same claim again finds nothing due.
      const again = await db.collection('schedule').updateOne({ _id: ids[10] as never, nextAt: { $lte: now } }, { $set: { nextAt: now } });
      expect(again.matchedCount).toBe(0);
    });

    it('answers an _id $in filter with other conditions from the index, in insertion order', async () => {
      const wanted = ids.filter((_, i) => i % 10 === 0).reverse();
      const all = await db.collection('schedule').find({}).toArray();
      const expected = all.filter((d) => wanted.includes(String(d._id)) && Number(d.n) % 4 === 0).map((d) => d._id);
      const found = await examinedBy(db, 'schedule', () =>
        db
          .collection('schedule')
          .find({ _id: { $in: wanted as never[] }, n: { $mod: [4, 0] } })
          .toArray(),
      );
      expect(found.value.map((d) => d._id)).toEqual(expected);
      expect(expected.length).toBeGreaterThan(10);
      expect(found.examined).toBeLessThanOrEqual(wanted.length);
      const deleted = await examinedBy(db, 'schedule', () =>
        db.collection('schedule').deleteMany({ _id: { $in: wanted as never[] }, n: { $lt: 0 } }),
      );
      expect(deleted.value.deletedCount).toBe(0);
      expect(deleted.examined).toBeLessThanOrEqual(wanted.length);
    });

    it('answers $in filters on a compound unique index from the index', async () => {
      const rollups = db.collection('rollups');
      await rollups.createIndex({ agentId: 1, day: 1 }, { unique: true });
      const days = Array.from({ length: 30 }, (_, d) => new Date(Date.UTC(2030, 0, 1 + d)));
      await rollups.insertMany(ids.slice(0, 100).flatMap((agentId, a) => days.map((day, d) => ({ agentId, day, count: a * 100 + d }))));
      const agents = ids.slice(50, 60);
      const window = days.slice(20);
      const found = await examinedBy(db, 'rollups', () =>
        rollups.find({ agentId: { $in: agents }, day: { $in: window }, count: { $gte: 0 } }, { projection: { _id: 0 } }).toArray(),
      );
      expect(found.value).toHaveLength(agents.length * window.length);
      expect(new Set(found.value.map((r) => `${r.agentId}/${(r.day as Date).toISOString()}`)).size).toBe(found.value.length);
      expect(found.examined).toBeLessThanOrEqual(agents.length * window.length);
      // The order is the insertion order a scan gives.
      expect(found.value.map((r) => r.count)).toEqual([...found.value.map((r) => r.count as number)].sort((a, b) => a - b));
    });

    it('matches a large $in list on a field without an index exactly as the filter means', async () => {
      const items = db.collection('items');
      const values = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l'];
      await items.insertMany([
        { _id: 1 as never, tag: 'a' },
        { _id: 2 as never, tag: 'z' },
        { _id: 3 as never, tag: ['z', 'c'] },
        { _id: 4 as never },
        { _id: 5 as never, tag: null },
        { _id: 6 as never, tag: 7 },
        { _id: 7 as never, tag: { x: 'a' } },
        { _id: 8 as never, tag: 'l', other: 1 },
        { _id: 9 as never, tag: 'l', other: 2 },
      ]);
      const byIds = async (filter: object) => (await items.find(filter).toArray()).map((d) => d._id);
      expect(await byIds({ tag: { $in: values } })).toEqual([1, 3, 8, 9]);
      expect(await byIds({ tag: { $in: values }, other: 2 })).toEqual([9]);
      expect(await byIds({ tag: { $in: [...values, null] } })).toEqual([1, 3, 4, 5, 8, 9]);
      expect(await byIds({ tag: { $in: [...values, 7] } })).toEqual([1, 3, 6, 8, 9]);
      expect(await byIds({ tag: { $nin: values } })).toEqual([2, 4, 5, 6, 7]);
    });

    it('matches a large $in list with a hash set: the matcher walks no list values for plain fields', async () => {
      const big = db.collection('big');
      await big.insertMany(ids.map((id, i) => ({ ref: id, n: i })));
      const large = [...ids, ...ids.map((id) => `${id}-absent`)];
      const before = await db.command({ rosterEmbeddedStats: 'big' });
      const found = await big.find({ ref: { $in: large }, n: { $gte: 0 } }, { projection: { _id: 1 } }).toArray();
      const after = await db.command({ rosterEmbeddedStats: 'big' });
      expect(found).toHaveLength(N);
      expect(Number(after.examined) - Number(before.examined)).toBe(N);
      // Walking the list would be 2,000 documents × 4,000 values.
      expect(Number(after.inValuesWalked) - Number(before.inValuesWalked)).toBe(0);
      // An array field still goes through the server's own matcher, list and all.
      await big.insertOne({ ref: ['x', ids[0]], n: -1 });
      const withArray = await big.find({ ref: { $in: large }, n: { $lt: 0 } }).toArray();
      expect(withArray).toHaveLength(1);
      expect(Number((await db.command({ rosterEmbeddedStats: 'big' })).inValuesWalked) - Number(after.inValuesWalked)).toBe(large.length);
    });
  });
}

suite('memory, as in tests', async () => {
  const testDb: TestDb = await openTestDb('idx');
  return { db: testDb.connection.db!, close: () => testDb.close() };
});

suite('h2, as in local mode', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'roster-h2-'));
  const server: EmbeddedMongo = await startEmbeddedMongo({ backend: 'h2', file: path.join(dir, 'roster.mv'), onProgress: () => undefined });
  const connection = await mongoose.createConnection(server.uri, { dbName: 'idx', autoCreate: false }).asPromise();
  return {
    db: connection.db!,
    async close() {
      await connection.close();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
