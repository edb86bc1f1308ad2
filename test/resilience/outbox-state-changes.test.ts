import { durationInWords } from '../../src/core/time.js';
import type { GrantRecord } from '../../src/core/agents.js';
import type { FlowRun } from '../../src/flows/types.js';
import { activeAgent } from '../access/support.js';
import { agentRecord, eventually, ownerlessAgent, people, startHarness, type Harness } from '../helpers/harness.js';
import { auditCount, crashing, crashPoint, recovered } from '../helpers/crash-point.js';
import { generateEvents } from '../helpers/synthetic-telemetry.js';
import { REVIEW_OPEN_EFFECT } from '../../src/core/access-review.js';
import { createReviewCycleRepository } from '../../src/store/review-cycle-store.js';
import { createEvalRepository } from '../../src/store/eval-store.js';
import { commandsOf } from '../helpers/commands.js';
import { asAgentId, asAlertId, asGrantId, asRunId } from '../helpers/ids.js';

/*
 * State changes outside the flows (retirement, check-ins, grants decided by hand, keys, suspension,
 * leavers' agents) store their audit entries and cards in the changed record's outbox with the
 * change. The writer "dies" (the fault point throws) right after the change was stored: nothing
 * was performed yet, the worker performs it, and people see each effect once. A module that still
 * performed an effect directly after its change would never reach the fault point (the expected
 * crash does not happen) or would show the effect before the worker ran: either fails here.
 */

const priya = 'priya.raman@brightwater.example';

const crash = crashPoint();
let h: Harness;

beforeAll(async () => {
  h = await startHarness(crashing(crash));
}, 60_000);
afterAll(async () => {
  await h?.close();
});

const notices = (to: string, title: string) => h.notifier.to(to, 'notice').filter((m) => String(m.card.data.title) === title).length;

const DAY = 86_400_000;

/** An active grant stored directly (requested by Tom, approved by Liam), ending in `days` days. */
async function storedGrant(id: string, agentId: string, days: number, overrides: Partial<GrantRecord> = {}): Promise<GrantRecord> {
  const now = new Date();
  const grant: GrantRecord = {
    id: asGrantId(id),
    agentId: asAgentId(agentId),
    scope: 'kb:read',
    reason: 'Answers from the handbook.',
    requestedBy: people.tom,
    approvedBy: [people.liam],
    startsAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + days * DAY).toISOString(),
    status: 'active',
    source: 'run_x',
    createdAt: now.toISOString(),
    ...overrides,
  };
  await h.services.grants.insertMany([grant]);
  return grant;
}

describe('retirement killed between the agent’s change and its effects', () => {
  it('a knowledge note: stored, audited once', async () => {
    const agent = agentRecord({ name: 'Note Crash' });
    await h.services.agents.insert(agent);
    crash.arm('knowledge.noted:0');
    const tom = h.services.bus.person(people.tom);
    await expect(
      h.services.bus.execute(tom, { type: 'agent.note.add', agentId: agent.id, text: 'Confuses refunds and credits.' }),
    ).rejects.toThrow(/crashed/);
    expect((await h.services.agents.get(agent.id))!.knowledgeNotes).toHaveLength(1);
    expect(await auditCount(h, agent.id, 'knowledge.noted')).toBe(0);
    await recovered(h, async () => (await auditCount(h, agent.id, 'knowledge.noted')) > 0);
    expect(await auditCount(h, agent.id, 'knowledge.noted')).toBe(1);
  });

  it('a retirement finishing, then the step run again: retired once, one audit entry, one hand-over notice each', async () => {
    const old = agentRecord({
      name: 'Retire Crash v1',
      status: 'retiring',
      knowledgeNotes: [{ id: 'note_rc', kind: 'note', text: 'Slow on Mondays.', by: people.tom, at: new Date().toISOString() }],
    });
    const heir = agentRecord({ name: 'Retire Crash v2', sponsors: [priya] });
    await h.services.agents.insert(old);
    await h.services.agents.insert(heir);
    await storedGrant(`${old.id}:kb:read:default`, old.id, 1, { reason: 'default', source: 'default' });
    const run = {
      id: `run_retire_${old.id}`,
      requester: people.tom,
      context: { agentId: old.id, successorId: heir.id, reason: 'Replaced by v2.', previousStatus: 'active' },
    } as unknown as FlowRun;

    crash.arm('agent.retired:0');
    await expect(h.services.retirement.complete(run)).rejects.toThrow(/crashed/);
    expect((await h.services.agents.get(old.id))!.status).toBe('retired');
    expect(await auditCount(h, old.id, 'agent.retired')).toBe(0);
    const title = `${heir.name} takes over from ${old.name}`;
    expect(notices(people.tom, title)).toBe(0);

    // The engine runs the step again after a crash: it finds the agent retired and adds nothing.
    const again = await h.services.retirement.complete(run);
    expect(again).toMatchObject({ grantsRevoked: 1, archiveDigest: (await h.services.retirement.archive(old.id)).digest });
    await recovered(
      h,
      async () => (await auditCount(h, old.id, 'agent.retired')) > 0 && notices(people.tom, title) > 0 && notices(priya, title) > 0,
    );
    expect(await auditCount(h, old.id, 'agent.retired')).toBe(1);
    expect(notices(people.tom, title)).toBe(1);
    expect(notices(priya, title)).toBe(1);
    const entry = (await h.services.audit.export({ agentId: old.id })).find((e) => e.action === 'agent.retired')!;
    expect(entry.details).toMatchObject({ runId: run.id, grantsRevoked: 1, successorId: heir.id, recommendedScopes: ['kb:read'] });
    expect((await h.services.retirement.archive(old.id)).verified).toBe(true);
    expect(JSON.parse((await h.services.retirement.archive(old.id)).bundle).agent).toMatchObject({
      status: 'retired',
      successorId: heir.id,
    });
  });

  it('a retirement beginning: the agent is retiring, the status change audited once', async () => {
    const agent = agentRecord({ name: 'Begin Crash' });
    await h.services.agents.insert(agent);
    const run = {
      id: `run_begin_${agent.id}`,
      requester: people.tom,
      context: { agentId: agent.id, reason: 'Obsolete.' },
    } as unknown as FlowRun;
    crash.arm('retirement.begun:0');
    await expect(h.services.retirement.begin(run)).rejects.toThrow(/crashed/);
    expect((await h.services.agents.get(agent.id))!.status).toBe('retiring');
    await recovered(h, async () => (await auditCount(h, agent.id, 'agent.status-changed')) > 0);
    expect(await auditCount(h, agent.id, 'agent.status-changed')).toBe(1);
  });
});

