import { agentRecord, eventually, people, startHarness, type Harness } from '../helpers/harness.js';
import { asApprovalId } from '../helpers/ids.js';

/*
 * Runtime approvals answer once the decision is stored and leave its audit entry to the outbox
 * right after (Outbox.later); a pending request's cards go out at once beside the answer (Outbox.now). The queue is bounded, puts cards first, pushes back on
 * the caller when it falls behind, and a process dying before the deferred work leaves the
 * effects to the worker: still performed exactly once. So for a decision answered first (Teams):
 * its audit entry before the answer, the rest deferred, durable, and after another writer's entries.
 */

const LEASE_MS = 400;
const PRIYA = 'priya.raman@brightwater.example';

/** An agent Priya sponsors, stored, and its request for a contract change (which waits for her approval). */
async function contractDesk(h: Harness, name: string) {
  const agent = agentRecord({
    name,
    catalogRoleId: 'procurement-agent',
    businessUnit: 'risk-compliance',
    sponsors: [PRIYA],
    requestedBy: people.tom,
  });
  await h.services.agents.insert(agent);
  const ask = (key: string) =>
    h.services.runtime.request(agent, {
      action: 'contracts.modify',
      summary: 'Extend the ACME contract by a year.',
      details: { contractId: 'C-1042', supplier: 'ACME', change: 'Extend by 12 months.' },
      idempotency_key: key,
    });
  return { agent, ask };
}

/** Takes both places of the deferred queue (`laterConcurrency: 2`) until the returned release is called. */
async function busyQueue(h: Harness): Promise<() => void> {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  await h.services.outbox.later(() => gate);
  await h.services.outbox.later(() => gate);
  return release;
}

