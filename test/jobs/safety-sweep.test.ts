import { safetySweep } from '../../src/jobs/safety-sweep.js';
import { grantRecord, people, SHIPPED_FLOWS, startHarness, type Harness } from '../helpers/harness.js';
import { activeAgent } from '../access/support.js';
import { asGrantId } from '../helpers/ids.js';
import { commandsOf } from '../helpers/commands.js';

/*
 * One lost or failing timer never leaves work undone: the sweep finds grants past expiry still
 * active, requests past their deadline still waiting and alerts past their escalation, and
 * completes them, audited as caught by the safety sweep.
 */
describe('the safety sweep', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  it('expires a grant, a request and escalates an alert whose timers were lost, audited as caught by the sweep', async () => {
    h = await startHarness({ flows: SHIPPED_FLOWS });
    const { services, db } = h;
    const agent = await activeAgent(h);
    const past = new Date(Date.now() - 10 * 60_000).toISOString();
    // An active grant 10 minutes past its expiry whose expiry job is gone.
    await services.grants.insertMany([
      grantRecord(agent.id, 'kb:read', {
        id: asGrantId('grt_lost'),
        reason: 'lost timer',
        startsAt: new Date(Date.now() - 3_600_000).toISOString(),
        expiresAt: past,
        createdAt: past,
      }),
    ]);
    // A request waiting for approval, its expiry 10 minutes ago, its timers gone.
    const { run } = await commandsOf(services).requestAccess(people.tom, { agentId: agent.id, scope: 'crm:read', reason: 'Orders.' });
    await db.connection.collection('agendaJobs').deleteMany({ 'data.runId': run.id });
    await db.connection.collection('flow_runs').updateOne({ _id: run.id as never }, { $set: { 'steps.approvals.expiresAt': past } });
    // An open alert last changed two hours ago, its escalation timer gone.
    const alert = await services.supervision.alerts.raise({ kind: 'dormant', agentId: agent.id, severity: 'warning', summary: 'Quiet.' });
    await db.connection.collection('agendaJobs').deleteMany({ 'data.alertId': alert.id });
    await db.connection
      .collection('alerts')
      .updateOne({ _id: alert.id as never }, { $set: { updatedAt: new Date(Date.now() - 2 * 3_600_000).toISOString() } });

    // Not yet overdue beyond the grace: nothing is touched.
    const early = await safetySweep(services.sweep, 24 * 3_600_000);
    expect(early).toEqual({ grants: 0, runs: 0, alerts: 0 });
    expect((await services.grants.get(asGrantId('grt_lost')))?.status).toBe('active');

    expect(await safetySweep(services.sweep)).toEqual({ grants: 1, runs: 1, alerts: 1 });
    expect((await services.grants.get(asGrantId('grt_lost')))?.status).toBe('expired');
    expect((await services.engine.get(run.id)).status).toBe('expired');
    expect((await services.supervision.alertRepo.get(alert.id))?.level).toBe(1);
    const caught = (await services.audit.export()).filter((e) => e.details.caughtBy === 'the safety sweep');
    expect(caught.map((e) => `${e.action}:${e.subject.id}:${e.actor.kind === 'system' ? e.actor.name : ''}`).sort()).toEqual(
      [
        `alert.escalated:${alert.id}:safety-sweep`,
        `grant.expired:grt_lost:safety-sweep`,
        `run.expired:${run.subject.id}:safety-sweep`,
      ].sort(),
    );
    // A second sweep finds nothing left to do.
    expect(await safetySweep(services.sweep)).toEqual({ grants: 0, runs: 0, alerts: 0 });
    expect(await services.audit.verify()).toMatchObject({ ok: true });
  });
});