describe('check-ins killed between the stored record and its effects', () => {
  const reviews = (to: string, agentId: string) => h.notifier.to(to, 'checkin').filter((m) => m.card.data.agentId === agentId).length;

  it('a check-in run: the record stands, audited once, one review card per sponsor', async () => {
    const agent = agentRecord({ name: 'Check-in Crash', sponsors: [people.tom, priya] });
    await h.services.agents.insert(agent);
    crash.arm('checkin.completed:0');
    await expect(h.services.supervision.checkins.run(agent.id)).rejects.toThrow(/crashed/);
    const [record] = await h.services.supervision.checkinRepo.listForAgent(agent.id);
    expect(record).toBeDefined();
    expect(await auditCount(h, agent.id, 'checkin.completed')).toBe(0);
    expect(reviews(people.tom, agent.id)).toBe(0);
    await recovered(
      h,
      async () =>
        (await auditCount(h, agent.id, 'checkin.completed')) > 0 && reviews(people.tom, agent.id) > 0 && reviews(priya, agent.id) > 0,
    );
    expect(await auditCount(h, agent.id, 'checkin.completed')).toBe(1);
    expect(reviews(people.tom, agent.id)).toBe(1);
    expect(reviews(priya, agent.id)).toBe(1);
    expect((await h.services.audit.export({ agentId: agent.id })).find((e) => e.action === 'checkin.completed')!.details).toMatchObject({
      checkInId: record!.id,
    });
    // The stored record reads without its outbox.
    expect(Object.keys((await h.services.supervision.checkinRepo.get(record!.id))!)).not.toContain('outbox');
  });

  it('a sweep killed after storing its chunk: each record and status move audited once, one review card per sponsor, none again when the sweep is redone', async () => {
    const then = new Date(Date.now() - 40 * DAY).toISOString();
    const agent = agentRecord({ name: 'Sweep Crash', sponsors: [people.tom, priya], createdAt: then, statusChangedAt: then });
    await h.services.agents.insert(agent);
    const end = new Date(Math.floor(Date.now() / DAY) * DAY);
    await h.services.supervision.telemetry.ingest(
      generateEvents({ agentId: agent.id, profile: 'accuracy-drop', days: 30, end, seed: 7, driftDays: 14 }),
    );
    crash.arm('checkin.swept:0');
    await expect(h.services.supervision.checkins.sweep()).rejects.toThrow(/crashed/);
    // Stored: the record and the move to probation; performed: nothing yet.
    const [record] = await h.services.supervision.checkinRepo.listForAgent(agent.id);
    expect(record?.verdict).toBe('degraded');
    expect((await h.services.agents.get(agent.id))!.status).toBe('probation');
    expect(await auditCount(h, agent.id, 'checkin.completed')).toBe(0);
    expect(await auditCount(h, agent.id, 'agent.status-changed')).toBe(0);
    expect(reviews(people.tom, agent.id)).toBe(0);
    await recovered(
      h,
      async () =>
        (await auditCount(h, agent.id, 'checkin.completed')) > 0 &&
        (await auditCount(h, agent.id, 'agent.status-changed')) > 0 &&
        reviews(people.tom, agent.id) > 0 &&
        reviews(priya, agent.id) > 0,
    );
    // Once the dead sweep's claim expires, a sweep finishes its chunk: the stored record stands, nothing is performed twice.
    await h.services.supervision.checkins.sweep(new Date(Date.now() + 16 * 60_000));
    await h.services.outbox.drain();
    expect(await h.services.supervision.checkinRepo.listForAgent(agent.id)).toHaveLength(1);
    expect(await auditCount(h, agent.id, 'checkin.completed')).toBe(1);
    expect(await auditCount(h, agent.id, 'agent.status-changed')).toBe(1);
    expect(reviews(people.tom, agent.id)).toBe(1);
    expect(reviews(priya, agent.id)).toBe(1);
    const [review] = h.notifier.to(priya, 'checkin').filter((m) => m.card.data.agentId === agent.id);
    expect(JSON.stringify(review!.card.data)).toContain(record!.id);
    expect((await h.services.audit.verify()).ok).toBe(true);
  });

  it('a sponsor’s decision on a review: recorded once, audited once', async () => {
    const agent = agentRecord({ name: 'Decision Crash' });
    await h.services.agents.insert(agent);
    const record = await h.services.supervision.checkins.run(agent.id);
    crash.arm('checkin.decided:0');
    await expect(commandsOf(h.services).decideCheckIn(people.tom, record.id, 'keep')).rejects.toThrow(/crashed/);
    expect((await h.services.supervision.checkinRepo.get(record.id))!.decision).toMatchObject({ choice: 'keep', by: people.tom });
    expect(await auditCount(h, agent.id, 'checkin.keep')).toBe(0);
    await recovered(h, async () => (await auditCount(h, agent.id, 'checkin.keep')) > 0);
    expect(await auditCount(h, agent.id, 'checkin.keep')).toBe(1);
    // A second click records nothing and audits nothing.
    await commandsOf(h.services).decideCheckIn(people.tom, record.id, 'retire');
    expect(await auditCount(h, agent.id, 'checkin.keep')).toBe(1);
    expect(await auditCount(h, agent.id, 'checkin.retire')).toBe(0);
  });

  it('a Retire decision on a review: recorded with the start of the retirement, which the worker starts once', async () => {
    const agent = agentRecord({ name: 'Retire Choice Crash' });
    await h.services.agents.insert(agent);
    const record = await h.services.supervision.checkins.run(agent.id);
    const retirements = () => h.services.runs.list({ agentId: agent.id, flowId: 'retirement' });
    crash.arm('checkin.decided:0');
    await expect(commandsOf(h.services).decideCheckIn(people.tom, record.id, 'retire')).rejects.toThrow(/crashed/);
    expect((await h.services.supervision.checkinRepo.get(record.id))!.decision).toMatchObject({ choice: 'retire', by: people.tom });
    expect(await retirements()).toEqual([]);
    await recovered(h, async () => (await retirements()).length > 0 && (await auditCount(h, agent.id, 'checkin.retire')) > 0);
    const [run, ...more] = await retirements();
    expect(more).toEqual([]);
    expect(run).toMatchObject({
      requester: people.tom,
      context: { reason: `Retire chosen at check-in ${record.id} (verdict ${record.verdict}).` },
    });
    await eventually(async () => (await h.services.agents.get(agent.id))?.status === 'retiring');
    expect(await auditCount(h, agent.id, 'checkin.retire')).toBe(1);
    // A second click starts nothing more.
    await commandsOf(h.services).decideCheckIn(people.tom, record.id, 'retire');
    expect(await retirements()).toHaveLength(1);
  });
});