describe('effects performed right after the answer (Outbox.later)', () => {
  let h: Harness;
  let crashAt: string | undefined;
  beforeAll(async () => {
    h = await startHarness({
      outbox: { leaseMs: LEASE_MS, laterConcurrency: 2 },
      faultPoint: (name) => {
        if (name !== crashAt) return;
        crashAt = undefined;
        throw new Error(`crashed at ${name}`);
      },
    });
  });
  afterAll(async () => {
    await h.close();
  });

  it('runs at most laterConcurrency tasks at once, urgent ones first, and pushes back once the queue has waited half a lease', async () => {
    const outbox = h.services.outbox;
    const started: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const blocked = (name: string) => async () => {
      started.push(name);
      await gate;
    };
    await outbox.later(blocked('a'));
    await outbox.later(blocked('b'));
    await outbox.later(blocked('c'));
    await outbox.later(blocked('card'), { urgent: true });
    expect(started).toEqual(['a', 'b']);

    // The queued tasks have now waited half a lease: the next caller performs its own task.
    const queuedAt = Date.now();
    await eventually(() => Date.now() - queuedAt > LEASE_MS / 2 + 20);
    let ranInline = false;
    await outbox.later(async () => {
      ranInline = true;
    });
    expect(ranInline).toBe(true);
    expect(started).toEqual(['a', 'b']);

    release();
    await outbox.idle();
    expect(started).toEqual(['a', 'b', 'card', 'c']);
  });

  it('an autonomous answer comes before its audit entry; a process dying before the entry leaves it to the worker, appended once', async () => {
    const agent = agentRecord({ catalogRoleId: 'procurement-agent', businessUnit: 'risk-compliance' });
    await h.services.agents.insert(agent);
    const auditOf = async (id: string) =>
      (await h.services.audit.export({ agentId: agent.id })).filter((e) => e.subject.id === id).map((e) => e.action);

    const answered = await h.services.runtime.request(agent, {
      action: 'suppliers.read',
      summary: 'Compare offers',
      idempotency_key: 'later-autonomous-1',
    });
    expect(answered).toMatchObject({ created: true, view: { status: 'allowed', reason: 'autonomous' } });
    await eventually(async () => (await auditOf(answered.view.id)).length > 0);
    expect(await auditOf(answered.view.id)).toEqual(['runtime.allowed']);

    crashAt = 'runtime.requested:0';
    const crashed = await h.services.runtime.request(agent, {
      action: 'suppliers.read',
      summary: 'Compare offers again',
      idempotency_key: 'later-autonomous-2',
    });
    expect(crashed.view).toMatchObject({ status: 'allowed' });
    await h.services.outbox.idle();
    expect(crashAt).toBeUndefined();
    expect(await auditOf(crashed.view.id)).toEqual([]);
    // A replay is the same answer and stores nothing more.
    const replay = await h.services.runtime.request(agent, {
      action: 'suppliers.read',
      summary: 'Compare offers again',
      idempotency_key: 'later-autonomous-2',
    });
    expect(replay).toEqual({ created: false, view: crashed.view });

    await eventually(async () => {
      await h.services.outbox.drain();
      return (await auditOf(crashed.view.id)).length > 0;
    });
    await h.services.outbox.drain();
    expect(await auditOf(crashed.view.id)).toEqual(['runtime.allowed']);
  });

  it('answers waiting to be settled together push back once the oldest has waited half a lease (Outbox.settleSoon)', async () => {
    const agent = agentRecord({ name: 'Soon Desk', catalogRoleId: 'procurement-agent', businessUnit: 'risk-compliance' });
    await h.services.agents.insert(agent);
    const ask = (key: string) =>
      h.services.runtime.request(agent, { action: 'suppliers.read', summary: 'Compare offers', idempotency_key: key });
    const auditOf = async (id: string) =>
      (await h.services.audit.export({ agentId: agent.id })).filter((e) => e.subject.id === id).map((e) => e.action);

    const release = await busyQueue(h);
    const first = await ask('soon-first-0001');
    expect(first.view.status).toBe('allowed');
    const queuedAt = Date.now();
    await eventually(() => Date.now() - queuedAt > LEASE_MS / 2 + 20);
    // The first answer's entry has waited half a lease behind the busy queue: the next answer waits for its own.
    let answered = false;
    const second = ask('soon-second-0001').then((r) => {
      answered = true;
      return r;
    });
    const stored = () => h.db.connection.collection('runtime_approvals').countDocuments({ idempotencyKey: 'soon-second-0001' });
    await eventually(async () => (await stored()) === 1);
    // Stored, and one more round trip since: it would have been answered by now, were it not waiting.
    await stored();
    expect(answered).toBe(false);
    release();
    const { view } = await second;
    expect(await auditOf(view.id)).toEqual(['runtime.allowed']);
    await h.services.outbox.idle();
    expect(await auditOf(first.view.id)).toEqual(['runtime.allowed']);
  });

  it('a pending request’s card goes out while the deferred queue is busy; its audit entries follow once, also after a crash', async () => {
    const { agent, ask } = await contractDesk(h, 'Now Card Desk');
    const auditOf = async (id: string) =>
      (await h.services.audit.export({ agentId: agent.id })).filter((e) => e.subject.id === id).map((e) => e.action);
    const cardsFor = (runId: string) => h.notifier.to(PRIYA, 'approval-request').filter((m) => m.card.data.runId === runId).length;

    // Both of the queue's places are taken: the card does not wait for them (Outbox.now).
    const release = await busyQueue(h);
    const asked = await ask('now-card-0001');
    expect(asked.view.status).toBe('pending');
    const { runId } = await h.services.runtime.get(agent.id, asApprovalId(asked.view.id));
    await eventually(() => cardsFor(runId!) > 0);
    expect((await h.services.runs.get(runId!))?.status).toBe('waiting');
    expect(await auditOf(asked.view.id)).toEqual([]);
    release();
    await h.services.outbox.idle();
    // The request's entry, then its run's, each once; one card.
    expect(await auditOf(asked.view.id)).toEqual(['runtime.requested', 'run.started', 'approval.requested']);
    expect(cardsFor(runId!)).toBe(1);

    // Dying after the card, before the entries: the worker appends them once; no second card.
    crashAt = 'runtime.run-started:0';
    const crashed = await ask('now-card-0002');
    const stored = await h.services.runtime.get(agent.id, asApprovalId(crashed.view.id));
    await h.services.outbox.idle();
    expect(crashAt).toBeUndefined();
    expect(cardsFor(stored.runId!)).toBe(1);
    expect(await auditOf(crashed.view.id)).toEqual([]);
    await eventually(async () => {
      await h.services.outbox.drain();
      return (await auditOf(crashed.view.id)).length === 3;
    });
    await h.services.outbox.drain();
    expect(await auditOf(crashed.view.id)).toEqual(['runtime.requested', 'run.started', 'approval.requested']);
    expect(cardsFor(stored.runId!)).toBe(1);
    expect((await h.services.runs.get(stored.runId!))?.status).toBe('waiting');
  });

  it('a decision answered first (a Teams invoke) is audited before the answer; dying after it, the worker refreshes the card and carries the run on, once', async () => {
    const { agent, ask } = await contractDesk(h, 'Answer First Desk');
    const asked = await ask('answer-first-0001');
    const { runId } = await h.services.runtime.get(agent.id, asApprovalId(asked.view.id));
    await h.services.outbox.idle();
    const card = () => h.notifier.to(PRIYA, 'approval-request').find((m) => m.card.data.runId === runId)!.card;
    const before = JSON.stringify(card());
    expect(card().data).toMatchObject({ canDecide: true });
    const count = async (action: string) =>
      (await h.services.audit.export({ agentId: agent.id })).filter((e) => e.subject.id === asked.view.id && e.action === action).length;

    crashAt = 'run.approved.after-answer:0';
    const run = await h.services.engine.decide(
      { runId: runId!, stepId: 'decision', actor: PRIYA, decision: 'approve' },
      { answerFirst: true },
    );
    expect(run.steps.decision?.status).toBe('approved');
    expect(await count('decision.approve')).toBe(1);
    await h.services.outbox.idle();
    expect(crashAt).toBeUndefined();
    expect((await h.services.runtime.get(agent.id, asApprovalId(asked.view.id))).status).toBe('pending');
    expect(JSON.stringify(card())).toBe(before);

    await eventually(async () => {
      await h.services.outbox.drain();
      return (
        (await h.services.runtime.get(agent.id, asApprovalId(asked.view.id))).status === 'approved' && JSON.stringify(card()) !== before
      );
    });
    await h.services.outbox.drain();
    expect(card().data).toMatchObject({ state: 'approved', canDecide: false });
    expect(await count('decision.approve')).toBe(1);
    expect(await count('step.approved')).toBe(1);
    expect(await count('run.completed')).toBe(1);
    expect(h.notifier.to(PRIYA, 'approval-request').filter((m) => m.card.data.runId === runId)).toHaveLength(1);
  });
});

