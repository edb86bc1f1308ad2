import type { BoundaryChangeRecord } from '../../src/core/boundary-changes.js';
import type { HandoffRecord } from '../../src/core/handoffs.js';
import type { RuntimeApprovalRecord } from '../../src/core/runtime-approvals.js';
import { createBoundaryChangeRepository, createHandoffRepository, createRuntimeApprovalRepository } from '../../src/store/runtime-store.js';
import { connectTestDb, openTestDb, type TestDb } from '../helpers/db.js';
import { asAgentId } from '../helpers/ids.js';

/*
 * Issue 15 item 9f: lists read from the runtime store are never silently cut. Open hand-offs are
 * filtered by person in the query (not the newest 200 filtered afterwards) and a boundary change
 * history is read whole, page by page (not the newest 500).
 */

const JONAS = 'jonas.weber@brightwater.example';
const OTHER = 'someone.else@brightwater.example';

function handoff(n: number, overrides: Partial<HandoffRecord>): HandoffRecord {
  return {
    id: `hof_${n.toString(16).padStart(24, '0')}`,
    agentId: asAgentId('agt_screener'),
    agentName: 'Screener',
    kind: 'candidate-review',
    queueId: 'recruiters',
    queueTitle: 'Recruiters',
    summary: `Case ${n}`,
    details: {},
    idempotencyKey: `key-${n}`,
    requestHash: 'h',
    people: [OTHER],
    outcomes: ['advanced', 'rejected'],
    status: 'open',
    // One second apart, so "newest" is well defined.
    createdAt: new Date(Date.UTC(2030, 0, 1) + n * 1000).toISOString(),
    reminders: 0,
    escalated: false,
    messages: [],
    ...overrides,
  };
}

async function inBatches<T>(items: T[], write: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += 50) await Promise.all(items.slice(i, i + 50).map(write));
}

describe('the runtime store reads whole lists', () => {
  let db: TestDb;
  beforeAll(async () => {
    db = await openTestDb('runtime_store');
  });
  afterAll(async () => db?.close());

  it('open hand-offs for a person: all of theirs, even under more than 200 newer cases of other people', async () => {
    const repo = createHandoffRepository(db.connection);
    await repo.ensureIndexes();
    const records = [
      // Jonas's cases are the oldest: 120 in his queue, 100 taken by him from another queue, 10 resolved.
      ...Array.from({ length: 120 }, (_, i) => handoff(i, { people: [OTHER, JONAS] })),
      ...Array.from({ length: 100 }, (_, i) => handoff(200 + i, { status: 'taken', takenBy: JONAS })),
      ...Array.from({ length: 10 }, (_, i) => handoff(400 + i, { people: [JONAS], status: 'resolved' })),
      // Then 250 newer open cases that are none of his business.
      ...Array.from({ length: 250 }, (_, i) => handoff(1000 + i, {})),
    ];
    await inBatches(records, (r) => repo.insert(r));

    const mine = await repo.open(JONAS);
    expect(mine).toHaveLength(220);
    expect(new Set(mine.map((h) => h.id)).size).toBe(220);
    expect(mine.every((h) => h.status !== 'resolved' && (h.people.includes(JONAS) || h.takenBy === JONAS))).toBe(true);
    // Newest first.
    expect(mine.map((h) => h.createdAt)).toEqual([...mine.map((h) => h.createdAt)].sort().reverse());
    // Their queue's cases, including those Jonas took from it.
    expect(await repo.open(OTHER)).toHaveLength(470);
    expect(await repo.open('nobody@brightwater.example')).toEqual([]);
  });

  it('a boundary change history: every change of the action, more than 500 of them', async () => {
    const repo = createBoundaryChangeRepository(db.connection);
    await repo.ensureIndexes();
    const change = (n: number, action: string): BoundaryChangeRecord => ({
      id: `bch_${action}_${n}`,
      agentId: asAgentId('agt_desk'),
      agentName: 'Desk',
      action,
      actionTitle: action,
      from: 'needs-approval',
      to: 'autonomous',
      reason: 'test',
      requestedBy: OTHER,
      status: n === 0 ? 'approved' : 'denied',
      deciders: [JONAS],
      createdAt: new Date(Date.UTC(2030, 0, 1) + n * 1000).toISOString(),
    });
    await inBatches([...Array.from({ length: 520 }, (_, n) => change(n, 'refund.issue')), change(1, 'contracts.modify')], (c) =>
      repo.insert(c),
    );
    const history = await repo.forAction(asAgentId('agt_desk'), 'refund.issue');
    expect(history).toHaveLength(520);
    // The oldest, approved one is still there: the boundary in effect depends on it.
    expect(history[history.length - 1]).toMatchObject({ id: 'bch_refund.issue_0', status: 'approved' });
    expect(history[0]!.id).toBe('bch_refund.issue_519');
    expect(await repo.forAction(asAgentId('agt_desk'), 'contracts.modify')).toHaveLength(1);
  });

  it('pending boundary changes for an IT admin: every one asked by others, even under more than 50 newer ones of their own', async () => {
    const repo = createBoundaryChangeRepository(db.connection);
    const LIAM = 'liam.oneill@brightwater.example';
    const pending = (n: number, requestedBy: string, status: BoundaryChangeRecord['status'] = 'pending'): BoundaryChangeRecord => ({
      id: `bch_pending_${n}`,
      agentId: asAgentId(`agt_pending_${n}`),
      agentName: `Desk ${n}`,
      action: 'refund.issue',
      actionTitle: 'Refund issue',
      from: 'needs-approval',
      to: 'autonomous',
      reason: 'test',
      requestedBy,
      status,
      deciders: [LIAM, JONAS],
      createdAt: new Date(Date.UTC(2031, 0, 1) + n * 1000).toISOString(),
    });
    await inBatches(
      [
        // The oldest: 70 asked by others, 5 of them already decided.
        ...Array.from({ length: 70 }, (_, n) => pending(n, OTHER, n < 5 ? 'approved' : 'pending')),
        // The newest: 60 Liam asked for himself.
        ...Array.from({ length: 60 }, (_, n) => pending(100 + n, LIAM)),
      ],
      (c) => repo.insert(c),
    );
    const forLiam = await repo.pendingExcept(LIAM);
    expect(forLiam).toHaveLength(65);
    expect(forLiam.every((c) => c.requestedBy === OTHER && c.status === 'pending')).toBe(true);
    expect(forLiam.map((c) => c.createdAt)).toEqual([...forLiam.map((c) => c.createdAt)].sort().reverse());
    expect(forLiam[forLiam.length - 1]!.id).toBe('bch_pending_5');
    expect(await repo.pendingExcept(OTHER)).toHaveLength(60);
    expect(await repo.pendingExcept(JONAS)).toHaveLength(125);
  });
});