describe('grant changes made by the flows killed between the stored change and its effects', () => {
  const jobs = (grantId: string, name: string) =>
    h.db.connection.db!.collection('agendaJobs').countDocuments({ name, 'data.grantId': grantId });

  async function requested(name: string) {
    const agent = await activeAgent(h, { name, sponsors: [people.tom] });
    return commandsOf(h.services).requestAccess(people.tom, {
      agentId: agent.id,
      scope: 'crm:read',
      reason: 'Look up order history.',
      duration: '30d',
    });
  }

  it('a request: the pending grant stands, its request audited once', async () => {
    const agent = await activeAgent(h, { name: 'Request Crash', sponsors: [people.tom] });
    crash.arm('grant.requested:0');
    await expect(
      commandsOf(h.services).requestAccess(people.tom, { agentId: agent.id, scope: 'crm:read', reason: 'Look up order history.' }),
    ).rejects.toThrow(/crashed/);
    const [grant] = await h.services.grants.listForAgent(agent.id);
    expect(grant).toMatchObject({ status: 'pending', scope: 'crm:read' });
    expect(await auditCount(h, grant!.id, 'grant.requested')).toBe(0);
    await recovered(h, async () => (await auditCount(h, grant!.id, 'grant.requested')) > 0);
    expect(await auditCount(h, grant!.id, 'grant.requested')).toBe(1);
  });

  it('an activation: active, audited once, its expiry and reminders scheduled once', async () => {
    const { run, grant } = await requested('Activate Crash');
    crash.arm('grant.activated:0');
    await expect(h.services.access.activate({ ...run, steps: {} })).rejects.toThrow(/crashed/);
    expect((await h.services.grants.get(grant.id))!.status).toBe('active');
    expect(await auditCount(h, grant.id, 'grant.activated')).toBe(0);
    expect(await jobs(grant.id, 'grants.expire')).toBe(0);
    // The step run again finds the grant active and adds nothing.
    await h.services.access.activate({ ...run, steps: {} });
    await recovered(h, async () => (await auditCount(h, grant.id, 'grant.activated')) > 0 && (await jobs(grant.id, 'grants.expire')) > 0);
    expect(await auditCount(h, grant.id, 'grant.activated')).toBe(1);
    expect(await jobs(grant.id, 'grants.expire')).toBe(1);
    const reminders = await jobs(grant.id, 'grants.remind');
    expect(reminders).toBeGreaterThan(0);
    // Performing the timers' effect again (an at-least-once retry) keeps one job of each.
    const [timerEffect] = (await h.db.connection.db!.collection('grants').findOne({ _id: grant.id as never }))!.outbox as unknown[];
    expect(timerEffect).toBeUndefined();
    await h.services.access.activate({ ...run, steps: {} });
    await h.services.outbox.drain();
    expect(await jobs(grant.id, 'grants.expire')).toBe(1);
    expect(await jobs(grant.id, 'grants.remind')).toBe(reminders);
  });

  it('a denial: denied, audited once', async () => {
    const { run, grant } = await requested('Deny Crash');
    crash.arm('grant.denied:0');
    await expect(h.services.access.deny({ ...run, status: 'failed', outcome: 'denied' })).rejects.toThrow(/crashed/);
    expect((await h.services.grants.get(grant.id))!.status).toBe('denied');
    expect(await auditCount(h, grant.id, 'grant.denied')).toBe(0);
    await recovered(h, async () => (await auditCount(h, grant.id, 'grant.denied')) > 0);
    expect(await auditCount(h, grant.id, 'grant.denied')).toBe(1);
    await h.services.access.deny({ ...run, status: 'failed', outcome: 'denied' });
    await h.services.outbox.drain();
    expect(await auditCount(h, grant.id, 'grant.denied')).toBe(1);
  });
});

