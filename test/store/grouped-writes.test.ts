import { mongo } from 'mongoose';
import { groupedWrites } from '../../src/store/grouped-writes.js';
import type { KeyedDoc } from '../../src/store/keyed.js';
import { createRunRepository } from '../../src/store/run-store.js';
import { connectTestDb, openTestDb, type TestDb } from '../helpers/db.js';
import { completedRunRecord } from '../helpers/harness.js';
import { asAgentId } from '../helpers/ids.js';

/*
 * Runs started and cards claimed at once (50 agents asking at once, issue 19) are written as a
 * group commit (src/store/grouped-writes.ts): the writes asked for while one is being written go
 * together in one command, and each caller still gets its own answer.
 */

const at = (n: number) => new Date(Date.UTC(2031, 0, 1) + n * 1000).toISOString();
const run = (n: number) => completedRunRecord(`run_group_${n}`, asAgentId('agt_group'), at(n));

describe('writes asked for at once', () => {
  let db: TestDb;
  beforeAll(async () => {
    db = await openTestDb('grouped_writes');
  });
  afterAll(async () => db?.close());

  it('go in one command while another is being written; each run started once, each card claimed once', async () => {
    const monitored = await connectTestDb(db.dbName, { monitorCommands: true });
    try {
      const commands: Array<{ name: string; collection: string; ops: number }> = [];
      monitored.getClient().on('commandStarted', (e) => {
        const ops = (e.command.documents ?? e.command.updates) as unknown[] | undefined;
        if (ops) commands.push({ name: e.commandName, collection: String(e.command[e.commandName]), ops: ops.length });
      });
      const runs = createRunRepository(monitored);
      await runs.ensureIndexes();
      expect(await runs.create(run(0))).toBe(true);
      commands.length = 0;

      // Twenty runs at once, one of them started already: stored once each, the one already there refused.
      const created = await Promise.all([...Array.from({ length: 19 }, (_, i) => runs.create(run(i + 1))), runs.create(run(0))]);
      expect(created).toEqual([...Array.from({ length: 19 }, () => true), false]);
      const inserts = commands.filter((c) => c.name === 'insert' && c.collection === 'flow_runs');
      expect(inserts.length).toBeLessThanOrEqual(2);
      expect(inserts.reduce((n, c) => n + c.ops, 0)).toBe(20);
      expect((await runs.get(run(7).id))?.createdAt).toBe(at(7));

      // Twenty cards claimed at once, two of them twice: each claimed by one caller only.
      commands.length = 0;
      const now = new Date();
      const stale = new Date(now.getTime() - 30_000);
      const ids = [...Array.from({ length: 18 }, (_, i) => `fx_card_${i}`), 'fx_card_0', 'fx_card_1'];
      const claims = await Promise.all(ids.map((id) => runs.claimMessage(id, now, stale)));
      expect(claims.slice(0, 18)).toEqual(Array.from({ length: 18 }, () => 'claimed'));
      expect(claims.slice(18)).toEqual(['busy', 'busy']);
      const claimUpdates = commands.filter((c) => c.name === 'update' && c.collection === 'flow_messages' && c.ops > 0);
      // The claims in at most two commands; the two asked twice each look again after (their own).
      expect(claimUpdates.filter((c) => c.ops > 1).length).toBeLessThanOrEqual(2);
      expect(claimUpdates.reduce((n, c) => n + c.ops, 0)).toBeLessThanOrEqual(20 + 2);

      // Saved, a claimed card is sent: claiming it again says so.
      await Promise.all(
        ids
          .slice(0, 18)
          .map((id, i) =>
            runs.saveMessage({ runId: run(i + 1).id, person: 'maya.chen@brightwater.example', kind: 'approval', ref: { ts: `${i}` } }, id),
          ),
      );
      expect(await runs.claimMessage('fx_card_5', now, stale)).toBe('sent');
      expect(await runs.messages(run(6).id)).toEqual([
        expect.objectContaining({ person: 'maya.chen@brightwater.example', ref: { ts: '5' } }),
      ]);
    } finally {
      await monitored.close();
    }
  });

  it('refuse a duplicate key with the error the write alone throws (a MongoServerError, code 11000), the others of its group written', async () => {
    const collection = db.connection.collection<KeyedDoc>('grouped_duplicates');
    await collection.insertOne({ _id: 'doc_0' });
    const alone = await collection.insertOne({ _id: 'doc_0' }).catch((err: unknown) => err);
    expect(alone).toBeInstanceOf(mongo.MongoServerError);
    const write = groupedWrites(() => collection);
    // The first is written alone; the rest wait for it and go together, one of them a duplicate.
    const results = await Promise.allSettled([
      write({ insertOne: { document: { _id: 'doc_0' } } }),
      write({ insertOne: { document: { _id: 'doc_1' } } }),
      write({ insertOne: { document: { _id: 'doc_0' } } }),
      write({ insertOne: { document: { _id: 'doc_2' } } }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'rejected', 'fulfilled']);
    for (const r of [results[0], results[2]]) {
      const err = (r as PromiseRejectedResult).reason as mongo.MongoServerError;
      expect(err).toBeInstanceOf(mongo.MongoServerError);
      expect(err.code).toBe(11000);
      expect(err.message).toContain('duplicate');
    }
    expect(await collection.countDocuments()).toBe(3);
  });
});
