import type { AuditEntry } from '../../src/core/audit.js';
import { errorOf, eventually, FAST_FLOWS, passingEvaluation, people, startHarness, type Harness } from '../helpers/harness.js';
import { commandsOf } from '../helpers/commands.js';
import { asAgentId } from '../helpers/ids.js';

const HR_ROLE = 'hr-onboarding-assistant'; // high risk, touches PII and health data

async function requestHrAgent(h: Harness, name = 'Onboarding Buddy') {
  return commandsOf(h.services).requestAgent(people.amara, {
    roleId: HR_ROLE,
    name,
    purpose: 'Guides new hires through their first two weeks and answers benefits questions.',
    businessUnit: 'people-ops',
    sponsors: [people.amara],
    justification: 'Onboarding volume doubled this year.',
  });
}

const actions = (entries: AuditEntry[]) => entries.map((e) => e.action);

describe('agent-request flow (embedded database, real scheduler)', () => {
  let h: Harness;
  afterEach(async () => {
    await h?.close();
  });

  it('drives a high-risk PII role from request through evaluation and four approvals to active', async () => {
    h = await startHarness();
    const { agents, grants, audit } = h.services;
    const commands = commandsOf(h.services);
    const { run, agentId } = await requestHrAgent(h);
    expect(run.status).toBe('waiting');
    expect((await agents.get(asAgentId(agentId)))?.status).toBe('requested');

    const { verdict, run: afterEval } = await commands.submitEvaluation(people.aisha, agentId, passingEvaluation(h.org, HR_ROLE));
    expect(verdict.passed).toBe(true);
    expect(afterEval.status).toBe('waiting');
    const approvalStep = afterEval.steps.approvals!;
    expect(approvalStep.groups!.map((g) => g.role)).toEqual(['approver:people-ops', 'it-admin', 'security', 'dpo']);
    expect(afterEval.waitingFor.sort()).toEqual([people.aisha, people.elena, people.grace, people.liam, people.sofia].sort());

    // Every eligible approver got an approval card with buttons.
    for (const approver of afterEval.waitingFor) {
      const [card] = h.notifier.to(approver, 'approval-request');
      expect(card?.card.data).toMatchObject({
        state: 'pending',
        canDecide: true,
        runId: run.id,
        stepId: 'approvals',
        agentName: 'Onboarding Buddy',
      });
    }

    await commands.decide(people.sofia, { runId: run.id, stepId: 'approvals', decision: 'approve' });
    await commands.decide(people.liam, { runId: run.id, stepId: 'approvals', decision: 'approve', comment: 'Scopes look minimal.' });
    await commands.decide(people.grace, { runId: run.id, stepId: 'approvals', decision: 'approve' });
    const done = await commands.decide(people.elena, { runId: run.id, stepId: 'approvals', decision: 'approve' });
    expect(done.status).toBe('completed');

    // The agent is active with its catalog defaults only, and a hashed key.
    const agent = (await agents.get(asAgentId(agentId)))!;
    expect(agent.status).toBe('active');
    expect(agent.baseline?.accuracy).toBeCloseTo(passingEvaluation(h.org, HR_ROLE).accuracy);
    expect(agent.credentials).toHaveLength(1);
    const role = h.org.catalog.find((r) => r.id === HR_ROLE)!;
    const agentGrants = await grants.listForAgent(asAgentId(agentId));
    expect(agentGrants.map((g) => g.scope).sort()).toEqual([...role.defaultScopes].sort());
    for (const g of agentGrants) {
      expect(g.status).toBe('active');
      expect(g.approvedBy.sort()).toEqual([people.elena, people.grace, people.liam, people.sofia].sort());
      expect(Date.parse(g.expiresAt)).toBeGreaterThan(Date.now());
    }

    // The requester's status card moved in place to Active; the key was shown once, never stored in clear.
    const [status] = h.notifier.to(people.amara, 'request-status');
    expect(status!.card.data).toMatchObject({ statusLabel: 'Active', tone: 'success' });
    const keyNotice = h.notifier.to(people.amara, 'notice').find((m) => String(m.card.data.title).includes('telemetry key'));
    const key = /rst_[\w-]+/.exec(String(keyNotice?.card.data.text))![0];
    expect(JSON.stringify(agent)).not.toContain(key);
    expect(agent.credentials[0]!.hash).toHaveLength(64);

    // Approval cards were updated for every approver: approved, no buttons.
    for (const approver of [people.sofia, people.aisha]) {
      const [card] = h.notifier.to(approver, 'approval-request');
      expect(card!.card.data).toMatchObject({ state: 'approved', canDecide: false });
    }
    // Sponsors were told.
    expect(h.notifier.to(people.amara, 'notice').some((m) => m.card.data.title === 'Onboarding Buddy is active')).toBe(true);

    const trail = await audit.export({ agentId: asAgentId(agentId) });
    expect(actions(trail)).toEqual([
      'run.started',
      'agent.registered',
      'gate.passed',
      'approval.requested',
      'decision.approve',
      'decision.approve',
      'decision.approve',
      'decision.approve',
      'step.approved',
      'agent.onboarded',
      ...role.defaultScopes.map(() => 'grant.created'),
      'credential.issued',
      'run.completed',
    ]);
    expect(trail.filter((e) => e.action === 'decision.approve').map((e) => (e.actor as { email: string }).email)).toEqual([
      people.sofia,
      people.liam,
      people.grace,
      people.elena,
    ]);
    expect(await audit.verify()).toMatchObject({ ok: true });
  });

  it('explains a failed evaluation metric by metric and accepts a resubmission', async () => {
    h = await startHarness();
    const commands = commandsOf(h.services);
    const { agentId, run } = await requestHrAgent(h);
    const role = h.org.catalog.find((r) => r.id === HR_ROLE)!;
    const failing = {
      ...passingEvaluation(h.org, HR_ROLE),
      accuracy: role.evaluation.minAccuracy - 0.05,
      p95LatencyMs: role.evaluation.maxP95LatencyMs + 250,
    };
    const first = await commands.submitEvaluation(people.aisha, agentId, failing);
    expect(first.verdict.passed).toBe(false);
    const byMetric = Object.fromEntries(first.verdict.results.map((r) => [r.metric, r]));
    expect(byMetric.accuracy!.explanation).toBe(
      `accuracy ${(role.evaluation.minAccuracy - 0.05).toFixed(2)} is 0.05 below the minimum ${role.evaluation.minAccuracy.toFixed(2)}`,
    );
    expect(byMetric.p95LatencyMs!.explanation).toContain('250 ms over the maximum');
    expect(byMetric.costPerTaskUSD!.passed).toBe(true);
    expect(first.run.status).toBe('waiting');
    expect(first.run.steps.evaluation!.status).toBe('waiting');

    const second = await commands.submitEvaluation(people.aisha, agentId, passingEvaluation(h.org, HR_ROLE));
    expect(second.verdict.passed).toBe(true);
    expect(second.run.steps.evaluation!.attempts!.map((a) => a.passed)).toEqual([false, true]);
    expect(second.run.steps.approvals!.status).toBe('waiting');
    expect(actions(await h.services.audit.export({ agentId: asAgentId(agentId) }))).toEqual(
      expect.arrayContaining(['gate.failed', 'gate.passed', 'approval.requested']),
    );
    expect(run.id).toBe(second.run.id);
  });

  it('a deny ends the run with its reason and rejects the agent; a deny without reason is refused', async () => {
    h = await startHarness();
    const { agents } = h.services;
    const commands = commandsOf(h.services);
    const { agentId, run } = await requestHrAgent(h);
    await commands.submitEvaluation(people.aisha, agentId, passingEvaluation(h.org, HR_ROLE));
    await commands.decide(people.sofia, { runId: run.id, stepId: 'approvals', decision: 'approve' });

    expect(await errorOf(commands.decide(people.grace, { runId: run.id, stepId: 'approvals', decision: 'deny' }))).toMatchObject({
      code: 'invalid_input',
    });
    const denied = await commands.decide(people.grace, {
      runId: run.id,
      stepId: 'approvals',
      decision: 'deny',
      comment: 'Needs a DPIA first.',
    });
    expect(denied.status).toBe('denied');
    expect(denied.outcome).toContain('Needs a DPIA first.');
    expect((await agents.get(asAgentId(agentId)))?.status).toBe('rejected');
    // A later approval is refused, and nothing changes.
    expect(await errorOf(commands.decide(people.liam, { runId: run.id, stepId: 'approvals', decision: 'approve' }))).toMatchObject({
      code: 'request_closed',
    });
    const [card] = h.notifier.to(people.liam, 'approval-request');
    expect(card!.card.data).toMatchObject({ state: 'denied', canDecide: false, closedReason: 'Needs a DPIA first.' });
    // The name is free again for a new request.
    await expect(requestHrAgent(h)).resolves.toMatchObject({ run: expect.objectContaining({ status: 'waiting' }) });
  });

  it('separation of duties, outsiders and unknown people are refused with coded errors, changing nothing', async () => {
    h = await startHarness();
    const { runs } = h.services;
    const commands = commandsOf(h.services);
    // Sofia approves for people-ops, but she requests this one herself.
    const { run, agentId } = await commands.requestAgent(people.sofia, {
      roleId: HR_ROLE,
      name: 'Benefits Helper',
      purpose: 'Answers benefits questions for employees.',
      businessUnit: 'people-ops',
      sponsors: [people.sofia, people.amara],
    });
    await commands.submitEvaluation(people.aisha, agentId, passingEvaluation(h.org, HR_ROLE));
    const before = await runs.get(run.id);
    expect(before!.steps.approvals!.groups![0]!.eligible).not.toContain(people.sofia);

    expect(await errorOf(commands.decide(people.sofia, { runId: run.id, stepId: 'approvals', decision: 'approve' }))).toMatchObject({
      code: 'separation_of_duties',
      userMessage: expect.stringContaining('your own request'),
    });
    expect(await errorOf(commands.decide(people.daniel, { runId: run.id, stepId: 'approvals', decision: 'approve' }))).toMatchObject({
      code: 'forbidden',
    });
    expect(
      await errorOf(commands.decide('stranger@elsewhere.example', { runId: run.id, stepId: 'approvals', decision: 'approve' })),
    ).toMatchObject({
      code: 'unknown_person',
    });
    expect(
      await errorOf(commands.decide(people.liam, { runId: { $gt: '' } as never, stepId: 'approvals', decision: 'approve' })),
    ).toMatchObject({
      code: 'invalid_input',
    });
    const after = await runs.get(run.id);
    expect(after!.version).toBe(before!.version);
    expect(after!.steps.approvals!.decisions).toEqual([]);
  });

  it('rejects invalid requests with a message per field', async () => {
    h = await startHarness();
    const err = await errorOf(
      commandsOf(h.services).requestAgent(people.daniel, {
        roleId: 'support-assistant',
        name: 'x',
        purpose: 'Answers tickets',
        businessUnit: 'finance',
        sponsors: ['ghost@brightwater.example'],
      }),
    );
    expect(err.code).toBe('invalid_input');
    expect(err.userMessage).toContain('at least 2 characters');
    const err2 = await errorOf(
      commandsOf(h.services).requestAgent(people.daniel, {
        roleId: 'support-assistant',
        name: 'Ticket Bot',
        purpose: 'Answers tickets',
        businessUnit: 'finance',
        sponsors: ['ghost@brightwater.example'],
      }),
    );
    expect(err2.userMessage).toContain('may only be requested by customer-support');
    expect(err2.userMessage).toContain('ghost@brightwater.example');
  });

  it('20 concurrent decisions (same and different people) yield exactly one onboarding', async () => {
    h = await startHarness();
    const { audit, grants } = h.services;
    const commands = commandsOf(h.services);
    const { run, agentId } = await requestHrAgent(h, 'Race Runner');
    await commands.submitEvaluation(people.aisha, agentId, passingEvaluation(h.org, HR_ROLE));
    const deciders = [people.sofia, people.liam, people.aisha, people.grace, people.elena];
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        commands.decide(deciders[i % deciders.length]!, { runId: run.id, stepId: 'approvals', decision: 'approve' }),
      ),
    );
    const codes = outcomes.map((o) => (o.status === 'fulfilled' ? 'ok' : (o.reason as { code?: string }).code));
    expect(codes.every((c) => c === 'ok' || c === 'already_decided' || c === 'not_waiting' || c === 'request_closed')).toBe(true);

    const final = await eventually(async () => {
      const r = await h.services.runs.get(run.id);
      return r?.status === 'completed' ? r : undefined;
    });
    const decisions = final.steps.approvals!.decisions!;
    expect(new Set(decisions.map((d) => d.by)).size).toBe(decisions.length);
    const trail = await audit.export({ agentId: asAgentId(agentId) });
    expect(trail.filter((e) => e.action === 'agent.onboarded')).toHaveLength(1);
    expect(trail.filter((e) => e.action === 'credential.issued')).toHaveLength(1);
    expect(trail.filter((e) => e.action === 'step.approved')).toHaveLength(1);
    expect(trail.filter((e) => e.action === 'decision.approve')).toHaveLength(decisions.length);
    expect(trail.filter((e) => e.action === 'run.completed')).toHaveLength(1);
    const role = h.org.catalog.find((r) => r.id === HR_ROLE)!;
    expect(await grants.listForAgent(asAgentId(agentId))).toHaveLength(role.defaultScopes.length);
    expect(h.notifier.to(people.amara, 'notice').filter((m) => String(m.card.data.title).includes('telemetry key'))).toHaveLength(1);
    expect(await audit.verify()).toMatchObject({ ok: true });
  });

  it('expires without a decision: the run ends expired, cards say so, late approvals are refused', async () => {
    h = await startHarness({ flows: FAST_FLOWS });
    const { agents } = h.services;
    const commands = commandsOf(h.services);
    const { run, agentId } = await requestHrAgent(h, 'Slow Decider');
    await commands.submitEvaluation(people.aisha, agentId, passingEvaluation(h.org, HR_ROLE));
    await commands.decide(people.sofia, { runId: run.id, stepId: 'approvals', decision: 'approve' });

    const expired = await eventually(async () => {
      const r = await h.services.runs.get(run.id);
      return r?.status === 'expired' ? r : undefined;
    });
    expect(expired.steps.approvals!.status).toBe('expired');
    // The agent is rejected by the flow's onFailure action, right after the run is stored as expired.
    await eventually(async () => (await agents.get(asAgentId(agentId)))?.status === 'rejected');
    const err = await errorOf(commands.decide(people.liam, { runId: run.id, stepId: 'approvals', decision: 'approve' }));
    expect(err).toMatchObject({ code: 'request_closed', userMessage: expect.stringContaining('expired') });
    // Cards are updated after the run is stored (and after the onFailure action): wait for them.
    await eventually(() => h.notifier.to(people.grace, 'approval-request')[0]?.card.data.state === 'expired');
    const [card] = h.notifier.to(people.grace, 'approval-request');
    expect(card!.card.data).toMatchObject({ state: 'expired', canDecide: false });
    await eventually(() => /^Expired/.test(String(h.notifier.to(people.amara, 'request-status')[0]?.card.data.statusLabel)));
    expect(actions(await h.services.audit.export({ agentId: asAgentId(agentId) }))).toEqual(
      expect.arrayContaining(['run.expired', 'agent.rejected']),
    );
  }, 30_000);

  it('reminders and escalation still fire after a restart in the middle of the run', async () => {
    h = await startHarness({ flows: FAST_FLOWS });
    const { run, agentId } = await requestHrAgent(h, 'Restart Survivor');
    await commandsOf(h.services).submitEvaluation(people.aisha, agentId, passingEvaluation(h.org, HR_ROLE));
    const cardsBefore = h.notifier.messages.length;

    // Roster stops and comes back (new scheduler, new services) on the same database.
    h = await h.restart();
    const trail = await eventually(async () => {
      const entries = await h.services.audit.export({ agentId: asAgentId(agentId) });
      const names = actions(entries);
      return names.includes('approval.reminded') && names.includes('approval.escalated') ? entries : undefined;
    });
    const escalation = trail.find((e) => e.action === 'approval.escalated')!;
    expect(escalation.details).toMatchObject({ to: 'it-admin' });
    const reminded = trail.find((e) => e.action === 'approval.reminded')!;
    expect((reminded.details.to as string[]).sort()).toEqual([people.aisha, people.elena, people.grace, people.liam, people.sofia].sort());
    expect(h.notifier.messages.length).toBeGreaterThan(cardsBefore);
    // After escalation an IT admin may approve for a missing group: Liam approves twice over, counted once.
    const after = await h.services.runs.get(run.id);
    expect(after!.steps.approvals!.groups!.find((g) => g.role === 'dpo')!.eligible).toEqual(
      expect.arrayContaining([people.liam, people.aisha]),
    );
  }, 30_000);
});
