import { people, startHarness, type Harness } from '../helpers/harness.js';
import { activeAgent } from '../access/support.js';
import { commandsOf } from '../helpers/commands.js';

/*
 * A reminder and an escalation due at about the same moment may run in either order. When the
 * escalation runs first, the reminder (due earlier) must not send the people the escalation has
 * just added a second card: they were not waited on when it fell due.
 */
describe('a reminder handled after an escalation', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  it('does not send the escalated approver a second card; the people waited on before are reminded once', async () => {
    h = await startHarness();
    const { services, notifier, db } = h;
    const agent = await activeAgent(h, { sponsors: [people.tom, people.sofia] });
    const { run } = await commandsOf(services).requestAccess(people.tom, { agentId: agent.id, scope: 'kb:read', reason: 'Orders.' });
    // The real timers are days away; this test fires them itself, in the order that used to send two cards.
    await db.connection.collection('agendaJobs').deleteMany({ 'data.runId': run.id });
    await services.outbox.drain();
    const opened = await services.engine.get(run.id);
    expect(opened.steps.approvals?.status).toBe('waiting');
    expect(opened.steps.approvals?.escalated).toBeFalsy();
    const waitedOn = [...opened.waitingFor];
    expect(waitedOn).toEqual([people.sofia]);
    const before = new Map([people.sofia, people.liam, people.aisha].map((p) => [p, notifier.to(p).length]));

    const remindDue = new Date(Date.now() - 60_000).toISOString();
    await services.engine.onTimer({ runId: run.id, stepId: 'approvals', kind: 'escalate', at: new Date().toISOString() });
    await services.engine.onTimer({ runId: run.id, stepId: 'approvals', kind: 'remind', n: 1, at: remindDue });
    await services.outbox.drain();

    const after = await services.engine.get(run.id);
    expect(after.steps.approvals?.escalated).toBe(true);
    expect(after.steps.approvals?.reminders).toBe(1);
    const escalatedTo = after.waitingFor.filter((p) => !waitedOn.includes(p));
    expect(escalatedTo.sort()).toEqual([people.aisha, people.liam].sort());
    for (const person of escalatedTo) {
      const cards = notifier.to(person).slice(before.get(person));
      // Exactly one card: the escalation's approval card, no reminder after it.
      expect([person, cards.map((c) => c.card.kind)]).toEqual([person, ['approval-request']]);
    }
    // Sofia, waited on when the reminder fell due, is reminded once.
    expect(notifier.to(people.sofia).slice(before.get(people.sofia))).toHaveLength(1);
    const audit = (await services.audit.export()).filter((e) => e.subject.id === run.subject.id);
    expect(audit.filter((e) => e.action === 'approval.escalated')).toHaveLength(1);
    const reminded = audit.filter((e) => e.action === 'approval.reminded');
    expect(reminded).toHaveLength(1);
    expect(reminded[0]!.details.to).toEqual([people.sofia]);
  });
});