/** A whole agent key (a stored prefix is only its first 16 characters). */
const FULL_KEY = /rst_[0-9a-f]{8}_[A-Za-z0-9_-]{32}/;

describe('agent key changes killed between the stored credentials and their audit entry', () => {
  it('an onboarding key: issued once, audited once, the key shown once and never stored in the outbox', async () => {
    const agent = agentRecord({ name: 'Key Issue Crash' });
    await h.services.agents.insert(agent);
    const input = { agentId: agent.id, agentName: agent.name, requester: people.tom, sponsors: [people.tom], runId: asRunId('run_keys') };
    crash.arm('credential.issued:0');
    await expect(h.services.agentKeys.issueOnboardingKey(input)).rejects.toThrow(/crashed/);
    const stored = JSON.stringify((await h.db.connection.db!.collection('agents').findOne({ _id: agent.id as never }))!.outbox);
    expect((await h.services.agents.get(agent.id))!.credentials).toHaveLength(1);
    expect(stored).toContain('credential.issued');
    expect(stored).not.toMatch(FULL_KEY);
    expect(stored).not.toMatch(/telemetry key for/i);
    await recovered(h, async () => (await auditCount(h, agent.id, 'credential.issued')) > 0);
    expect(await auditCount(h, agent.id, 'credential.issued')).toBe(1);
    // A second attempt (the step run again) issues nothing and audits nothing.
    await h.services.agentKeys.issueOnboardingKey(input);
    await h.services.outbox.drain();
    expect((await h.services.agents.get(agent.id))!.credentials).toHaveLength(1);
    expect(await auditCount(h, agent.id, 'credential.issued')).toBe(1);
  });

  it.each([
    [
      'credential.rotated',
      (id: string) => h.services.bus.execute(h.services.bus.person(people.tom), { type: 'agent.key.rotate', agentId: id }),
    ],
    [
      'credential.reissued',
      (id: string) => h.services.bus.execute(h.services.bus.person(people.tom), { type: 'agent.key.reissue', agentId: id }),
    ],
    ['credential.revoked', (id: string) => h.services.agentKeys.revokeKeys(people.tom, asAgentId(id), 'Leaked in a log.')],
  ] as const)('%s: the credentials changed, audited once, no key in the outbox', async (action, change) => {
    const agent = agentRecord({ name: `Key Crash ${action}` });
    await h.services.agents.insert(agent);
    await h.services.agentKeys.issueOnboardingKey({
      agentId: agent.id,
      agentName: agent.name,
      requester: people.tom,
      sponsors: [people.tom],
      runId: asRunId('run_keys'),
    });
    const before = (await h.services.agents.get(agent.id))!.credentials;
    crash.arm(`${action}:0`);
    await expect(change(agent.id)).rejects.toThrow(/crashed/);
    expect((await h.services.agents.get(agent.id))!.credentials).not.toEqual(before);
    const doc = (await h.db.connection.db!.collection('agents').findOne({ _id: agent.id as never }))!;
    const pending = JSON.stringify(doc.outbox);
    expect(pending).toContain(action);
    // Only ids and prefixes: no key in clear waits in the database.
    expect(pending).not.toMatch(FULL_KEY);
    expect(await auditCount(h, agent.id, action)).toBe(0);
    await recovered(h, async () => (await auditCount(h, agent.id, action)) > 0);
    expect(await auditCount(h, agent.id, action)).toBe(1);
  });
});

