import type { AgentRecord } from '../../src/core/agents.js';
import { RuntimeApprovals } from '../../src/core/runtime-approvals.js';
import type { FlowRun } from '../../src/flows/types.js';
import { activeAgent } from '../access/support.js';
import { agentRecord, people, startHarness, type Harness } from '../helpers/harness.js';
import { auditCount, crashing, crashPoint, recovered } from '../helpers/crash-point.js';
import { commandsOf } from '../helpers/commands.js';
import { asAgentId } from '../helpers/ids.js';

/*
 * Records whose flow run starts after they are stored: a pending grant (access request,
 * break-glass use), a runtime approval, a proposed version. Each stores the start of its run with
 * itself, in one write. The writer "dies" (the fault point throws) right after that write, before
 * the run exists: the outbox worker starts the run, once, so its approvers each get one card and
 * the record proceeds. Before, such a record waited for ever: nobody was asked, nothing expired.
 * Also: a retirement's `begin` step run again after a crash still knows the status to give back.
 */

const priya = 'priya.raman@brightwater.example';
const hiroshi = 'hiroshi.tanaka@brightwater.example';

const crash = crashPoint();
let h: Harness;

beforeAll(async () => {
  h = await startHarness(crashing(crash));
}, 60_000);
afterAll(async () => {
  await h?.close();
});

const runsOf = (agentId: string) => h.services.runs.list({ agentId: asAgentId(agentId) });
/** Approval cards a person was sent for a run (each send counts; updates of one card do not). */
const cardsFor = (person: string, runId: string) =>
  h.notifier.to(person, 'approval-request').filter((m) => m.card.data.runId === runId).length;

/** The run waits for people, and each of them has exactly one approval card for it. */
async function oneCardEach(run: FlowRun): Promise<void> {
  expect(run.status).toBe('waiting');
  expect(run.waitingFor.length).toBeGreaterThan(0);
  for (const person of run.waitingFor) expect([person, cardsFor(person, run.id)]).toEqual([person, 1]);
}

