import type { AlertId } from '../../src/core/ids.js';
import { newAgentId, type AgentRecord } from '../../src/core/agents.js';
import type { Supervision } from '../../src/services.js';
import { agentRecord, eventually, people, startHarness, type Harness } from '../helpers/harness.js';
import { generateEvents, type Profile } from '../helpers/synthetic-telemetry.js';
import { commandsOf } from '../helpers/commands.js';
import { AlertCheckInChat } from '../../src/channels/chat-alerts-checkins.js';
import { asAgentId, asAlertId } from '../helpers/ids.js';

const DAY = 86_400_000;
const NOW = new Date(Date.UTC(2026, 10, 25, 6));
const ONCALL_L1 = ['liam.oneill@brightwater.example', 'aisha.khan@brightwater.example'];
const ONCALL_L2 = ['noah.fischer@brightwater.example'];

describe('check-ins and on-call alerts (embedded database, scheduler running)', () => {
  let h: Harness;
  let sup: Supervision;

  beforeEach(async () => {
    h = await startHarness({
      alertMinuteMs: 40, // the default policy's 15 and 30 minutes become 0.6 s and 1.2 s
    });
    sup = h.services.supervision;
  });
  afterEach(async () => {
    await h.close();
  });

  async function activeAgent(name: string, profile: Profile | 'dormant', status: 'active' | 'probation' = 'active'): Promise<AgentRecord> {
    const then = new Date(NOW.getTime() - 40 * DAY).toISOString();
    const agent = agentRecord({
      name,
      status,
      purpose: 'Answers customer tickets.',
      createdAt: then,
      updatedAt: then,
      statusChangedAt: then,
    });
    const id = agent.id;
    await h.services.agents.insert(agent);
    if (profile !== 'dormant') {
      const end = new Date(Math.floor(NOW.getTime() / DAY) * DAY);
      // support-assistant reviews 14-day windows: the drift covers the whole current window.
      await sup.telemetry.ingest(generateEvents({ agentId: id, profile, days: 30, end, seed: name.length, driftDays: 14 }));
    }
    return agent;
  }

  it('a scoped alert is one open alert per agent and scope; raised again under its own id, nothing changes', async () => {
    const agent = await activeAgent('Stubborn Refunder', 'dormant');
    // This test is about raising: with minutes of 40 ms, level 1's renotify timers would page again
    // every 0.6 s, so on a loaded machine the count below was a race. The timers do not run here.
    await h.scheduler.stop();
    const raise = (scope: string, id?: AlertId) =>
      sup.alerts.raise({
        kind: 'forbidden-repeated',
        agentId: agent.id,
        scope,
        severity: 'warning',
        summary: `Stubborn Refunder keeps trying ${scope}`,
        notify: [people.tom],
        ...(id ? { id } : {}),
      });
    const first = await raise('refund.issue', asAlertId('alr_00000000000000aa'));
    // The same raise performed again (an outbox effect run twice): the same alert, not a second occurrence.
    expect(await raise('refund.issue', asAlertId('alr_00000000000000aa'))).toMatchObject({ id: first.id, occurrences: 1 });
    // Another attempt at the same action: the open alert counts it.
    expect(await raise('refund.issue')).toMatchObject({ id: first.id, occurrences: 2 });
    // Another action: its own alert.
    const other = await raise('contracts.terminate');
    expect(other.id).not.toBe(first.id);
    const open = await sup.alertRepo.list({ agentId: agent.id, kind: 'forbidden-repeated' });
    expect(open.map((a) => [a.scope, a.occurrences]).sort()).toEqual([
      ['contracts.terminate', 1],
      ['refund.issue', 2],
    ]);
    // On-call level 1 is paged once per alert, and the sponsor named is sent each alert's card.
    await eventually(() => h.notifier.to(people.tom, 'alert').length === 2);
    for (const person of ONCALL_L1) await eventually(() => h.notifier.to(person, 'alert').length === 2);
    // Once resolved, the next attempt opens a new alert for that action.
    await commandsOf(h.services).resolveAlert(ONCALL_L1[0]!, first.id);
    const reopened = await raise('refund.issue');
    expect(reopened.id).not.toBe(first.id);
    expect(reopened.occurrences).toBe(1);
  });

  it('a healthy agent raises nothing and its sponsor gets a healthy review', async () => {
    const agent = await activeAgent('Calm Responder', 'healthy');
    const record = await sup.checkins.run(agent.id, NOW);
    expect(record.verdict).toBe('healthy');
    expect(await sup.alertRepo.list({ agentId: agent.id })).toEqual([]);
    expect((await h.services.agents.get(agent.id))?.status).toBe('active');
    const [review] = h.notifier.to(people.tom, 'checkin');
    expect(review!.card.data).toMatchObject({ verdict: 'healthy', recommendation: 'keep', canDecide: true });
  });

  it('accuracy 0.92 → 0.80: degraded, probation, a drift alert paging on-call level 1, and Retrain recorded once', async () => {
    const agent = await activeAgent('Slipping Responder', 'accuracy-drop');
    const record = await sup.checkins.run(agent.id, NOW);
    expect(record.verdict).toBe('degraded');
    expect(record.findings.find((f) => f.metric === 'accuracy')?.statistic).toBeLessThan(-5);
    expect((await h.services.agents.get(agent.id))?.status).toBe('probation');
    const [alert] = await sup.alertRepo.list({ agentId: agent.id });
    expect(alert).toMatchObject({ kind: 'drift', severity: 'critical', status: 'open', level: 0 });
    for (const person of ONCALL_L1)
      expect(h.notifier.to(person, 'alert')[0]?.card.data).toMatchObject({ alertId: alert!.id, canRespond: true });
    const trail = (await h.services.audit.export({ agentId: agent.id })).map((e) => e.action);
    expect(trail).toEqual(expect.arrayContaining(['checkin.completed', 'agent.status-changed', 'alert.raised']));

    // The sponsor chooses Retrain; a second click changes nothing.
    await commandsOf(h.services).decideCheckIn(people.tom, record.id, 'retrain');
    const again = await commandsOf(h.services).decideCheckIn(people.tom, record.id, 'keep');
    expect(again.record.decision?.choice).toBe('retrain');
    expect(
      (await h.services.audit.export({ agentId: agent.id })).filter((e) => e.action.startsWith('checkin.r') || e.action === 'checkin.keep'),
    ).toHaveLength(1);
    await expect(commandsOf(h.services).decideCheckIn(people.daniel, record.id, 'retire')).rejects.toMatchObject({ code: 'forbidden' });

    // Raised again by the next check-in, the same alert is updated, not duplicated.
    await sup.checkins.run(agent.id, NOW);
    const alerts = await sup.alertRepo.list({ agentId: agent.id, kind: 'drift' });
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.occurrences).toBe(2);
  });

  it('a biased agent raises a fairness alert; recovery moves a probation agent back to active', async () => {
    const biased = await activeAgent('Uneven Responder', 'biased');
    const record = await sup.checkins.run(biased.id, NOW);
    expect(record.findings.map((f) => f.metric)).toContain('fairness');
    expect((await sup.alertRepo.list({ agentId: biased.id }))[0]).toMatchObject({ kind: 'fairness' });

    const recovering = await activeAgent('Recovered Responder', 'healthy', 'probation');
    await sup.checkins.run(recovering.id, NOW);
    expect((await h.services.agents.get(recovering.id))?.status).toBe('active');
  });

  it('the sweep flags a dormant agent still holding access, once', async () => {
    const agent = await activeAgent('Silent Responder', 'dormant');
    await h.services.agents.update(agent.id, { statusChangedAt: new Date(NOW.getTime() - 120 * DAY).toISOString() });
    const first = await sup.checkins.sweep(NOW);
    expect(first.dormant).toBe(1);
    await sup.checkins.sweep(NOW);
    const dormant = await sup.alertRepo.list({ agentId: agent.id, kind: 'dormant' });
    expect(dormant).toHaveLength(1);
    expect(dormant[0]!.summary).toMatch(/no telemetry for 120 days/);
  });

  it('an unacknowledged alert escalates from level 1 to level 2, and stops once acknowledged', async () => {
    const alert = await sup.alerts.raise({
      kind: 'error-spike',
      agentId: asAgentId('agt_00000000000000aa'),
      severity: 'critical',
      summary: 'Failure rate jumped to 40%.',
    });
    expect(h.notifier.to(ONCALL_L2[0]!, 'alert')).toHaveLength(0);
    const escalated = await eventually(async () => {
      const a = await sup.alertRepo.get(alert.id);
      return a && a.level === 1 ? a : undefined;
    }, 10_000);
    expect(escalated.status).toBe('open');
    // The page goes out right after the level change is stored.
    await eventually(() => h.notifier.to(ONCALL_L2[0]!, 'alert').length === 1);
    expect(
      (await h.services.audit.export()).some(
        (e) => e.action === 'alert.escalated' && (e.details.paged as string[]).includes(ONCALL_L2[0]!),
      ),
    ).toBe(true);

    await commandsOf(h.services).acknowledgeAlert(ONCALL_L2[0]!, alert.id);
    const levelAtAck = (await sup.alertRepo.get(alert.id))!;
    // Every timer of the acknowledged level (its escalation among them) has fired since, and done nothing.
    await eventually(async () => {
      const timers = await h.db.connection
        .collection('agendaJobs')
        .find({ name: 'alerts.timer', 'data.alertId': alert.id, 'data.level': levelAtAck.level, 'data.loops': levelAtAck.loops })
        .toArray();
      return timers.every((t) => t.lastFinishedAt) && timers.some((t) => t.data.kind === 'escalate');
    }, 20_000);
    const later = (await sup.alertRepo.get(alert.id))!;
    expect(later.status).toBe('acknowledged');
    expect([later.level, later.loops]).toEqual([levelAtAck.level, levelAtAck.loops]);
    const card = h.notifier.to(ONCALL_L1[0]!, 'alert')[0]!.card.data;
    expect(card).toMatchObject({ status: 'acknowledged', canRespond: false });
    expect(String(card.stateLabel)).toContain('Acknowledged by Noah Fischer');
    await expect(commandsOf(h.services).acknowledgeAlert(people.daniel, alert.id)).rejects.toMatchObject({ code: 'forbidden' });
  }, 30_000);
});