describe('suspension and sponsorship changes killed between the stored change and its effects', () => {
  it('a suspension approved: suspended, audited once', async () => {
    const { suspensionSteps } = await import('../../src/core/suspension.js');
    const agent = agentRecord({ name: 'Suspend Crash' });
    await h.services.agents.insert(agent);
    const run = {
      id: `run_suspend_${agent.id}`,
      requester: people.liam,
      steps: { approve: { decisions: [{ decision: 'approve', by: people.aisha }] } },
      context: { agentId: agent.id, alertId: 'alr_test' },
    } as unknown as FlowRun;
    const suspend = suspensionSteps({ agents: h.services.agents, outbox: h.services.outbox }).actions['agent.suspend']!;
    crash.arm('agent.suspended:0');
    await expect(suspend({ run } as never)).rejects.toThrow(/crashed/);
    expect((await h.services.agents.get(agent.id))!.status).toBe('suspended');
    expect(await auditCount(h, agent.id, 'agent.suspended')).toBe(0);
    // The step run again finds the agent suspended and adds nothing.
    await suspend({ run } as never);
    await recovered(h, async () => (await auditCount(h, agent.id, 'agent.suspended')) > 0);
    expect(await auditCount(h, agent.id, 'agent.suspended')).toBe(1);
    expect((await h.services.audit.export({ agentId: agent.id })).find((e) => e.action === 'agent.suspended')!.details).toMatchObject({
      approvedBy: [people.aisha],
      alertId: 'alr_test',
    });
  });

  it('a sponsor assigned to an ownerless agent: the sponsor stands, audited once, told once', async () => {
    const agent = agentRecord({ name: 'Assign Crash', sponsors: ['gone@brightwater.example'] });
    await h.services.agents.insert(agent);
    crash.arm('sponsorship.assigned:0');
    await expect(h.services.leavers.assign(people.liam, agent.id, people.tom, asAlertId('alr_assign'))).rejects.toThrow(/crashed/);
    expect((await h.services.agents.get(agent.id))!.sponsors).toEqual([people.tom]);
    const title = `You sponsor ${agent.name} now`;
    expect(notices(people.tom, title)).toBe(0);
    await recovered(h, async () => (await auditCount(h, agent.id, 'sponsorship.assigned')) > 0 && notices(people.tom, title) > 0);
    expect(await auditCount(h, agent.id, 'sponsorship.assigned')).toBe(1);
    expect(notices(people.tom, title)).toBe(1);
  });
});

describe('break-glass uses and grant reminders killed between the stored change and its effects', () => {
  it('a break-glass use: its audit entry is stored with its run; after the crash it is audited once and the grant becomes active', async () => {
    const agent = await activeAgent(h, { name: 'Break-glass Crash', sponsors: [people.tom] });
    crash.arm('run.started:0');
    await expect(
      commandsOf(h.services).breakGlass(people.tom, { agentId: agent.id, scope: 'kb:read', reason: 'Handbook search is down.' }),
    ).rejects.toThrow(/crashed/);
    const [grant] = await h.services.grants.listForAgent(agent.id);
    expect(grant!.source).toBe('break-glass');
    expect(await auditCount(h, grant!.id, 'grant.break-glass')).toBe(0);
    await recovered(
      h,
      async () =>
        (await auditCount(h, grant!.id, 'grant.break-glass')) > 0 && (await h.services.grants.get(grant!.id))!.status === 'active',
    );
    expect(await auditCount(h, grant!.id, 'grant.break-glass')).toBe(1);
    expect(await auditCount(h, grant!.id, 'grant.activated')).toBe(1);
  });

  it('a reminder before expiry: audited once, each sponsor reminded once, a second run of the job adds nothing', async () => {
    const agent = await activeAgent(h, { name: 'Remind Crash', sponsors: [people.tom, priya] });
    const grant = await storedGrant(`grt_remind_${agent.id}`, agent.id, 3);
    crash.arm('grant.reminded:0');
    await expect(h.services.access.remindGrant(grant.id, 7 * DAY)).rejects.toThrow(/crashed/);
    const title = `${agent.name}'s access to kb:read ends in ${durationInWords(7 * DAY)}`;
    const reminded = (to: string) => h.notifier.to(to, 'grant-notice').filter((m) => String(m.card.data.title) === title).length;
    expect(reminded(people.tom)).toBe(0);
    expect(await h.services.access.remindGrant(grant.id, 7 * DAY)).toBe(false);
    await recovered(
      h,
      async () => (await auditCount(h, grant.id, 'grant.reminded')) > 0 && reminded(people.tom) > 0 && reminded(priya) > 0,
    );
    expect(await auditCount(h, grant.id, 'grant.reminded')).toBe(1);
    expect(reminded(people.tom)).toBe(1);
    expect(reminded(priya)).toBe(1);
    // Another offset is another reminder.
    expect(await h.services.access.remindGrant(grant.id, DAY)).toBe(true);
    expect(await auditCount(h, grant.id, 'grant.reminded')).toBe(2);
  });
});