describe('a record stored, its run not started yet, when the writer dies', () => {
  it('an access request: after the crash the approvers get one card each, and approving activates the grant', async () => {
    const agent = await activeAgent(h, { name: 'Request Start Crash', sponsors: [people.tom] });
    crash.arm('grant.requested:0');
    await expect(
      commandsOf(h.services).requestAccess(people.tom, { agentId: agent.id, scope: 'crm:read', reason: 'Look up order history.' }),
    ).rejects.toThrow(/crashed/);
    const [grant] = await h.services.grants.listForAgent(agent.id);
    expect(grant).toMatchObject({ status: 'pending', scope: 'crm:read' });
    expect(await runsOf(agent.id)).toEqual([]);

    await recovered(h, async () => {
      const [run] = await runsOf(agent.id);
      return run?.status === 'waiting' && run.waitingFor.every((p) => cardsFor(p, run.id) > 0);
    });
    const runs = await runsOf(agent.id);
    expect(runs).toHaveLength(1);
    await oneCardEach(runs[0]!);
    expect(await auditCount(h, grant!.id, 'grant.requested')).toBe(1);
    expect(await auditCount(h, grant!.id, 'run.started')).toBe(1);

    for (const person of [people.liam, hiroshi, people.elena])
      await commandsOf(h.services).decide(person, { runId: runs[0]!.id, stepId: 'approvals', decision: 'approve' });
    expect((await h.services.grants.get(grant!.id))!.status).toBe('active');
    // A second request for the scope is refused: the recovered request is the one that counts.
    await expect(
      commandsOf(h.services).requestAccess(people.tom, { agentId: agent.id, scope: 'crm:read', reason: 'Again.' }),
    ).rejects.toMatchObject({ code: 'duplicate' });
  });

  it('an access request killed after its audit entry: the run is started once, by the worker', async () => {
    const agent = await activeAgent(h, { name: 'Request Start Crash 2', sponsors: [people.tom] });
    crash.arm('grant.requested:1');
    await expect(
      commandsOf(h.services).requestAccess(people.tom, { agentId: agent.id, scope: 'crm:read', reason: 'Look up order history.' }),
    ).rejects.toThrow(/crashed/);
    const [grant] = await h.services.grants.listForAgent(agent.id);
    expect(await auditCount(h, grant!.id, 'grant.requested')).toBe(1);
    expect(await runsOf(agent.id)).toEqual([]);
    await recovered(h, async () => {
      const [run] = await runsOf(agent.id);
      return run?.status === 'waiting' && run.waitingFor.every((p) => cardsFor(p, run.id) > 0);
    });
    const runs = await runsOf(agent.id);
    expect(runs).toHaveLength(1);
    await oneCardEach(runs[0]!);
    expect(await auditCount(h, grant!.id, 'grant.requested')).toBe(1);
  });

  it('an access request revoked while the worker starts its run: the run is cancelled, nobody is left asked to approve', async () => {
    const agent = await activeAgent(h, { name: 'Request Revoked Meanwhile', sponsors: [people.tom] });
    crash.arm('grant.requested:1');
    await expect(
      commandsOf(h.services).requestAccess(people.tom, { agentId: agent.id, scope: 'crm:read', reason: 'Look up order history.' }),
    ).rejects.toThrow(/crashed/);
    const [grant] = await h.services.grants.listForAgent(agent.id);
    // The worker reads the grant (pending) to start its run; Tom revokes it right after that read,
    // before the run exists, so the revocation finds no run to cancel.
    const grants = h.services.grants;
    const get = grants.get.bind(grants);
    let interpose = true;
    grants.get = async (id) => {
      const read = await get(id);
      if (interpose && id === grant!.id && read?.status === 'pending') {
        interpose = false;
        await commandsOf(h.services).revokeGrant(people.tom, grant!.id, 'Not needed after all.');
      }
      return read;
    };
    try {
      await recovered(h, async () => (await runsOf(agent.id))[0]?.status === 'cancelled', 15_000);
    } finally {
      grants.get = get;
    }
    expect(interpose).toBe(false);
    expect((await h.services.grants.get(grant!.id))!.status).toBe('revoked');
    const runs = await runsOf(agent.id);
    expect(runs.map((r) => [r.status, r.waitingFor])).toEqual([['cancelled', []]]);
    for (const person of [people.liam, hiroshi, people.elena])
      expect((await h.services.engine.waitingFor(person)).filter((r) => r.id === runs[0]!.id)).toEqual([]);
    expect(await auditCount(h, grant!.id, 'run.cancelled')).toBe(1);
    expect(await auditCount(h, grant!.id, 'grant.revoked')).toBe(1);
  });

  it('a break-glass use: after the crash the grant becomes active once, audited once, security paged once', async () => {
    const agent = await activeAgent(h, { name: 'Break-glass Start Crash', sponsors: [people.tom] });
    crash.arm('grant.break-glass:0');
    await expect(
      commandsOf(h.services).breakGlass(people.tom, { agentId: agent.id, scope: 'kb:read', reason: 'Handbook search is down.' }),
    ).rejects.toThrow(/crashed/);
    const [grant] = await h.services.grants.listForAgent(agent.id);
    expect(grant).toMatchObject({ status: 'pending', source: 'break-glass' });
    expect(await runsOf(agent.id)).toEqual([]);

    await recovered(
      h,
      async () => (await h.services.grants.get(grant!.id))?.status === 'active' && (await auditCount(h, grant!.id, 'grant.activated')) > 0,
    );
    expect(await runsOf(agent.id)).toHaveLength(1);
    expect(await auditCount(h, grant!.id, 'grant.break-glass')).toBe(1);
    expect(await auditCount(h, grant!.id, 'grant.activated')).toBe(1);
    const paged = h.notifier.to(people.grace).filter((m) => JSON.stringify(m.card.data).includes(grant!.id));
    expect(paged).toHaveLength(1);
  });

  it('a runtime approval: the agent has `pending`, the sponsor gets one card after the crash, and approving approves it', async () => {
    const agent = agentRecord({
      name: 'Runtime Start Crash',
      catalogRoleId: 'procurement-agent',
      businessUnit: 'risk-compliance',
      sponsors: [priya],
      requestedBy: people.tom,
    });
    await h.services.agents.insert(agent);
    const ask = {
      action: 'contracts.modify',
      summary: 'Extend the ACME contract by a year.',
      details: { contractId: 'C-1042', supplier: 'ACME', change: 'Extend by 12 months.' },
      idempotency_key: 'crash-runtime-start-1',
    };
    crash.arm('runtime.pending:0');
    await expect(h.services.runtime.request(agent, ask)).rejects.toThrow(/crashed/);
    const id = RuntimeApprovals.idOf(agent.id, ask.idempotency_key);
    const stored = await h.services.runtime.get(agent.id, id);
    expect(stored).toMatchObject({ status: 'pending', runId: expect.any(String) });
    expect(await h.services.runs.get(stored.runId!)).toBeUndefined();
    // The agent retrying its request gets the same answer and starts nothing itself.
    expect(await h.services.runtime.request(agent, ask)).toMatchObject({ created: false, view: { id, status: 'pending' } });

    await recovered(h, async () => {
      const run = await h.services.runs.get(stored.runId!);
      return run?.status === 'waiting' && cardsFor(priya, run.id) > 0;
    });
    const run = (await h.services.runs.get(stored.runId!))!;
    expect(run.waitingFor).toEqual([priya]);
    await oneCardEach(run);
    expect(await auditCount(h, id, 'runtime.requested')).toBe(1);

    await h.services.engine.decide({ runId: run.id, stepId: 'decision', decision: 'approve', actor: priya });
    await recovered(h, async () => (await h.services.runtime.get(agent.id, id)).status === 'approved');
    expect(await h.services.runtime.get(agent.id, id)).toMatchObject({ status: 'approved', decidedBy: [priya] });
  });

  it('a proposed version: its promotion run starts once after the crash, its approvers get one card each', async () => {
    const agent = agentRecord({
      name: 'Version Start Crash',
      sponsors: [priya, people.tom],
      baseline: { accuracy: 0.96, p95LatencyMs: 3000, costPerTaskUSD: 0.02 },
    });
    await h.services.agents.insert(agent);
    crash.arm('version.proposed:0');
    await expect(
      h.services.development.proposeVersion(h.services.engine, priya, agent.id, {
        version: '1.3.0',
        changelog: 'Retrained on Q4 tickets.',
        evaluation: {
          accuracy: 0.97,
          p95LatencyMs: 2800,
          costPerTaskUSD: 0.019,
          roleFitChecked: h.org.catalog.find((r) => r.id === 'support-assistant')!.evaluation.roleFit,
        },
      }),
    ).rejects.toThrow(/crashed/);
    const [version] = await h.services.development.versionHistory(agent.id);
    expect(version).toMatchObject({ version: '1.3.0', status: 'proposed', runId: expect.any(String) });
    expect(await h.services.runs.get(version!.runId!)).toBeUndefined();

    await recovered(h, async () => {
      const run = await h.services.runs.get(version!.runId!);
      return run?.status === 'waiting' && run.waitingFor.every((p) => cardsFor(p, run.id) > 0);
    });
    await oneCardEach((await h.services.runs.get(version!.runId!))!);
    expect((await runsOf(agent.id)).filter((r) => r.flowId === 'retraining-promotion')).toHaveLength(1);
    expect(await auditCount(h, agent.id, 'version.proposed')).toBe(1);
  });
});

