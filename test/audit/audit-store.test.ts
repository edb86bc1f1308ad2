import { AuditContentionError, GENESIS_HASH, InvalidAuditInputError, hashEntry, type AuditEntry } from '../../src/core/audit.js';
import { AUDIT_COLLECTION, createAuditLog, type AuditStore } from '../../src/store/audit-store.js';
import { connectTestDb, openTestDb, type TestDb } from '../helpers/db.js';
import { sampleInput } from './chain-builder.js';
import { asAgentId } from '../helpers/ids.js';

/** A clock that ticks one minute per call from 2024-03-01T09:00Z. */
function minuteClock(): () => Date {
  let minutes = 0;
  return () => new Date(Date.UTC(2024, 2, 1, 9, minutes++));
}

describe('audit log in MongoDB', () => {
  let db: TestDb;
  let log: AuditStore;

  beforeEach(async () => {
    db = await openTestDb('audit');
    log = createAuditLog(db.connection, { clock: minuteClock() });
    // Mongoose starts creating the collection and its indexes when the model is compiled; a raw read
    // racing that on the embedded server fails now and then ("Unknown error: null"), so let it finish.
    await log.ensureIndexes();
  });

  afterEach(async () => {
    await db.close();
  });

  const raw = () => db.connection.collection(AUDIT_COLLECTION);

  async function appendSamples(count: number): Promise<AuditEntry[]> {
    const entries: AuditEntry[] = [];
    for (let n = 1; n <= count; n += 1) entries.push(await log.append(sampleInput(n)));
    return entries;
  }

  async function firstBad() {
    const result = await log.verify();
    if (result.ok) throw new Error('expected verify to report tampering');
    return { checked: result.checked, ...result.firstBad };
  }

  it('declares a unique index on seq and the export indexes', async () => {
    await log.ensureIndexes();
    const indexes = await raw().indexes();
    expect(indexes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ key: { seq: 1 }, unique: true }),
        expect.objectContaining({ key: { 'subject.agentId': 1, seq: 1 } }),
        expect.objectContaining({ key: { at: 1 } }),
      ]),
    );
  });

  it('chains appended entries 1, 2, 3 and verifies them', async () => {
    const [first, second, third] = (await appendSamples(3)) as [AuditEntry, AuditEntry, AuditEntry];
    expect([first.seq, second.seq, third.seq]).toEqual([1, 2, 3]);
    expect(first.prevHash).toBe(GENESIS_HASH);
    expect(second.prevHash).toBe(first.hash);
    expect(third.prevHash).toBe(second.hash);
    expect(third.at).toEqual(new Date('2024-03-01T09:02:00.000Z'));
    expect(await log.verify()).toEqual({ ok: true, checked: 3, headHash: third.hash });
    expect(await log.export()).toEqual([first, second, third]);
  });

  it('verifies an empty log', async () => {
    expect(await log.verify()).toEqual({ ok: true, checked: 0, headHash: GENESIS_HASH });
  });

  it('stores details exactly as hashed, so awkward data still verifies', async () => {
    const details = {
      nested: { empty: {}, list: [[], {}, null, false, -0, 0.1 + 0.2, 2 ** 53 - 1] },
      'dotted.key': 'héllo 😀',
      when: new Date(Date.UTC(2024, 5, 30, 23, 59, 59, 999)),
      skipped: undefined,
      zwj: '👩‍💻',
    };
    const entry = await log.append(sampleInput(1, { details, at: new Date(Date.UTC(2024, 0, 1, 0, 0, 0, 1)) }));
    const [stored] = await log.export();
    expect(stored).toEqual(entry);
    expect(stored!.details).toStrictEqual({
      nested: { empty: {}, list: [[], {}, null, false, -0, 0.30000000000000004, 9007199254740991] },
      'dotted.key': 'héllo 😀',
      when: '2024-06-30T23:59:59.999Z',
      zwj: '👩‍💻',
    });
    expect(stored!.at.toISOString()).toBe('2024-01-01T00:00:00.001Z');
    expect(await log.verify()).toMatchObject({ ok: true, checked: 1 });
  });

  it('refuses input it could not store faithfully and records nothing', async () => {
    await expect(log.append(sampleInput(1, { actor: { kind: 'robot' } as never }))).rejects.toThrow(InvalidAuditInputError);
    await expect(log.append(sampleInput(1, { details: { big: 10n } }))).rejects.toThrow(/details\.big: a bigint has no JSON form/);
    expect(await raw().countDocuments()).toBe(0);
  });

  it('writes a burst of appends in the order asked: a key asked twice or already stored is one entry, a bad input is refused alone', async () => {
    const stored = await log.append(sampleInput(1), { key: 'fx_stored' });
    // The first append of the burst is written alone; the others wait for it and are written as one group.
    const burst = await Promise.allSettled([
      log.append(sampleInput(2)),
      log.append(sampleInput(3), { key: 'fx_twice' }),
      log.append(sampleInput(4, { details: { big: 10n } })),
      log.append(sampleInput(5), { key: 'fx_twice' }),
      log.append(sampleInput(6), { key: 'fx_stored' }),
      log.append(sampleInput(7)),
    ]);
    expect(burst[2]).toMatchObject({ status: 'rejected', reason: expect.any(InvalidAuditInputError) as unknown });
    const [alone, twice, , again, storedAgain, last] = burst.map((o) => (o.status === 'fulfilled' ? o.value : undefined));
    expect([alone, twice, last].map((e) => [e?.seq, e?.subject.id])).toEqual([
      [2, 'g-2'],
      [3, 'g-3'],
      [4, 'g-7'],
    ]);
    expect(again).toEqual(twice);
    expect(storedAgain).toEqual(stored);
    expect(await raw().countDocuments()).toBe(4);
    expect(await log.verify()).toMatchObject({ ok: true, checked: 4 });
  });

  it('writes a fresh key without looking it up first; a fresh key stored already is still one entry, answered with it', async () => {
    const monitored = await connectTestDb(db.dbName, { monitorCommands: true });
    try {
      const started: Array<{ commandName: string; filter?: Record<string, unknown> }> = [];
      monitored.getClient().on('commandStarted', (e) => started.push({ commandName: e.commandName, filter: e.command.filter as never }));
      const fresh = createAuditLog(monitored, { clock: minuteClock() });
      await fresh.ensureIndexes();
      const keyReads = () => started.filter((c) => c.commandName === 'find' && c.filter && 'key' in c.filter).length;

      started.length = 0;
      const first = await fresh.append(sampleInput(1), { key: 'fx_new', fresh: true });
      expect(started.map((c) => c.commandName)).toEqual(['find', 'insert']);
      expect(keyReads()).toBe(0);
      // Not fresh (a retry): looked up first, and answered with the stored entry.
      started.length = 0;
      expect(await fresh.append(sampleInput(2), { key: 'fx_new' })).toEqual(first);
      expect(keyReads()).toBe(1);
      // Said to be fresh but stored already (a writer and the worker at once): the unique key refuses it, then it is looked up.
      expect(await fresh.append(sampleInput(3), { key: 'fx_new', fresh: true })).toEqual(first);
      const next = await fresh.append(sampleInput(4), { key: 'fx_next', fresh: true });
      expect(next.seq).toBe(2);
      expect(await raw().countDocuments()).toBe(2);
      expect(await fresh.verify()).toMatchObject({ ok: true, checked: 2 });
    } finally {
      await monitored.close();
    }
  });

  it('exports per agent and per time range, in seq order', async () => {
    const agentOf = ['a', 'b', 'a', undefined, 'a', 'b'].map((a) => (a === undefined ? undefined : asAgentId(a)));
    for (const [i, agentId] of agentOf.entries()) {
      await log.append(sampleInput(i + 1, { subject: { type: 'agent', id: `x${i + 1}`, agentId } }));
    }
    const seqs = (entries: AuditEntry[]) => entries.map((e) => e.seq);
    expect(seqs(await log.export({ agentId: asAgentId('a') }))).toEqual([1, 3, 5]);
    expect(seqs(await log.export({ agentId: asAgentId('b') }))).toEqual([2, 6]);
    expect(seqs(await log.export({ agentId: asAgentId('nobody') }))).toEqual([]);
    const minute = (m: number) => new Date(Date.UTC(2024, 2, 1, 9, m));
    expect(seqs(await log.export({ since: minute(1), until: minute(4) }))).toEqual([2, 3, 4]);
    expect(seqs(await log.export({ since: minute(4) }))).toEqual([5, 6]);
    expect(seqs(await log.export({ until: minute(1) }))).toEqual([1]);
    expect(seqs(await log.export({ agentId: asAgentId('a'), since: minute(1), until: minute(4) }))).toEqual([3]);
    expect(seqs(await log.export({ agentId: asAgentId('a'), limit: 2 }))).toEqual([1, 3]);
    expect(seqs(await log.export())).toEqual([1, 2, 3, 4, 5, 6]);
    await expect(log.export({ limit: 0 })).rejects.toThrow(/limit must be a positive whole number/);
  });

  describe('detects tampering done directly in the database', () => {
    it('an edited detail', async () => {
      await appendSamples(5);
      await raw().updateOne({ seq: 3 }, { $set: { 'details.ttl': '90d' } });
      expect(await firstBad()).toEqual({
        checked: 2,
        seq: 3,
        problem: 'edited',
        message: 'entry 3 was edited: its hash does not match its content',
      });
    });

    it('an edited entry whose hash was recomputed', async () => {
      const entries = await appendSamples(5);
      const changed = { ...entries[1]!, actor: { kind: 'person' as const, email: 'mallory@example.com' } };
      await raw().updateOne({ seq: 2 }, { $set: { actor: changed.actor, hash: hashEntry(changed) } });
      expect(await firstBad()).toMatchObject({
        seq: 2,
        problem: 'edited',
        message: 'entry 2 was edited: its hash was recomputed, but entry 3 records a different hash for it',
      });
    });

    it('a removed entry', async () => {
      await appendSamples(5);
      await raw().deleteOne({ seq: 3 });
      expect(await firstBad()).toEqual({
        checked: 2,
        seq: 3,
        problem: 'removed',
        message: 'entry 3 was removed: the chain goes from entry 2 to entry 4',
      });
    });

    it('two entries whose seq values were swapped', async () => {
      await appendSamples(5);
      await raw().updateOne({ seq: 2 }, { $set: { seq: -2 } });
      await raw().updateOne({ seq: 4 }, { $set: { seq: 2 } });
      await raw().updateOne({ seq: -2 }, { $set: { seq: 4 } });
      expect(await firstBad()).toEqual({
        checked: 1,
        seq: 2,
        problem: 'reordered',
        message: 'entry 2 is out of order: it is stored as entry 4',
      });
    });

    it('two neighbours whose contents were swapped', async () => {
      await appendSamples(5);
      const [two, three] = await raw()
        .find({ seq: { $in: [2, 3] } }, { projection: { _id: 0 } })
        .sort({ seq: 1 })
        .toArray();
      await raw().replaceOne({ seq: 2 }, { ...three, seq: 2 });
      await raw().replaceOne({ seq: 3 }, { ...two, seq: 3 });
      expect(await firstBad()).toMatchObject({ seq: 2, problem: 'reordered', message: 'entry 2 is out of order: it is stored as entry 3' });
    });

    it('a forged entry slipped into the middle, later entries renumbered', async () => {
      const entries = await appendSamples(5);
      for (const seq of [5, 4, 3]) await raw().updateOne({ seq }, { $set: { seq: seq + 1 } });
      const fields = { ...entries[2]!, action: 'grant.approved', details: { scope: 'erp:*', ttl: '365d' } };
      await raw().insertOne({ ...fields, hash: hashEntry(fields) });
      expect(await firstBad()).toEqual({
        checked: 3,
        seq: 3,
        problem: 'inserted',
        message: 'entry 3 was inserted: the entry now numbered 4 was recorded as entry 3, directly after entry 2',
      });
    });

    it('a forged entry added after the end under a fresh number', async () => {
      const entries = await appendSamples(3);
      const fields = { ...entries[2]!, seq: 10, prevHash: entries[2]!.hash, action: 'agent.retired' };
      await raw().insertOne({ ...fields, hash: 'f'.repeat(64) });
      expect(await firstBad()).toEqual({
        checked: 3,
        seq: 10,
        problem: 'inserted',
        message: 'entry 10 was inserted: it claims to follow entry 3, so it should be entry 4',
      });
    });

    it('a field replaced by another type', async () => {
      await appendSamples(3);
      await raw().updateOne({ seq: 2 }, { $set: { details: 'nothing to see' } });
      expect(await firstBad()).toMatchObject({ seq: 2, problem: 'edited', message: 'entry 2 was edited: its details are missing' });
    });

    it('but not the removal of the last entry, which only the head hash reveals', async () => {
      const entries = await appendSamples(3);
      await raw().deleteOne({ seq: 3 });
      expect(await log.verify()).toEqual({ ok: true, checked: 2, headHash: entries[1]!.hash });
    });
  });

  it('never forks the chain under 50 concurrent appends from two connections', async () => {
    const other = await connectTestDb(db.dbName);
    try {
      const logs = [log, createAuditLog(other)];
      const appended = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          logs[i % 2]!.append(sampleInput(i + 1, { actor: { kind: 'system', name: `writer-${i % 2}` }, details: { call: i } })),
        ),
      );
      expect(appended.map((e) => e.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      expect(new Set(appended.map((e) => e.details.call)).size).toBe(50);
      expect(await raw().countDocuments()).toBe(50);
      const result = await log.verify();
      expect(result).toEqual({ ok: true, checked: 50, headHash: appended.find((e) => e.seq === 50)!.hash });
      const stored = await log.export();
      expect(stored).toEqual([...appended].sort((a, b) => a.seq - b.seq));
    } finally {
      await other.close();
    }
  });

  it('appends a run of entries in one write, consecutive and in order, and refuses a bad run whole', async () => {
    await appendSamples(2);
    const run = await log.appendMany(Array.from({ length: 5 }, (_, i) => sampleInput(i + 3, { details: { n: i } })));
    expect(run.map((e) => [e.seq, e.details.n])).toEqual([3, 4, 5, 6, 7].map((seq, i) => [seq, i]));
    expect(await log.export()).toEqual((await log.export()).slice(0, 2).concat(run));
    expect(await log.verify()).toMatchObject({ ok: true, checked: 7 });
    await expect(log.appendMany([sampleInput(8), sampleInput(9, { details: { big: 10n } })])).rejects.toThrow(InvalidAuditInputError);
    expect(await log.appendMany([])).toEqual([]);
    expect(await raw().countDocuments()).toBe(7);
  });

  it('never forks the chain when runs of entries race single appends from another connection', async () => {
    const other = await connectTestDb(db.dbName);
    try {
      const otherLog = createAuditLog(other);
      const [runs, singles] = await Promise.all([
        Promise.all(
          Array.from({ length: 6 }, (_, r) =>
            log.appendMany(Array.from({ length: 10 }, (_, i) => sampleInput(1, { details: { run: r, i } }))),
          ),
        ),
        Promise.all(Array.from({ length: 20 }, (_, i) => otherLog.append(sampleInput(1, { details: { single: i } })))),
      ]);
      expect(await raw().countDocuments()).toBe(80);
      expect(await log.verify()).toMatchObject({ ok: true, checked: 80 });
      // Each run's entries keep their order; every entry is stored once.
      for (const run of runs) {
        expect(run.map((e) => e.details.i)).toEqual(Array.from({ length: 10 }, (_, i) => i));
        expect(run.map((e) => e.seq)).toEqual([...run.map((e) => e.seq)].sort((a, b) => a - b));
      }
      const seqs = [...runs.flat(), ...singles].map((e) => e.seq).sort((a, b) => a - b);
      expect(seqs).toEqual(Array.from({ length: 80 }, (_, i) => i + 1));
    } finally {
      await other.close();
    }
  });

  it('gives up with a clear error when other writers keep winning, without breaking the chain', async () => {
    // One process writes its waiting appends together, so the other writers are other logs (other processes).
    const impatient = Array.from({ length: 20 }, () => createAuditLog(db.connection, { maxAttempts: 1 }));
    const outcomes = await Promise.allSettled(impatient.map((writer, i) => writer.append(sampleInput(i + 1))));
    const failures = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected').map((o) => o.reason as unknown);
    expect(failures.length).toBeGreaterThan(0);
    for (const failure of failures) {
      expect(failure).toBeInstanceOf(AuditContentionError);
      expect(failure).toMatchObject({
        code: 'conflict',
        message: 'could not append to the audit log after 1 attempt: other writers kept taking the next number',
      });
    }
    expect(await log.verify()).toMatchObject({ ok: true, checked: 20 - failures.length });
  });
});