describe('onboarding and rejection killed between the agent’s status change and its effects', () => {
  const runFor = (agentId: string, name: string) =>
    ({
      id: `run_onboard_${agentId}`,
      requester: people.tom,
      status: 'failed',
      outcome: 'denied',
      steps: { approvals: { decisions: [{ decision: 'approve', by: people.liam }] } },
      context: { agentId, agentName: name, roleId: 'support-assistant', sponsors: [people.tom] },
    }) as unknown as FlowRun;

  it('an onboarding: active with its default grants, audited once, the step run again adds nothing', async () => {
    const agent = agentRecord({ name: 'Onboard Crash', status: 'requested' });
    await h.services.agents.insert(agent);
    const onboard = h.services.registry.actions['agent.onboard']!;
    crash.arm('agent.onboarded:0');
    await expect(onboard({ run: runFor(agent.id, agent.name) } as never)).rejects.toThrow(/crashed/);
    expect((await h.services.agents.get(agent.id))!.status).toBe('active');
    const defaults = await h.services.grants.listForAgent(agent.id);
    expect(defaults.map((g) => g.scope).sort()).toEqual(['kb:read', 'tickets:read']);
    expect(await auditCount(h, agent.id, 'agent.onboarded')).toBe(0);
    await onboard({ run: runFor(agent.id, agent.name) } as never);
    await recovered(h, async () => (await auditCount(h, agent.id, 'agent.onboarded')) > 0);
    expect(await auditCount(h, agent.id, 'agent.onboarded')).toBe(1);
    for (const g of defaults) expect(await auditCount(h, g.id, 'grant.created')).toBe(1);
    expect(await auditCount(h, agent.id, 'credential.issued')).toBe(1);
  });

  it('a rejection: rejected, audited once', async () => {
    const agent = agentRecord({ name: 'Reject Crash', status: 'requested' });
    await h.services.agents.insert(agent);
    crash.arm('agent.rejected:0');
    await expect(h.services.registry.actions['agent.reject']!({ run: runFor(agent.id, agent.name) } as never)).rejects.toThrow(/crashed/);
    expect((await h.services.agents.get(agent.id))!.status).toBe('rejected');
    await recovered(h, async () => (await auditCount(h, agent.id, 'agent.rejected')) > 0);
    expect(await auditCount(h, agent.id, 'agent.rejected')).toBe(1);
  });
});

describe('access review answers killed between the stored answer and its effects', () => {
  async function inReview(name: string, cycle: string) {
    const agent = await activeAgent(h, { name, sponsors: [people.tom] });
    const grant = await storedGrant(`grt_review_${agent.id}`, agent.id, 30);
    await h.services.grants.transition(grant.id, ['active'], { review: { cycle, dueAt: new Date(Date.now() + DAY).toISOString() } });
    return grant;
  }

  it('a Revoke answer: recorded, audited once, and the grant is revoked once after the crash', async () => {
    const grant = await inReview('Review Crash', 'rev_crash');
    crash.arm('grant.review.answered:0');
    await expect(
      commandsOf(h.services).answerReview(people.tom, { cycle: 'rev_crash', grantId: grant.id, answer: 'revoke' }),
    ).rejects.toThrow(/crashed/);
    expect((await h.services.grants.get(grant.id))!).toMatchObject({ status: 'active', review: { answer: 'revoke', by: people.tom } });
    await recovered(
      h,
      async () => (await h.services.grants.get(grant.id))!.status === 'revoked' && (await auditCount(h, grant.id, 'grant.revoked')) > 0,
    );
    expect(await auditCount(h, grant.id, 'grant.review.revoked')).toBe(1);
    expect(await auditCount(h, grant.id, 'grant.revoked')).toBe(1);
  });

  it('an unanswered grant at the end of the grace period: revoked, audited once', async () => {
    const grant = await inReview('Review Due Crash', 'rev_due_crash');
    crash.arm('grant.review.enforced:0');
    await expect(h.services.reviews.due('rev_due_crash')).rejects.toThrow(/crashed/);
    expect((await h.services.grants.get(grant.id))!.status).toBe('revoked');
    expect(await auditCount(h, grant.id, 'grant.revoked')).toBe(0);
    await recovered(h, async () => (await auditCount(h, grant.id, 'grant.revoked')) > 0);
    expect(await auditCount(h, grant.id, 'grant.revoked')).toBe(1);
    // The deadline job is retried: nothing is left to enforce, but IT is still told, and the
    // escalation is recorded once however often it runs.
    const title = 'Access review: 1 grant not attested in time';
    expect(notices(people.liam, title)).toBe(0);
    await h.services.reviews.due('rev_due_crash');
    expect(notices(people.liam, title)).toBe(1);
    await h.services.reviews.due('rev_due_crash');
    expect(await auditCount(h, 'rev_due_crash', 'access-review.escalated')).toBe(1);
    expect(await auditCount(h, grant.id, 'grant.revoked')).toBe(1);
  });

  it('an unanswered grant whose deadline job died after recording the answer, before the revocation: revoked once when the job runs again', async () => {
    const grant = await inReview('Review Answered Crash', 'rev_answered_crash');
    // What the dead job stored: the answer; the revocation (stored with its entry) was to follow.
    await h.services.grants.answerReview(grant.id, 'rev_answered_crash', {
      answer: 'revoked-unanswered',
      by: 'scheduler',
      at: new Date().toISOString(),
    });
    await h.services.reviews.due('rev_answered_crash');
    await h.services.outbox.drain();
    expect((await h.services.grants.get(grant.id))!.status).toBe('revoked');
    expect(await auditCount(h, grant.id, 'grant.revoked')).toBe(1);
    await h.services.reviews.due('rev_answered_crash');
    await h.services.outbox.drain();
    expect(await auditCount(h, grant.id, 'grant.revoked')).toBe(1);
    expect(await auditCount(h, 'rev_answered_crash', 'access-review.escalated')).toBe(1);
  });

  const deadlines = (cycle: string) =>
    h.db.connection.db!.collection('agendaJobs').countDocuments({ name: 'grants.review-due', 'data.cycle': cycle });
  const reviewCards = (to: string, cycle: string) =>
    h.notifier.to(to, 'access-review').filter((m) => m.card.data.reviewId === cycle).length;

  it('a cycle start killed after its grants were marked: the start audited once, one review card per sponsor, one deadline', async () => {
    const agent = await activeAgent(h, { name: 'Review Start Crash', sponsors: [priya] });
    const grant = await storedGrant(`grt_start_${agent.id}`, agent.id, 30);
    crash.arm('access-review.started:0');
    await expect(h.services.reviews.start()).rejects.toThrow(/crashed/);
    const cycle = (await h.services.grants.get(grant.id))!.review!.cycle;
    expect(cycle).toMatch(/^rev_/);
    expect(await auditCount(h, cycle, 'access-review.started')).toBe(0);
    expect(reviewCards(priya, cycle)).toBe(0);
    expect(await deadlines(cycle)).toBe(0);
    await recovered(
      h,
      async () =>
        (await auditCount(h, cycle, 'access-review.started')) > 0 && reviewCards(priya, cycle) > 0 && (await deadlines(cycle)) > 0,
    );
    expect(await auditCount(h, cycle, 'access-review.started')).toBe(1);
    expect(reviewCards(priya, cycle)).toBe(1);
    expect(await deadlines(cycle)).toBe(1);
    const [card] = h.notifier.to(priya, 'access-review').filter((m) => m.card.data.reviewId === cycle);
    expect(card!.card.data.items).toEqual(expect.arrayContaining([expect.objectContaining({ grantId: grant.id, state: 'open' })]));
    expect((await h.services.audit.verify()).ok).toBe(true);
  });

  it('a cycle whose starter died before marking any grant: the worker marks them and starts it once', async () => {
    const agent = await activeAgent(h, { name: 'Review Open Crash', sponsors: [priya] });
    const grant = await storedGrant(`grt_open_${agent.id}`, agent.id, 30);
    const cycle = 'rev_open_crash';
    // What start() stored before dying: the cycle's record, holding the effect that finishes it.
    await createReviewCycleRepository(h.db.connection).create(
      { id: cycle, startedAt: new Date().toISOString(), dueAt: new Date(Date.now() + DAY).toISOString() },
      [h.services.outbox.effect(REVIEW_OPEN_EFFECT, { cycle })],
    );
    await recovered(h, async () => (await auditCount(h, cycle, 'access-review.started')) > 0 && reviewCards(priya, cycle) > 0);
    expect((await h.services.grants.get(grant.id))!.review).toMatchObject({ cycle });
    expect(await auditCount(h, cycle, 'access-review.started')).toBe(1);
    expect(reviewCards(priya, cycle)).toBe(1);
    expect(await deadlines(cycle)).toBe(1);
  });

  it('an escalation killed after it was recorded: audited once, IT told once, however often the deadline job runs', async () => {
    const grant = await inReview('Review Escalation Crash', 'rev_escalation_crash');
    const title = 'Access review: 1 grant not attested in time';
    const before = notices(people.liam, title);
    crash.arm('access-review.escalated:0');
    await expect(h.services.reviews.due('rev_escalation_crash')).rejects.toThrow(/crashed/);
    expect((await h.services.grants.get(grant.id))!.status).toBe('revoked');
    expect(await auditCount(h, 'rev_escalation_crash', 'access-review.escalated')).toBe(0);
    expect(notices(people.liam, title)).toBe(before);
    await recovered(
      h,
      async () => (await auditCount(h, 'rev_escalation_crash', 'access-review.escalated')) > 0 && notices(people.liam, title) > before,
    );
    await h.services.reviews.due('rev_escalation_crash');
    await h.services.outbox.drain();
    expect(await auditCount(h, 'rev_escalation_crash', 'access-review.escalated')).toBe(1);
    expect(notices(people.liam, title)).toBe(before + 1);
    expect(await auditCount(h, grant.id, 'grant.revoked')).toBe(1);
  });
});