describe('a decision on a run whose start is still deferred', () => {
  // A lease longer than the test: the start's entries are another writer's, never "left by a dead one".
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ outbox: { leaseMs: 60_000, laterConcurrency: 2 } });
  });
  afterAll(async () => {
    await h.close();
  });

  it('is audited after the run’s start and the opening of its step, each recorded once', async () => {
    const { agent, ask } = await contractDesk(h, 'Order Desk');
    // The deferred queue is busy: the request's and its run's entries wait there behind the card.
    const release = await busyQueue(h);
    const asked = await ask('order-while-deferred-1');
    const { runId } = await h.services.runtime.get(agent.id, asApprovalId(asked.view.id));
    await eventually(() => h.notifier.to(PRIYA, 'approval-request').some((m) => m.card.data.runId === runId));
    const run = await h.services.engine.get(runId!);
    await h.services.engine.decide({ runId: runId!, stepId: Object.keys(run.steps)[0]!, actor: PRIYA, decision: 'approve' });
    release();
    await h.services.outbox.idle();

    const actions = (await h.services.audit.export({ agentId: agent.id }))
      .filter((e) => e.subject.id === asked.view.id)
      .map((e) => e.action);
    expect(actions.filter((a) => ['run.started', 'approval.requested', 'decision.approve'].includes(a))).toEqual([
      'run.started',
      'approval.requested',
      'decision.approve',
    ]);
    expect(actions.filter((a) => a === 'runtime.requested')).toHaveLength(1);
    expect((await h.services.runtime.get(agent.id, asApprovalId(asked.view.id))).status).toBe('approved');
  });
});
