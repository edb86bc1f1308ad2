import type { FlowRun } from '../../src/flows/types.js';
import { agentRecord, ownerlessAgent, people, startHarness, type Harness } from '../helpers/harness.js';
import { crashing, crashPoint, recovered } from '../helpers/crash-point.js';
import { asAgentId } from '../helpers/ids.js';

/*
 * Sponsorship answers, self-nominations and reactivations store their audit entries and cards in
 * the agent's outbox with the change itself. Here the writer "dies" (the fault point throws) right
 * after the change is stored, or after its first effect: the worker performs what is left, and
 * people see each card and audit entry exactly once.
 */

describe('effects of agent changes survive a crash between the change and its effects', () => {
  let h: Harness;
  const crash = crashPoint();

  beforeAll(async () => {
    // A short lease: what a dead writer left is the worker's after half a second.
    h = await startHarness(crashing(crash, { outbox: { leaseMs: 500 } }));
  }, 60_000);
  afterAll(async () => {
    await h?.close();
  });

  const auditCount = async (agentId: string, action: string) =>
    (await h.services.audit.export({ agentId: asAgentId(agentId) })).filter((e) => e.action === action).length;
  const cards = (to: string, title: string) => h.notifier.to(to, 'notice').filter((m) => String(m.card.data.title) === title).length;

  it.each(['sponsorship.answered:0', 'sponsorship.answered:1'])(
    'a sponsor accepting, crashed at %s: sponsor counted, one audit entry, one notice to who named them',
    async (point) => {
      const agent = agentRecord({
        name: `Accepted ${point}`,
        sponsors: [people.tom],
        proposedSponsors: [{ id: 'sp_test', email: people.amara, by: people.tom, at: new Date().toISOString() }],
      });
      await h.services.agents.insert(agent);
      crash.arm(point);
      const accept = { type: 'sponsorship.answer', agentId: agent.id, answer: 'accept' } as const;
      await expect(h.services.bus.execute(h.services.bus.person(people.amara), accept)).rejects.toThrow('simulated crash');
      expect(crash.crashed).toContain(point);
      // The change is stored whatever happens next.
      expect((await h.services.agents.get(agent.id))?.sponsors).toEqual([people.tom, people.amara]);
      const title = `Amara Osei sponsors ${agent.name}`;
      await recovered(h, async () => (await auditCount(agent.id, 'sponsorship.accepted')) > 0 && cards(people.tom, title) > 0);
      expect(await auditCount(agent.id, 'sponsorship.accepted')).toBe(1);
      expect(cards(people.tom, title)).toBe(1);
      expect(
        (await h.services.audit.export({ agentId: agent.id })).find((e) => e.action === 'sponsorship.accepted')?.details,
      ).toMatchObject({
        sponsor: people.amara,
        namedBy: people.tom,
        sponsors: [people.tom, people.amara],
      });
      // Answering again changes nothing and sends nothing.
      await h.services.bus.execute(h.services.bus.person(people.amara), accept);
      await h.services.outbox.drain();
      expect(cards(people.tom, title)).toBe(1);
      expect(await auditCount(agent.id, 'sponsorship.accepted')).toBe(1);
    },
    60_000,
  );

  it('taking an ownerless agent yourself, crashed after the proposal is stored: the other IT admin is asked once', async () => {
    const agent = agentRecord({ name: 'Ownerless Crash', sponsors: [] });
    await h.services.agents.insert(agent);
    crash.arm('sponsorship.proposed:0');
    await expect(h.services.sponsorships.nominateSelf(people.liam, agent.id)).rejects.toThrow('simulated crash');
    expect((await h.services.agents.get(agent.id))?.proposedSponsors?.map((p) => p.email)).toEqual([people.liam]);
    const title = `Confirm Liam O'Neill as sponsor of ${agent.name}?`;
    await recovered(h, async () => cards(people.aisha, title) > 0 && (await auditCount(agent.id, 'sponsorship.proposed')) > 0);
    expect(cards(people.aisha, title)).toBe(1);
    expect(cards(people.liam, title)).toBe(0);
    expect(await auditCount(agent.id, 'sponsorship.proposed')).toBe(1);
  }, 60_000);

  it('an IT admin confirming a self-nominated sponsor, crashed after the change is stored: the ownerless alert is still resolved, once', async () => {
    const { agent, alert } = await ownerlessAgent(h, { name: 'Ownerless Confirmed' });
    await h.services.sponsorships.nominateSelf(people.liam, agent.id);
    crash.arm('sponsorship.answered:0');
    const confirm = { type: 'sponsorship.answer', agentId: agent.id, answer: 'accept', confirm: people.liam } as const;
    await expect(h.services.bus.execute(h.services.bus.person(people.aisha), confirm)).rejects.toThrow('simulated crash');
    expect((await h.services.agents.get(agent.id))?.sponsors).toEqual([people.liam]);
    await recovered(h, async () => (await h.services.supervision.alertRepo.get(alert.id))?.status === 'resolved');
    expect((await h.services.supervision.alertRepo.get(alert.id))?.resolvedBy).toBe(people.aisha);
    expect(await auditCount(agent.id, 'alert.resolved')).toBe(1);
  }, 60_000);

  it('a reactivation crashed after the status change: the agent is back and the reactivation is audited once', async () => {
    const agent = agentRecord({ name: 'Reactivated Crash', status: 'suspended', suspendedFrom: 'probation' });
    await h.services.agents.insert(agent);
    const run = {
      id: 'run_reactivate_crash',
      flowId: 'reactivation',
      requester: people.tom,
      context: { agentId: agent.id, agentName: agent.name, reason: 'the leak is fixed', restoreTo: 'probation' },
      steps: { approvals: { decisions: [{ decision: 'approve', by: people.liam }] } },
    } as unknown as FlowRun;
    crash.arm('agent.reactivated:0');
    await expect(h.services.reactivation.reactivate(run)).rejects.toThrow('simulated crash');
    expect((await h.services.agents.get(agent.id))?.status).toBe('probation');
    await recovered(h, async () => (await auditCount(agent.id, 'agent.reactivated')) > 0);
    expect(await auditCount(agent.id, 'agent.reactivated')).toBe(1);
    expect((await h.services.audit.export({ agentId: agent.id })).find((e) => e.action === 'agent.reactivated')?.details).toMatchObject({
      runId: run.id,
      from: 'suspended',
      to: 'probation',
      approvedBy: [people.liam],
    });
    // The flow retrying its action finds the agent back already and adds nothing.
    await h.services.reactivation.reactivate(run);
    await h.services.outbox.drain();
    expect(await auditCount(agent.id, 'agent.reactivated')).toBe(1);
    expect(await h.services.outboxRepo.depth()).toEqual({ pending: 0, parked: 0 });
  }, 60_000);
});