describe('an evaluation endpoint registration killed between the stored endpoint and its audit entry', () => {
  it('the endpoint stands, audited once, and a second registration of the version is audited on its own', async () => {
    const agent = agentRecord({ name: 'Endpoint Crash', sponsors: [people.tom] });
    await h.services.agents.insert(agent);
    const registered = () => auditCount(h, agent.id, 'evaluation.endpoint-registered');
    crash.arm('evaluation.endpoint-registered:0');
    await expect(
      h.services.evaluations.registerEndpoint(people.tom, agent.id, '1.0.0', {
        kind: 'http',
        url: 'http://127.0.0.1:9/answer',
        secret: 's3cret-value',
      }),
    ).rejects.toThrow(/crashed/);
    expect(await createEvalRepository(h.db.connection).endpoint(agent.id, '1.0.0')).toMatchObject({ url: 'http://127.0.0.1:9/answer' });
    expect(await registered()).toBe(0);
    await recovered(h, async () => (await registered()) > 0);
    expect(await registered()).toBe(1);
    // Registered again without a secret: replaced field by field (the old secret is gone), audited once more.
    await h.services.evaluations.registerEndpoint(people.tom, agent.id, '1.0.0', { kind: 'http', url: 'http://127.0.0.1:9/v2' });
    const stored = await createEvalRepository(h.db.connection).endpoint(agent.id, '1.0.0');
    expect(stored).toMatchObject({ url: 'http://127.0.0.1:9/v2' });
    expect(stored).not.toHaveProperty('secret');
    expect(stored).not.toHaveProperty('outbox');
    expect(await registered()).toBe(2);
    const entries = (await h.services.audit.export({ agentId: agent.id })).filter((e) => e.action === 'evaluation.endpoint-registered');
    expect(entries.map((e) => e.details.secret)).toEqual(['stored encrypted', 'none']);
    expect(JSON.stringify(entries)).not.toContain('s3cret-value');
  });
});

