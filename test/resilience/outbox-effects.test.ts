import type { AuditEntry } from '../../src/core/audit.js';
import { activeAgent, breakGlassAllowed } from '../access/support.js';
import { errorOf, eventually, FAST_FLOWS, people, startHarness, type Harness } from '../helpers/harness.js';
import { crashPoint, recovered } from '../helpers/crash-point.js';
import { commandsOf } from '../helpers/commands.js';

/*
 * A person's change (a grant revoked or confirmed, an alert acknowledged…) whose writer dies right
 * after the change was stored, or after any number of its effects: the effects wait in the
 * record's outbox and the worker performs what is left, so people see each effect once. In-process,
 * "dying" is the fault point throwing: nothing after it runs, as after a SIGKILL (the process-level
 * chains are outbox-crash*.test.ts).
 */

const hiroshi = 'hiroshi.tanaka@brightwater.example'; // data-owner:crm
const priya = 'priya.raman@brightwater.example'; // a second sponsor

const LEASE_MS = 300;

const actionsOf = async (h: Harness, id: string): Promise<string[]> =>
  (await h.services.audit.export()).filter((e: AuditEntry) => e.subject.id === id).map((e) => e.action);

describe('a person’s grant change killed between the stored change and its effects', () => {
  let h: Harness;
  const crash = crashPoint();
  beforeAll(async () => {
    // tickets:reply holds PII, so only a configuration marking it eligible lets break-glass grant it.
    h = await startHarness({
      flows: FAST_FLOWS,
      outbox: { leaseMs: LEASE_MS },
      faultPoint: crash.hook,
      org: breakGlassAllowed('tickets:reply'),
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  // Revoking a pending grant by an IT admin: audit, cancel the request, update cards, tell Tom, tell Priya.
  it.each([0, 1, 2, 3, 4, 5])('a pending grant revoked, killed after %i of its effects: each effect happens once', async (k) => {
    const agent = await activeAgent(h, { name: `Revoke Crash ${k}`, sponsors: [people.tom, priya] });
    const { run, grant } = await commandsOf(h.services).requestAccess(people.tom, {
      agentId: agent.id,
      scope: 'crm:read',
      reason: 'Look up order history.',
    });
    // With this test's 300 ms lease a loaded machine may let the worker start the run beside the
    // writer, which then answers before the run reaches its approvals: wait until they are open.
    await eventually(async () => (await h.services.engine.get(run.id)).steps.approvals?.status === 'waiting');
    await commandsOf(h.services).decide(hiroshi, { runId: run.id, stepId: 'approvals', decision: 'approve' });

    crash.arm(`grant.revoked:${k}`);
    await expect(commandsOf(h.services).revokeGrant(people.aisha, grant.id, 'Not needed after all.')).rejects.toThrow(/crashed/);
    expect((await h.services.grants.get(grant.id))!.status).toBe('revoked');

    await recovered(h, async () => (await h.services.engine.get(run.id)).status === 'cancelled' && (await actionsOf(h, grant.id)));
    const lost = (person: string) =>
      h.notifier.to(person, 'grant-notice').filter((m) => String(m.card.data.title) === `${agent.name} lost crm:read`);
    await recovered(h, async () => lost(people.tom).length > 0 && lost(priya).length > 0);
    expect(lost(people.tom)).toHaveLength(1);
    expect(lost(priya)).toHaveLength(1);
    expect(h.notifier.to(people.aisha, 'grant-notice').filter((m) => String(m.card.data.title).includes('lost'))).toHaveLength(0);
    expect((await actionsOf(h, grant.id)).filter((a) => a === 'grant.revoked')).toHaveLength(1);
    expect((await actionsOf(h, grant.id)).filter((a) => a === 'grant.denied')).toHaveLength(0);
    const runTrail = (await h.services.audit.export()).filter((e) => e.details.runId === run.id).map((e) => e.action);
    expect(runTrail.filter((a) => a === 'run.cancelled')).toHaveLength(1);
    expect(await errorOf(commandsOf(h.services).revokeGrant(people.aisha, grant.id, 'again'))).toMatchObject({
      code: 'invalid_transition',
    });
  });

  it('a break-glass confirmation killed before its effects: audited once, the review card shows it', async () => {
    const agent = await activeAgent(h, { name: 'Confirm Crash' });
    const { grant } = await commandsOf(h.services).breakGlass(people.tom, {
      agentId: agent.id,
      scope: 'tickets:reply',
      reason: 'Backlog emergency.',
    });
    crash.arm('grant.confirmed:0');
    await expect(commandsOf(h.services).confirmBreakGlass(people.grace, grant.id)).rejects.toThrow(/crashed/);
    expect((await h.services.grants.get(grant.id))!.confirmedBy).toBe(people.grace);
    const review = () => h.notifier.to(people.grace, 'grant-notice').find((m) => m.card.data.grantId === grant.id)!;
    expect(review().card.data.canConfirm).toBe(true);

    await recovered(h, async () => (await actionsOf(h, grant.id)).includes('grant.break-glass.confirmed'));
    await recovered(h, async () => review().card.data.canConfirm === false);
    expect(review().card.data).toMatchObject({ statusLabel: 'Active (break-glass, confirmed by Grace Liu)' });
    // Confirming again changes nothing and audits nothing.
    await commandsOf(h.services).confirmBreakGlass(people.grace, grant.id);
    expect((await actionsOf(h, grant.id)).filter((a) => a === 'grant.break-glass.confirmed')).toHaveLength(1);
  });
});

describe('an alert change killed between the stored change and its effects', () => {
  const ONCALL_L1 = [people.liam, people.aisha];
  let h: Harness;
  const crash = crashPoint();
  beforeAll(async () => {
    h = await startHarness({ outbox: { leaseMs: LEASE_MS }, faultPoint: crash.hook });
  });
  afterAll(async () => {
    await h?.close();
  });

  const cards = (alertId: string) =>
    h.notifier.messages.filter((m) => m.versions[0]!.kind === 'alert' && m.versions[0]!.data.alertId === alertId);
  const latest = (alertId: string) => cards(alertId).map((m) => ({ to: m.to, data: m.versions.at(-1)!.data }));

  async function raised(name: string) {
    const agent = await activeAgent(h, { name });
    const alert = await h.services.supervision.alerts.raise({
      kind: 'drift',
      agentId: agent.id,
      severity: 'warning',
      summary: 'Accuracy fell.',
    });
    await eventually(() => cards(alert.id).length === ONCALL_L1.length);
    return alert;
  }

  it('raised, killed before paging anyone: the first level is paged once and the raise audited once', async () => {
    const agent = await activeAgent(h, { name: 'Raise Crash' });
    crash.arm('alert.raised:0');
    await expect(
      h.services.supervision.alerts.raise({ kind: 'drift', agentId: agent.id, severity: 'warning', summary: 'Accuracy fell.' }),
    ).rejects.toThrow(/crashed/);
    const [alert] = await h.services.supervision.alertRepo.list({ agentId: agent.id });
    expect(alert).toMatchObject({ status: 'open', level: 0 });
    expect(cards(alert!.id)).toHaveLength(0);

    await recovered(h, async () => cards(alert!.id).length === ONCALL_L1.length);
    expect(
      cards(alert!.id)
        .map((m) => m.to)
        .sort(),
    ).toEqual([...ONCALL_L1].sort());
    await recovered(h, async () => (await actionsOf(h, alert!.id)).includes('alert.raised'));
    expect((await actionsOf(h, alert!.id)).filter((a) => a === 'alert.raised')).toHaveLength(1);
    // Its escalation and re-notification timers were scheduled (once, keyed by the effect).
    const timers = await h.db.connection.db!.collection('agendaJobs').countDocuments({ name: 'alerts.timer', 'data.alertId': alert!.id });
    expect(timers).toBe(2);
  });

  it.each([0, 1, 2])('acknowledged, killed after %i of its effects: audited once, every card shows who acknowledged', async (k) => {
    const alert = await raised(`Ack Crash ${k}`);
    crash.arm(`alert.acknowledged:${k}`);
    await expect(commandsOf(h.services).acknowledgeAlert(people.liam, alert.id)).rejects.toThrow(/crashed/);
    expect((await h.services.supervision.alertRepo.get(alert.id))!.status).toBe('acknowledged');

    await recovered(h, async () => latest(alert.id).every((c) => c.data.status === 'acknowledged'));
    for (const card of latest(alert.id)) expect(String(card.data.stateLabel)).toContain('Acknowledged by Liam');
    await recovered(h, async () => (await actionsOf(h, alert.id)).includes('alert.acknowledged'));
    expect((await actionsOf(h, alert.id)).filter((a) => a === 'alert.acknowledged')).toHaveLength(1);
    // A second click changes nothing and audits nothing.
    await commandsOf(h.services).acknowledgeAlert(people.aisha, alert.id);
    expect((await actionsOf(h, alert.id)).filter((a) => a === 'alert.acknowledged')).toHaveLength(1);
  });

  it('resolved, killed before its effects: audited once, the cards show it resolved', async () => {
    const alert = await raised('Resolve Crash');
    crash.arm('alert.resolved:0');
    await expect(commandsOf(h.services).resolveAlert(people.aisha, alert.id)).rejects.toThrow(/crashed/);
    await recovered(h, async () => latest(alert.id).every((c) => c.data.status === 'resolved'));
    await recovered(h, async () => (await actionsOf(h, alert.id)).includes('alert.resolved'));
    expect((await actionsOf(h, alert.id)).filter((a) => a === 'alert.resolved')).toHaveLength(1);
  });

  it('snoozed, killed before its effects: the wake-up timer is scheduled once and the snooze audited once', async () => {
    const alert = await raised('Snooze Crash');
    crash.arm('alert.snoozed:0');
    await expect(commandsOf(h.services).snoozeAlert(people.liam, alert.id, '1h')).rejects.toThrow(/crashed/);
    const jobs = h.db.connection.db!.collection('agendaJobs');
    const wakes = () => jobs.countDocuments({ name: 'alerts.timer', 'data.alertId': alert.id, 'data.kind': 'wake' });
    expect(await wakes()).toBe(0);
    await recovered(h, async () => (await wakes()) === 1);
    await recovered(h, async () => latest(alert.id).every((c) => c.data.status === 'snoozed'));
    expect((await actionsOf(h, alert.id)).filter((a) => a === 'alert.snoozed')).toHaveLength(1);
    await h.services.outbox.drain();
    expect(await wakes()).toBe(1);
  });
});
