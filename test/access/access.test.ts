import type { AuditEntry } from '../../src/core/audit.js';
import { eventually, people, type Harness } from '../helpers/harness.js';
import { activeAgent, breakGlassAllowed, errorOf, startAccessHarness } from './support.js';
import { commandsOf } from '../helpers/commands.js';
import { asGrantId } from '../helpers/ids.js';

const hiroshi = 'hiroshi.tanaka@brightwater.example'; // data-owner:crm
const priya = 'priya.raman@brightwater.example'; // approver:customer-support, data-owner:tickets

const auditOf = async (h: Harness, grantId: string): Promise<AuditEntry[]> =>
  (await h.services.audit.export()).filter((e) => e.subject.id === grantId && e.action.startsWith('grant.'));

/** The approvals of a crm:read request by Tom, the agent's only sponsor: IT (in his place), the CRM data owner, the DPO. */
async function approveCrmRead(h: Harness, runId: string) {
  const commands = commandsOf(h.services);
  await commands.decide(people.liam, { runId, stepId: 'approvals', decision: 'approve' });
  await commands.decide(hiroshi, { runId, stepId: 'approvals', decision: 'approve' });
  return commands.decide(people.elena, { runId, stepId: 'approvals', decision: 'approve' });
}

describe('access requests and grants (embedded database, real scheduler)', () => {
  let h: Harness;
  afterEach(async () => {
    await h?.close();
  });

  it('approves a grant whose clock starts at approval, then the job expires it and tells the sponsor', async () => {
    h = await startAccessHarness();
    const agent = await activeAgent(h);
    const { run, grant } = await commandsOf(h.services).requestAccess(people.tom, {
      agentId: agent.id,
      scope: 'crm:read',
      duration: '3s',
      reason: 'Look up order history when customers ask about deliveries.',
    });
    expect(grant.status).toBe('pending');
    expect(run.status).toBe('waiting');
    // Tom is the requester and the only sponsor: IT admins decide in his place.
    expect(run.steps.approvals!.groups!.map((g) => [g.role, g.eligible.sort()])).toEqual([
      ['sponsors', [people.aisha, people.liam].sort()],
      ['data-owner:crm', [hiroshi]],
      ['dpo', [people.elena]],
    ]);
    expect(
      await errorOf(commandsOf(h.services).decide(people.tom, { runId: run.id, stepId: 'approvals', decision: 'approve' })),
    ).toMatchObject({
      code: 'separation_of_duties',
    });
    const [card] = h.notifier.to(hiroshi, 'approval-request');
    expect(card!.card.data).toMatchObject({ agentName: 'Support Copilot', riskTier: 'medium', canDecide: true });
    expect(String(card!.card.data.roleTitle)).toContain('crm:read for 3 seconds');
    expect(String(card!.card.data.justification)).toContain('order history');

    const before = Date.now();
    const done = await approveCrmRead(h, run.id);
    expect(done.status).toBe('completed');
    const active = (await h.services.grants.get(grant.id))!;
    expect(active.status).toBe('active');
    expect(Date.parse(active.startsAt)).toBeGreaterThanOrEqual(before - 50);
    expect(Date.parse(active.expiresAt) - Date.parse(active.startsAt)).toBe(3000);
    expect(active.approvedBy.sort()).toEqual([people.elena, hiroshi, people.liam].sort());
    const profile = await commandsOf(h.services).showAgent(people.tom, agent.id);
    expect(profile.grants.filter((g) => g.status === 'active').map((g) => g.scope)).toEqual(['crm:read']);
    expect(h.notifier.to(people.tom, 'grant-notice').map((m) => m.card.data.title)).toContain('Support Copilot has crm:read for 3 seconds');

    const expired = await eventually(async () => {
      const g = await h.services.grants.get(grant.id);
      return g?.status === 'expired' ? g : undefined;
    });
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(active.expiresAt));
    expect(expired.endedBy).toBe('scheduler');
    // The expiry's audit entry is an outbox effect of the stored expiry: it follows it, at least once.
    const actions = await eventually(async () => {
      const found = (await auditOf(h, grant.id)).map((e) => e.action);
      return found.length >= 3 ? found : undefined;
    });
    expect(actions).toEqual(['grant.requested', 'grant.activated', 'grant.expired']);
    const notice = await eventually(() => h.notifier.to(people.tom, 'grant-notice').find((m) => /expired/.test(String(m.card.data.title))));
    expect(notice.card.data).toMatchObject({ statusLabel: 'Expired', scope: 'crm:read', canExtend: false });
  });

  it('a denied request and an expired one leave the grant denied, never active', async () => {
    h = await startAccessHarness();
    const agent = await activeAgent(h);
    const denied = await commandsOf(h.services).requestAccess(people.tom, { agentId: agent.id, scope: 'crm:read', reason: 'Orders.' });
    await commandsOf(h.services).decide(hiroshi, {
      runId: denied.run.id,
      stepId: 'approvals',
      decision: 'deny',
      comment: 'Use the order API.',
    });
    expect((await h.services.grants.get(denied.grant.id))!).toMatchObject({ status: 'denied', startsAt: '', expiresAt: '' });
    const card = h.notifier.to(hiroshi, 'approval-request')[0]!;
    expect(card.card.data).toMatchObject({ state: 'denied', canDecide: false });

    const expiring = await commandsOf(h.services).requestAccess(people.tom, {
      agentId: agent.id,
      scope: 'tickets:reply',
      reason: 'Replies.',
    });
    await eventually(async () => (await h.services.grants.get(expiring.grant.id))?.status === 'denied');
    expect((await h.services.engine.get(expiring.run.id)).status).toBe('expired');
    // The denial's audit entry is appended after the stored denial: wait for it rather than race it.
    const trail = await eventually(async () => {
      const found = (await auditOf(h, expiring.grant.id)).map((e) => e.action);
      return found.length >= 2 ? found : undefined;
    });
    expect(trail).toEqual(['grant.requested', 'grant.denied']);
  });

  it('refuses a forbidden scope at once with the catalog reason, and scopes outside the role', async () => {
    h = await startAccessHarness();
    const agent = await activeAgent(h);
    const refused = await errorOf(
      commandsOf(h.services).requestAccess(people.tom, { agentId: agent.id, scope: 'crm:write', reason: 'Fix addresses.' }),
    );
    expect(refused.code).toBe('scope_forbidden');
    expect(refused.userMessage).toContain('Changes to customer records stay with human agents');
    const outside = await errorOf(
      commandsOf(h.services).requestAccess(people.tom, { agentId: agent.id, scope: 'kb:write', reason: 'Draft articles.' }),
    );
    expect(outside.code).toBe('invalid_input');
    expect(outside.userMessage).toContain('tickets:reply, crm:read');
    const stranger = await errorOf(
      commandsOf(h.services).requestAccess(people.daniel, { agentId: agent.id, scope: 'crm:read', reason: 'Because.' }),
    );
    expect(stranger.code).toBe('forbidden');
    expect(await h.services.grants.listForAgent(agent.id)).toEqual([]);
  });

  it('caps a duration above the maximum and says so on the request and the approvers card', async () => {
    h = await startAccessHarness();
    const agent = await activeAgent(h);
    const result = await commandsOf(h.services).requestAccess(people.tom, {
      agentId: agent.id,
      scope: 'crm:read',
      duration: '180d',
      reason: 'Long project.',
    });
    expect(result.durationText).toBe('90 days');
    expect(result.capNote).toBe(
      'You asked for 180 days; 90 days is the longest crm:read may be granted, so the grant is capped at 90 days.',
    );
    const [card] = h.notifier.to(hiroshi, 'approval-request');
    expect(String(card!.card.data.purpose)).toContain('capped at 90 days');
    await approveCrmRead(h, result.run.id);
    const g = (await h.services.grants.get(result.grant.id))!;
    expect(Date.parse(g.expiresAt) - Date.parse(g.startsAt)).toBe(90 * 24 * 3600_000);
    const granted = h.notifier.to(people.tom, 'grant-notice').at(-1)!;
    expect(granted.card.data.capNote).toContain('capped at 90 days');
  });

  it('refuses a duplicate of an active or pending grant, including catalog defaults', async () => {
    h = await startAccessHarness();
    const agent = await activeAgent(h);
    await h.services.grants.insertMany([
      {
        id: asGrantId(`${agent.id}:kb:read:default`),
        agentId: agent.id,
        scope: 'kb:read',
        reason: 'default',
        requestedBy: people.tom,
        approvedBy: [],
        startsAt: new Date().toISOString(),
        expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
        status: 'active',
        source: 'default',
        createdAt: new Date().toISOString(),
      },
    ]);
    expect(
      (await errorOf(commandsOf(h.services).requestAccess(people.tom, { agentId: agent.id, scope: 'kb:read', reason: 'More.' }))).code,
    ).toBe('duplicate');
    await commandsOf(h.services).requestAccess(people.tom, { agentId: agent.id, scope: 'crm:read', reason: 'Orders.' });
    expect(
      (await errorOf(commandsOf(h.services).requestAccess(people.tom, { agentId: agent.id, scope: 'crm:read', reason: 'Again.' }))).code,
    ).toBe('duplicate');
  });

  it('reminds the sponsors before expiry with Extend and Let expire; Extend renews the grant through a new request', async () => {
    h = await startAccessHarness({ reminderOffsetsMs: [2500], remindGrantsLongerThanMs: 0 });
    const agent = await activeAgent(h);
    const { run, grant } = await commandsOf(h.services).requestAccess(people.tom, {
      agentId: agent.id,
      scope: 'crm:read',
      duration: '4s',
      reason: 'Delivery questions.',
    });
    await approveCrmRead(h, run.id);
    const reminder = await eventually(() => h.notifier.to(people.tom, 'grant-notice').find((m) => m.card.data.canExtend === true));
    expect(reminder.card.data).toMatchObject({ grantId: grant.id, canExtend: true, canLetExpire: true, statusLabel: 'Active' });
    expect(String(reminder.card.data.title)).toContain('ends in 2 seconds');
    await eventually(async () => ((await auditOf(h, grant.id)).some((e) => e.action === 'grant.reminded') ? true : undefined));

    const extension = await commandsOf(h.services).extendGrant(people.tom, grant.id);
    expect(extension.grant).toMatchObject({
      status: 'pending',
      extends: grant.id,
      scope: 'crm:read',
      reason: 'Extension: Delivery questions.',
    });
    await approveCrmRead(h, extension.run.id);
    const renewed = (await h.services.grants.get(extension.grant.id))!;
    expect(renewed.status).toBe('active');
    const old = (await h.services.grants.get(grant.id))!;
    expect(old).toMatchObject({ status: 'expired', endReason: `superseded by ${renewed.id}` });
    const active = (await h.services.grants.listForAgent(agent.id)).filter((g) => g.status === 'active');
    expect(active.map((g) => g.id)).toEqual([renewed.id]);
  });

  it('a revoke racing the last approval ends in one consistent state', async () => {
    h = await startAccessHarness();
    for (let i = 0; i < 4; i++) {
      const agent = await activeAgent(h, { name: `Race ${i}` });
      const { run, grant } = await commandsOf(h.services).requestAccess(people.tom, {
        agentId: agent.id,
        scope: 'crm:read',
        reason: 'Race.',
      });
      await commandsOf(h.services).decide(people.liam, { runId: run.id, stepId: 'approvals', decision: 'approve' });
      await commandsOf(h.services).decide(hiroshi, { runId: run.id, stepId: 'approvals', decision: 'approve' });
      await Promise.allSettled([
        commandsOf(h.services).decide(people.elena, { runId: run.id, stepId: 'approvals', decision: 'approve' }),
        commandsOf(h.services).revokeGrant(people.aisha, grant.id, 'Not needed after all.'),
      ]);
      const final = (await h.services.grants.get(grant.id))!;
      const finalRun = await h.services.engine.get(run.id);
      expect(final.status).toBe('revoked');
      expect(['completed', 'cancelled', 'rejected']).toContain(finalRun.status);
      const actions = (await auditOf(h, grant.id)).map((e) => e.action);
      expect(actions.filter((a) => a === 'grant.revoked')).toHaveLength(1);
      expect(actions).not.toContain('grant.denied');
      // Whichever won, nothing lets the grant come back to life.
      expect(await errorOf(commandsOf(h.services).revokeGrant(people.aisha, grant.id, 'again'))).toMatchObject({
        code: 'invalid_transition',
      });
    }
  });

  it('break-glass grants at once for the short TTL, pages security, and security revokes it from the review card', async () => {
    // crm:read holds PII, so only a scope marked break-glass-eligible in the configuration may be break-glassed.
    h = await startAccessHarness({}, breakGlassAllowed('crm:read'));
    const agent = await activeAgent(h, { sponsors: [people.tom, priya] });
    const before = Date.now();
    const { grant } = await commandsOf(h.services).breakGlass(people.tom, {
      agentId: agent.id,
      scope: 'crm:read',
      reason: 'Login outage: the agent must look up accounts.',
    });
    expect(grant.status).toBe('active');
    expect(grant.source).toBe('break-glass');
    expect(Date.parse(grant.expiresAt) - Date.parse(grant.startsAt)).toBe(4 * 3600_000);
    expect(Date.parse(grant.startsAt)).toBeGreaterThanOrEqual(before - 50);
    const [review] = h.notifier.to(people.grace, 'grant-notice');
    expect(review!.card.data).toMatchObject({ grantId: grant.id, canConfirm: true, canRevoke: true, scope: 'crm:read' });
    expect(h.notifier.to(priya, 'grant-notice')[0]!.card.data.title).toContain('Break-glass');

    expect(await errorOf(commandsOf(h.services).confirmBreakGlass(people.tom, grant.id))).toMatchObject({ code: 'forbidden' });
    await commandsOf(h.services).revokeGrant(people.grace, grant.id, 'No incident on record.');
    expect((await h.services.grants.get(grant.id))!.status).toBe('revoked');
    const updated = h.notifier.to(people.grace, 'grant-notice')[0]!;
    expect(updated.card.data).toMatchObject({ statusLabel: 'Revoked (break-glass)', canConfirm: false, canRevoke: false });
    expect(String(updated.card.data.title)).toContain('Revoked by Grace Liu');
    expect((await auditOf(h, grant.id)).map((e) => e.action)).toEqual(['grant.break-glass', 'grant.activated', 'grant.revoked']);
  });

  it('security confirms a break-glass use; the grant keeps running', async () => {
    h = await startAccessHarness({}, breakGlassAllowed('tickets:reply'));
    const agent = await activeAgent(h);
    const { grant } = await commandsOf(h.services).breakGlass(people.tom, {
      agentId: agent.id,
      scope: 'tickets:reply',
      reason: 'Backlog emergency.',
    });
    const confirmed = await commandsOf(h.services).confirmBreakGlass(people.grace, grant.id);
    expect(confirmed).toMatchObject({ status: 'active', confirmedBy: people.grace });
    const card = h.notifier.to(people.grace, 'grant-notice')[0]!;
    expect(card.card.data).toMatchObject({ statusLabel: 'Active (break-glass, confirmed by Grace Liu)', canConfirm: false });
  });
});