/** A new agent (`name`, in `status`) to raise alerts about, and the chat that answers alert buttons. */
async function agentWithAlertChat(h: Harness, name: string, status: AgentRecord['status']) {
  const id = newAgentId();
  await h.services.agents.insert(agentRecord({ id, name, status, purpose: 'Drafts replies.' }));
  return { sup: h.services.supervision, chat: new AlertCheckInChat(h.org, h.services.supervision, h.services.bus), id };
}

describe('suspending an agent from an alert', () => {
  it('starts the agent-suspension flow; an IT admin approves; the agent is suspended and audited', async () => {
    const h = await startHarness();
    try {
      const { sup, chat, id } = await agentWithAlertChat(h, 'Runaway Drafter', 'probation');
      const alert = await sup.alerts.raise({
        kind: 'drift',
        agentId: id,
        severity: 'critical',
        summary: 'Accuracy collapsed.',
        details: { agentName: 'Runaway Drafter' },
      });
      const liam = h.org.people.find((p) => p.email === people.liam)!;
      const outsider = h.org.people.find((p) => p.email === people.daniel)!;
      await expect(chat.alertAction(outsider, 'alert_suspend', alert.id)).rejects.toMatchObject({ code: 'forbidden' });

      const notice = await chat.alertAction(liam, 'alert_suspend', alert.id);
      expect(notice.kind).toBe('notice');
      expect((await h.services.agents.get(id))?.status).toBe('probation');
      const [run] = await h.services.runs.list({ agentId: id, flowId: 'agent-suspension' });
      expect(run!.status).toBe('waiting');
      // Liam asked, so another IT admin decides.
      await expect(
        commandsOf(h.services).decide(people.liam, { runId: run!.id, stepId: 'approvals', decision: 'approve' }),
      ).rejects.toMatchObject({
        code: 'separation_of_duties',
      });
      await commandsOf(h.services).decide(people.aisha, { runId: run!.id, stepId: 'approvals', decision: 'approve' });
      await eventually(async () => (await h.services.agents.get(id))?.status === 'suspended');
      const trail = (await h.services.audit.export({ agentId: id })).map((e) => e.action);
      expect(trail).toEqual(expect.arrayContaining(['alert.raised', 'run.started', 'decision.approve', 'agent.suspended']));
    } finally {
      await h.close();
    }
  }, 30_000);
});