describe('a responder proposing themselves as sponsor, killed after the proposal was stored on the alert', () => {
  it('the proposal is on the alert and audited once', async () => {
    const { agent, alert } = await ownerlessAgent(h, { name: 'Propose Crash', sponsors: ['gone@brightwater.example'] });
    const apply = async () => h.services.leavers.assign(people.liam, agent.id, people.liam, alert.id);
    crash.arm('alert.sponsor-proposed:0');
    await expect(h.services.supervision.alerts.assignSponsor(people.liam, alert.id, people.liam, apply)).rejects.toThrow(/crashed/);
    expect((await h.services.supervision.alertRepo.get(alert.id))!).toMatchObject({
      status: 'open',
      details: { proposedSponsor: people.liam },
    });
    expect(await auditCount(h, alert.id, 'alert.sponsor-proposed')).toBe(0);
    await recovered(h, async () => (await auditCount(h, alert.id, 'alert.sponsor-proposed')) > 0);
    expect(await auditCount(h, alert.id, 'alert.sponsor-proposed')).toBe(1);
  });
});

describe('retraining changes killed between the stored change and its effects', () => {
  it('a retraining requested: due, audited once, each sponsor told once; Start after it is audited once too', async () => {
    const agent = agentRecord({ name: 'Retrain Crash', sponsors: [people.tom, priya] });
    await h.services.agents.insert(agent);
    crash.arm('retraining.requested:0');
    await expect(h.services.development.requestRetraining(people.liam, agent.id, 'Fairness finding on EU tickets.')).rejects.toThrow(
      /crashed/,
    );
    const title = `Retraining requested: ${agent.name}`;
    expect(notices(people.tom, title)).toBe(0);
    await recovered(
      h,
      async () =>
        (await auditCount(h, agent.id, 'retraining.requested')) > 0 && notices(people.tom, title) > 0 && notices(priya, title) > 0,
    );
    expect(await auditCount(h, agent.id, 'retraining.requested')).toBe(1);
    expect(notices(people.tom, title)).toBe(1);
    expect(notices(priya, title)).toBe(1);

    crash.arm('retraining.started:0');
    await expect(
      h.services.bus.execute(h.services.bus.person(people.tom), { type: 'retraining.start', agentId: agent.id }),
    ).rejects.toThrow(/crashed/);
    await recovered(h, async () => (await auditCount(h, agent.id, 'retraining.started')) > 0);
    expect(await auditCount(h, agent.id, 'retraining.started')).toBe(1);
    // The stored record keeps no field of an earlier state and reads without its outbox.
    const stored = await h.db.connection.db!.collection('retraining').findOne({ _id: agent.id as never });
    expect(stored).toMatchObject({ state: 'started', by: people.tom });
  });
});

describe('new versions killed between the stored version and its effects', () => {
  const good = () => ({
    accuracy: 0.94,
    p95LatencyMs: 2800,
    costPerTaskUSD: 0.019,
    roleFitChecked: h.org.catalog.find((r) => r.id === 'support-assistant')!.evaluation.roleFit,
  });
  const versioned = async (name: string) => {
    const agent = agentRecord({
      name,
      sponsors: [priya, people.tom],
      baseline: { accuracy: 0.96, p95LatencyMs: 3000, costPerTaskUSD: 0.02 },
    });
    await h.services.agents.insert(agent);
    return agent;
  };

  it('a refused version: stored refused, audited once', async () => {
    const agent = await versioned('Refused Version Crash');
    crash.arm('version.refused:0');
    await expect(
      h.services.development.proposeVersion(h.services.engine, priya, agent.id, {
        version: '1.1.0',
        changelog: 'Shorter answers.',
        evaluation: { ...good(), accuracy: 0.9 },
      }),
    ).rejects.toThrow(/crashed/);
    expect((await h.services.development.versionHistory(agent.id))[0]).toMatchObject({ version: '1.1.0', status: 'refused' });
    expect(await auditCount(h, agent.id, 'version.refused')).toBe(0);
    await recovered(h, async () => (await auditCount(h, agent.id, 'version.refused')) > 0);
    expect(await auditCount(h, agent.id, 'version.refused')).toBe(1);
  });

  it('a proposed version: its promotion run linked, audited once', async () => {
    const agent = await versioned('Proposed Version Crash');
    crash.arm('version.proposed:0');
    await expect(
      h.services.development.proposeVersion(h.services.engine, priya, agent.id, {
        version: '1.2.0',
        changelog: 'Retrained on Q3 tickets.',
        evaluation: good(),
      }),
    ).rejects.toThrow(/crashed/);
    const [version] = await h.services.development.versionHistory(agent.id);
    expect(version).toMatchObject({ version: '1.2.0', status: 'proposed', runId: expect.any(String) });
    expect(Object.keys(version!)).not.toContain('outbox');
    await recovered(h, async () => (await auditCount(h, agent.id, 'version.proposed')) > 0);
    expect(await auditCount(h, agent.id, 'version.proposed')).toBe(1);
  });
});
