import { Binary, Decimal128, Long, MaxKey, MinKey, ObjectId, type CommandStartedEvent } from 'mongodb';
import type { Connection } from 'mongoose';
import { connectTestDb, isBackgroundCommand, monitoredUri, uniqueDbName } from '../helpers/db.js';
import { DbProxy, type WireCommand } from '../helpers/db-proxy.js';

/*
 * The bench counts Roster's database commands in a proxy in front of the database, from the bytes
 * Roster sends (bench/db-count-process.ts), instead of with the driver's command monitoring in
 * Roster's own process. Both must count the same commands of the same kinds, background commands
 * left out alike.
 */

const kind = (e: WireCommand) => {
  const collection = e.command[e.commandName];
  return `${e.commandName} ${typeof collection === 'string' ? collection : ''}`.trim();
};

describe('commands read from the wire', () => {
  let proxy: DbProxy;
  let conn: Connection;
  const dbName = uniqueDbName('command_count');
  const driver: CommandStartedEvent[] = [];
  const wire: WireCommand[] = [];

  beforeAll(async () => {
    proxy = await DbProxy.start();
    proxy.onCommand((c) => wire.push(c));
    conn = await connectTestDb(dbName, {}, monitoredUri(proxy.uri));
    conn.getClient().on('commandStarted', (e) => driver.push(e));
  });
  afterAll(async () => {
    await conn?.dropDatabase().catch(() => undefined);
    await conn?.close();
    await proxy?.close();
  });

  it('counts every command the driver reports, of the same kinds, and leaves out the same background ones', async () => {
    const db = conn.db!;
    const items = db.collection('items');
    await items.insertMany(
      Array.from({ length: 2000 }, (_, i) => ({ _id: `i${i}` as never, n: i, tags: ['a', 'b'], nested: { deep: { x: i } } })),
    );
    await db.collection('holders').insertOne({ _id: 'h1' as never, outbox: [{ due: new Date(0) }] });
    // Every BSON type in a filter, with and without (last) the field the outbox scan is recognised by.
    const everyType = {
      re: /x+/i,
      long: Long.fromNumber(2 ** 40),
      dec: Decimal128.fromString('1.5'),
      bin: new Binary(Buffer.from('abc')),
      none: null,
      oid: new ObjectId(),
      when: new Date(),
      yes: true,
      dbl: 1.5,
      int: 3,
      min: new MinKey(),
      max: new MaxKey(),
      either: { $in: ['a', 'b'] },
    };
    await db.collection('holders').find(everyType).toArray();
    await db
      .collection('holders')
      .find({ ...everyType, 'outbox.due': { $lte: new Date() } })
      .toArray();
    await db
      .collection('holders')
      .find({ 'outbox.due': { $lte: new Date() } })
      .toArray();
    // A cursor read in batches (find, getMore) and left early (killCursors).
    const cursor = items.find({ n: { $gte: 0 } }, { batchSize: 10 });
    for (let i = 0; i < 25; i++) await cursor.next();
    await cursor.close();
    await items.aggregate([{ $match: { n: { $lt: 100 } } }, { $group: { _id: null, n: { $sum: 1 } } }]).toArray();
    await items.countDocuments({ n: { $lt: 10 } });
    await items.updateMany({ n: { $lt: 10 } }, { $set: { small: true } });
    await items.bulkWrite([
      { insertOne: { document: { _id: 'x1' as never, n: -1 } } },
      { updateOne: { filter: { _id: 'i1' as never }, update: { $inc: { n: 1 } }, upsert: true } },
      { deleteOne: { filter: { _id: 'i2' as never } } },
    ]);
    await items.findOneAndUpdate({ _id: 'i3' as never }, { $set: { n: 3 } });
    await items.createIndex({ n: 1 });
    await items.distinct('n', { n: { $lt: 5 } });
    await items.deleteMany({ n: { $gt: 1500 } });
    await db.collection('agendaJobs').findOne({});

    const driverKinds = driver
      .filter((e) => !isBackgroundCommand(e))
      .map((e) => kind({ commandName: e.commandName, command: e.command }))
      .sort();
    const wireKinds = wire
      .filter((c) => !isBackgroundCommand(c))
      .map(kind)
      .sort();
    expect(wireKinds).toEqual(driverKinds);
    expect(wireKinds).toEqual(
      expect.arrayContaining([
        'insert items',
        'find holders',
        'getMore',
        'killCursors items',
        'findAndModify items',
        'createIndexes items',
      ]),
    );
    // The outbox scans (the finds on holders by 'outbox.due') and Agenda's read are background on both sides.
    expect(wireKinds.filter((k) => k === 'find holders')).toHaveLength(1);
    const background = wire.filter((c) => isBackgroundCommand(c)).map(kind);
    expect(background.filter((k) => k === 'find holders')).toHaveLength(2);
    expect(background).toContain('find agendaJobs');
  });
});