describe('a suspension stored before the flow was renamed (drift-escalation → agent-suspension)', () => {
  it('is found under the new id, reads as agent-suspension, and an IT admin approving it suspends the agent', async () => {
    const h = await startHarness();
    try {
      const { sup, chat, id } = await agentWithAlertChat(h, 'Legacy Drafter', 'active');
      const alert = await sup.alerts.raise({ kind: 'drift', agentId: id, severity: 'critical', summary: 'Accuracy collapsed.' });
      const liam = h.org.people.find((p) => p.email === people.liam)!;
      await chat.alertAction(liam, 'alert_suspend', alert.id);
      const [started] = await h.services.runs.list({ agentId: id, flowId: 'agent-suspension' });
      // What a database written by an older Roster holds: the run under the flow's old id.
      const runs = h.db.connection.collection<{ _id: string; flowId: string }>('flow_runs');
      await runs.updateOne({ _id: started!.id }, { $set: { flowId: 'drift-escalation' } });
      expect((await runs.findOne({ _id: started!.id }))?.flowId).toBe('drift-escalation');

      const [legacy] = await h.services.runs.list({ agentId: id, flowId: 'agent-suspension' });
      expect(legacy).toMatchObject({ id: started!.id, flowId: 'agent-suspension', status: 'waiting' });
      expect((await h.services.runs.get(started!.id))?.flowId).toBe('agent-suspension');
      await commandsOf(h.services).decide(people.aisha, { runId: started!.id, stepId: 'approvals', decision: 'approve' });
      await eventually(async () => (await h.services.agents.get(id))?.status === 'suspended');
      // The run's next change stored it under the new id.
      expect((await runs.findOne({ _id: started!.id }))?.flowId).toBe('agent-suspension');
    } finally {
      await h.close();
    }
  }, 30_000);
});