describe('runtime approvals stored at once', () => {
  let db: TestDb;
  beforeAll(async () => {
    db = await openTestDb('runtime_inserts');
  });
  afterAll(async () => db?.close());

  const approval = (n: number, overrides: Partial<RuntimeApprovalRecord> = {}): RuntimeApprovalRecord => ({
    id: `apr_${n.toString(16).padStart(24, '0')}`,
    agentId: asAgentId('agt_desk'),
    idempotencyKey: `key-${n}-xxxx`,
    requestHash: `hash-${n}`,
    action: 'suppliers.read',
    actionTitle: 'Read supplier data',
    summary: `Request ${n}`,
    details: {},
    detailsHash: 'dh',
    mode: 'autonomous',
    status: 'allowed',
    reason: 'autonomous',
    createdAt: new Date(Date.UTC(2030, 0, 1) + n * 1000).toISOString(),
    usableFor: 'once',
    ...overrides,
  });

  it('are written together while one is being written; a replay, alone or in the group, answers with the record stored first', async () => {
    const monitored = await connectTestDb(db.dbName, { monitorCommands: true });
    try {
      const inserts: number[] = [];
      monitored.getClient().on('commandStarted', (e) => {
        if (e.commandName === 'insert') inserts.push((e.command.documents as unknown[]).length);
      });
      const repo = createRuntimeApprovalRepository(monitored);
      await repo.ensureIndexes();
      const first = await repo.insert(approval(1));
      expect(first).toEqual({ record: approval(1), created: true });
      inserts.length = 0;

      // Twenty at once: the first is written alone, the others wait for it and go in one command.
      const burst = await Promise.all([
        ...Array.from({ length: 17 }, (_, i) => repo.insert(approval(10 + i))),
        // A replay of a stored request, and one new request asked twice at once.
        repo.insert(approval(1, { summary: 'replayed' })),
        repo.insert(approval(50)),
        repo.insert(approval(50, { summary: 'twice' })),
      ]);
      // (All twenty in one when they are asked while the previous insert is still being finished.)
      expect(inserts.length).toBeLessThanOrEqual(2);
      expect(inserts.reduce((a, b) => a + b, 0)).toBe(20);
      expect(burst.slice(0, 17)).toEqual(Array.from({ length: 17 }, (_, i) => ({ record: approval(10 + i), created: true })));
      expect(burst[17]).toEqual({ record: approval(1), created: false });
      expect(burst[18]).toEqual({ record: approval(50), created: true });
      expect(burst[19]).toEqual({ record: approval(50), created: false });
      expect(await repo.get(approval(12).id)).toEqual(approval(12));
      expect(await monitored.collection('runtime_approvals').countDocuments()).toBe(19);
      // Alone again: written at once.
      const before = inserts.length;
      expect(await repo.insert(approval(60))).toEqual({ record: approval(60), created: true });
      expect(inserts.slice(before)).toEqual([1]);
    } finally {
      await monitored.close();
    }
  });

  it('numbers forbidden attempts within the day up to each, the same millisecond ordered by id, in one read', async () => {
    const repo = createRuntimeApprovalRepository(db.connection);
    await repo.ensureIndexes();
    const at = (ms: number) => new Date(Date.UTC(2031, 0, 2) + ms).toISOString();
    const DAY = 86_400_000;
    const forbidden = (n: number, createdAt: string, overrides: Partial<RuntimeApprovalRecord> = {}) =>
      approval(n, { mode: 'forbidden', status: 'denied', reason: 'forbidden', action: 'contracts.terminate', createdAt, ...overrides });
    const stored = [
      forbidden(100, at(-DAY - 1)), // more than a day before 101: not counted for it
      forbidden(101, at(0)),
      forbidden(103, at(1000)),
      forbidden(102, at(1000)), // same millisecond as 103: ordered by id, so before it
      forbidden(104, at(2000), { action: 'contracts.modify' }), // another action
      forbidden(105, at(3000), { agentId: asAgentId('agt_other') }), // another agent
      approval(106, { action: 'contracts.terminate', createdAt: at(4000) }), // not forbidden
      forbidden(107, at(DAY + 500)), // a day after 101: 101 is out of its window
    ];
    for (const r of stored) await repo.insert(r);
    const numberOf = (r: RuntimeApprovalRecord) => ({ id: r.id, agentId: r.agentId, action: r.action, createdAt: r.createdAt });
    expect(await repo.attemptNumbers([101, 102, 103, 107].map((n) => numberOf(stored.find((r) => r.id === approval(n).id)!)))).toEqual([
      1, 2, 3, 3,
    ]);
    expect(await repo.attemptNumbers([numberOf(stored[5]!)])).toEqual([1]);
    expect(await repo.attemptNumbers([])).toEqual([]);
  });

  it('numbers a group of attempts among a day of earlier ones as counting each window one by one would', async () => {
    const repo = createRuntimeApprovalRepository(db.connection);
    await repo.ensureIndexes();
    const HOUR = 3_600_000;
    const start = Date.UTC(2032, 0, 5);
    const at = (ms: number) => new Date(start + ms).toISOString();
    // 120 attempts over 30 hours (some in the same millisecond), by two agents at two actions, and
    // an allowed request: the group asked for below spans 4 hours, so some earlier attempts are in
    // every attempt's window, some leave the windows of the later ones, and the group's own count.
    const agents = [asAgentId('agt_window_a'), asAgentId('agt_window_b')];
    const stored = Array.from({ length: 120 }, (_, i) =>
      approval(5000 + i, {
        agentId: agents[i % 5 === 0 ? 1 : 0]!,
        action: i % 7 === 0 ? 'contracts.modify' : 'contracts.terminate',
        mode: 'forbidden',
        status: 'denied',
        reason: 'forbidden',
        createdAt: at(Math.floor(i / 2) * 30 * 60_000 + (i % 2) * (i % 3 === 0 ? 0 : 1)),
      }),
    );
    stored.push(approval(5200, { agentId: agents[0]!, action: 'contracts.terminate', createdAt: at(28 * HOUR) }));
    await inBatches(stored, (r) => repo.insert(r));
    const forbidden = stored.filter((r) => r.mode === 'forbidden');
    // Counted one window at a time: the attempts of the agent at the action within the day up to it.
    const oneByOne = (a: RuntimeApprovalRecord) =>
      forbidden.filter(
        (o) =>
          o.agentId === a.agentId &&
          o.action === a.action &&
          Date.parse(o.createdAt) >= Date.parse(a.createdAt) - 86_400_000 &&
          (o.createdAt < a.createdAt || (o.createdAt === a.createdAt && o.id <= a.id)),
      ).length;
    const numberOf = (r: RuntimeApprovalRecord) => ({ id: r.id, agentId: r.agentId, action: r.action, createdAt: r.createdAt });
    const group = forbidden.filter((r) => r.createdAt >= at(26 * HOUR) && r.createdAt <= at(30 * HOUR));
    expect(group.length).toBeGreaterThan(10);
    expect(await repo.attemptNumbers(group.map(numberOf))).toEqual(group.map(oneByOne));
    // A group spanning more than a day, and one attempt alone.
    const wide = forbidden.filter((_, i) => i % 9 === 0);
    expect(await repo.attemptNumbers(wide.map(numberOf))).toEqual(wide.map(oneByOne));
    expect(await repo.attemptNumbers([numberOf(forbidden[100]!)])).toEqual([oneByOne(forbidden[100]!)]);
    expect(group.map(oneByOne).some((n) => n > 40)).toBe(true);
  });
});