describe('a retirement’s begin step run again after a crash', () => {
  /** An agent in `status` and its retirement run, whose begin step died right after it stored the agent as retiring. */
  async function beginCrashed(name: string, status: AgentRecord['status'], runId: string): Promise<{ agent: AgentRecord; run: FlowRun }> {
    const agent = agentRecord({ name, status });
    await h.services.agents.insert(agent);
    const run = {
      id: `${runId}_${agent.id}`,
      status: 'running',
      requester: people.tom,
      context: { agentId: agent.id, reason: 'Obsolete.' },
    } as unknown as FlowRun;
    crash.arm('retirement.begun:0');
    await expect(h.services.retirement.begin(run)).rejects.toThrow(/crashed/);
    return { agent, run };
  }

  it('answers the status the agent had, so a lapsed retirement gives it back', async () => {
    const { agent, run } = await beginCrashed('Begin Again Crash', 'probation', 'run_begin_again');
    expect((await h.services.agents.get(agent.id))!.status).toBe('retiring');

    // The engine takes the step over and runs it again: it must answer what the first run moved the agent from.
    const again = await h.services.retirement.begin(run);
    expect(again).toEqual({ previousStatus: 'probation' });
    await h.services.retirement.cancel({ ...run, status: 'expired', context: { ...run.context, ...again } });
    expect((await h.services.agents.get(agent.id))!.status).toBe('probation');
    await recovered(h, async () => (await auditCount(h, agent.id, 'agent.status-changed')) >= 2);
    expect(await auditCount(h, agent.id, 'agent.status-changed')).toBe(2);
  });

  it('a retirement that ended before it recorded the answer still gives the agent its status back', async () => {
    const { agent, run } = await beginCrashed('Begin Unrecorded Crash', 'active', 'run_begin_unrecorded');
    await h.services.retirement.cancel({ ...run, status: 'denied' });
    expect((await h.services.agents.get(agent.id))!.status).toBe('active');
  });
});
