import { Outbox } from '../../src/core/outbox.js';
import type { PendingEffect } from '../../src/core/ports.js';
import { createCardDeliveries, createOutboxRepository, withEffects } from '../../src/store/outbox-store.js';
import { CHAT_SEND_EFFECT, chatSendPerformer } from '../../src/core/chat-effects.js';
import { RecordingNotifier } from '../helpers/recording-notifier.js';
import { openTestDb, type TestDb } from '../helpers/db.js';
import { silentLogger } from '../helpers/logger.js';

describe('the outbox store (embedded in holder documents)', () => {
  let db: TestDb;
  beforeAll(async () => {
    db = await openTestDb('outbox');
  });
  afterAll(async () => db?.close());

  const things = () => db.connection.collection('things');

  it('a state change and its effects are one conditional update; done effects are never resurrected by a stale writer', async () => {
    const repo = createOutboxRepository(db.connection, { thing: 'things' });
    await repo.ensureIndexes();
    const outbox = new Outbox({ repo, log: silentLogger(), settings: { leaseMs: 0 } });
    const seen: string[] = [];
    outbox.register<{ n: number }>({ type: 'test.note', perform: async (data, ctx) => void seen.push(`${data.n}@${ctx.effectId}`) });
    await things().insertOne({ _id: 't1' as never, version: 0, state: 'a' });

    const first = [outbox.effect('test.note', { n: 1 }, { key: 'k1' })];
    const stored = await things().updateOne({ _id: 't1' as never, version: 0 }, withEffects({ $set: { version: 1, state: 'b' } }, first));
    expect(stored.modifiedCount).toBe(1);
    // A stale writer (read version 0) loses its compare-and-set and writes nothing, effects included.
    const stale = await things().updateOne(
      { _id: 't1' as never, version: 0 },
      withEffects({ $set: { version: 1, state: 'x' } }, [outbox.effect('test.note', { n: 99 })]),
    );
    expect(stale.modifiedCount).toBe(0);

    // A writer that read version 1 (with effect k1 pending) stores version 2 while the worker performs k1.
    const drained = outbox.drain();
    const second = [outbox.effect('test.note', { n: 2 }, { key: 'k2' })];
    await things().updateOne({ _id: 't1' as never, version: 1 }, withEffects({ $set: { version: 2, state: 'c' } }, second));
    await drained;
    await outbox.drain();
    expect(seen.sort()).toEqual(['1@k1', '2@k2']);
    const doc = await things().findOne({ _id: 't1' as never });
    expect(doc).toMatchObject({ version: 2, state: 'c', outbox: [] });
    expect(await repo.depth()).toEqual({ pending: 0, parked: 0 });
  });

  it('a failing effect backs off, keeps its type in order, and is parked after the limit with IT told', async () => {
    const repo = createOutboxRepository(db.connection, { thing: 'things' });
    let now = new Date('2030-01-01T00:00:00Z');
    const parked: string[] = [];
    const outbox = new Outbox({
      repo,
      log: silentLogger(),
      clock: () => now,
      settings: { leaseMs: 1000, maxAttempts: 3, baseDelayMs: 1000, maxDelayMs: 60_000 },
      onParked: async (due) => void parked.push(`${due.effect.type}: ${due.effect.lastError}`),
    });
    let fail = true;
    const seen: number[] = [];
    outbox.register<{ n: number }>({
      type: 'test.flaky',
      perform: async (data) => {
        if (fail && data.n === 1) throw new Error('remote said no');
        seen.push(data.n);
      },
    });
    await things().insertOne({ _id: 't2' as never, version: 0 });
    const effects: PendingEffect[] = [outbox.effect('test.flaky', { n: 1 }), outbox.effect('test.flaky', { n: 2 })];
    await things().updateOne({ _id: 't2' as never }, withEffects({ $set: { version: 1 } }, effects));
    await outbox.settle({ kind: 'thing', id: 't2' }, effects, 'test');
    expect(seen).toEqual([]); // n=2 waits behind n=1
    const attempts = async () => ((await things().findOne({ _id: 't2' as never }))!.outbox as Array<{ attempts: number; due: Date }>)[0]!;
    expect((await attempts()).attempts).toBe(1);
    const firstDue = (await attempts()).due.getTime() - now.getTime();
    expect(firstDue).toBeGreaterThanOrEqual(750);
    expect(firstDue).toBeLessThanOrEqual(1250);
    now = new Date(now.getTime() + 2000);
    await outbox.drain();
    expect((await attempts()).attempts).toBe(2);
    expect((await attempts()).due.getTime() - now.getTime()).toBeGreaterThanOrEqual(1500);
    now = new Date(now.getTime() + 5000);
    await outbox.drain();
    expect(parked).toEqual(['test.flaky: Error: remote said no']);
    expect(await repo.depth()).toEqual({ pending: 1, parked: 1 });
    now = new Date(now.getTime() + 3_600_000);
    await outbox.drain();
    expect(seen).toEqual([]); // parked stays parked
    fail = false;
    const [item] = await repo.parked(10);
    // Found by its id, as IT names it; a pending effect is not parked.
    expect(await repo.parkedEffect(item!.effect.id)).toEqual(item);
    const pendingIds = (await repo.due(now, 10)).filter((d) => !d.effect.parkedAt).map((d) => d.effect.id);
    for (const id of pendingIds) expect(await repo.parkedEffect(id)).toBeUndefined();
    expect(await repo.parkedEffect('fx_nothing')).toBeUndefined();
    expect(await repo.unpark(item!.holder, item!.effect.id, now)).toBe(true);
    await outbox.drain();
    expect(seen).toEqual([1, 2]);
    expect(await repo.depth()).toEqual({ pending: 0, parked: 0 });
  });

  it('a card whose send failed is sent by the next retry, even within the lease, and only once', async () => {
    const repo = createOutboxRepository(db.connection, { thing: 'things' });
    let now = new Date('2031-01-01T00:00:00Z');
    // The lease (a minute) is far longer than the back-off: the retry comes while the failed claim would still be fresh.
    const outbox = new Outbox({ repo, log: silentLogger(), clock: () => now, settings: { leaseMs: 60_000, baseDelayMs: 1000 } });
    const notifier = new RecordingNotifier();
    let down = true;
    outbox.register(
      chatSendPerformer({
        notifier: {
          send: (to, card) => (down ? Promise.reject(new Error('chat is down')) : notifier.send(to, card)),
          update: (ref, card) => notifier.update(ref, card),
        },
        deliveries: createCardDeliveries(db.connection),
        leaseMs: outbox.settings.leaseMs,
        clock: () => now,
      }),
    );
    await things().insertOne({ _id: 't3' as never, version: 0 });
    const effects = [outbox.effect(CHAT_SEND_EFFECT, { to: 'tom@example.org', card: { kind: 'notice', data: { title: 'Hello' } } })];
    await things().updateOne({ _id: 't3' as never }, withEffects({ $set: { version: 1 } }, effects));
    await outbox.settle({ kind: 'thing', id: 't3' }, effects, 'test');
    expect(notifier.messages).toHaveLength(0);

    down = false;
    now = new Date(now.getTime() + 2000);
    expect(await outbox.drain()).toBe(1);
    expect(notifier.to('tom@example.org')).toHaveLength(1);
    // Performed again (a crash before it was marked done): the delivery is found, nothing is sent twice.
    await things().updateOne({ _id: 't3' as never }, withEffects({}, [{ ...effects[0]!, due: now }]));
    await outbox.drain();
    expect(notifier.to('tom@example.org')).toHaveLength(1);
  });
});