describe("a catalog role's own escalation policy", () => {
  it('pages the rotation the role names on its own timing; a role without one uses the default', async () => {
    const h = await startHarness({
      // fraud-screening pages a fraud rotation (Grace, then Noah) and escalates after 10 "minutes";
      // support-assistant keeps the organisation's default (ai-ops, 30 minutes).
      org: (shipped) => {
        const org = structuredClone(shipped);
        org.rotations.push({ id: 'fraud-oncall', name: 'Fraud on-call', levels: [[people.grace], [ONCALL_L2[0]!]] });
        const fraud = org.catalog.find((r) => r.id === 'fraud-screening')!;
        fraud.escalation = { rotation: 'fraud-oncall', renotifyMinutes: 5, escalateAfterMinutes: 10, maxLoops: 1 };
        return org;
      },
      // Slow enough that raising both alerts on a loaded machine ends before Grace's first re-notification.
      alertMinuteMs: 100, // 5 minutes → 0.5 s, 10 minutes → 1 s; the default 30 minutes → 3 s
    });
    try {
      expect(h.org.catalog.find((r) => r.id === 'support-assistant')!.escalation).toBeUndefined();
      const sup = h.services.supervision;
      const screener = agentRecord({ name: 'Card Screener', catalogRoleId: 'fraud-screening', businessUnit: 'finance' });
      const drafter = agentRecord({ name: 'Reply Drafter' });
      await h.services.agents.insert(screener);
      await h.services.agents.insert(drafter);
      const raise = (agentId: string) =>
        sup.alerts.raise({ kind: 'error-spike', agentId: asAgentId(agentId), severity: 'critical', summary: 'Failures jumped.' });
      const [fast, slow] = [await raise(screener.id), await raise(drafter.id)];
      expect(fast.rotation).toBe('fraud-oncall');
      expect(slow.rotation).toBe('ai-ops');
      expect(h.notifier.to(people.grace, 'alert').map((m) => m.card.data.alertId)).toEqual([fast.id]);
      expect(ONCALL_L1.map((p) => h.notifier.to(p, 'alert').map((m) => m.card.data.alertId))).toEqual([[slow.id], [slow.id]]);

      // The role's policy climbs to level 2 while the default one is still at level 1.
      await eventually(async () => (await sup.alertRepo.get(fast.id))?.level === 1, 10_000);
      expect((await sup.alertRepo.get(slow.id))?.level).toBe(0);
      await eventually(() => h.notifier.to(ONCALL_L2[0]!, 'alert').some((m) => m.card.data.alertId === fast.id));
      // Grace was re-notified (every 5 minutes) before the escalation.
      expect(h.notifier.to(people.grace, 'alert').length).toBeGreaterThanOrEqual(2);
      await eventually(async () => (await sup.alertRepo.get(slow.id))?.level === 1, 10_000);

      // Grace may answer the fraud rotation's alert; Liam (ai-ops on-call, IT admin) may too.
      await commandsOf(h.services).acknowledgeAlert(people.grace, fast.id);
      expect((await sup.alertRepo.get(fast.id))?.status).toBe('acknowledged');
    } finally {
      await h.close();
    }
  }, 30_000);
});
