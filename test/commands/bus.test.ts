import type { CommandBus, CommandEvent } from '../../src/commands/index.js';
import {
  agentRecord,
  degradedCheckIn,
  errorOf,
  passingEvaluation,
  people,
  requestAwaitingApproval,
  startHarness,
  type Harness,
} from '../helpers/harness.js';
import { commandsOf } from '../helpers/commands.js';
import { asAgentId, asGrantId, asRunId } from '../helpers/ids.js';
import { activeAgent } from '../access/support.js';

/*
 * The command bus refuses, for every family of commands on it, who may not: the refusal is the
 * coded Roster error people saw before, it comes from the authorise stage (policies.ts) before
 * the handler's work, and the refused command changed nothing and recorded no read.
 */
describe('command bus: authorisation refusals, by family of commands', () => {
  let h: Harness;
  let events: CommandEvent[];
  let bus: CommandBus;
  beforeAll(async () => {
    h = await startHarness();
    bus = h.services.bus;
    h.services.bus.observe((event) => events.push(event));
  });
  beforeEach(() => {
    events = [];
  });
  afterAll(() => h?.close());

  const as = (email: string) => bus.person(email);
  const reads = async () => (await h.services.reads.list({})).length;
  /** The one event of the command just run. */
  const last = () => {
    expect(events).toHaveLength(1);
    return events[0]!;
  };

  const requestFor = (name: string) =>
    commandsOf(h.services).requestAgent(people.amara, {
      roleId: 'hr-onboarding-assistant',
      name,
      purpose: 'Guides new hires through their first week.',
      businessUnit: 'people-ops',
      sponsors: [people.amara],
      justification: 'Onboarding volume doubled.',
    });

  it('run.decide: the engine refuses who is no approver of the step, and the run keeps waiting', async () => {
    const { runId } = await requestAwaitingApproval(h.services, h.org, people.grace, 'Decide Refusal');
    events = [];
    const refused = await errorOf(bus.execute(as(people.daniel), { type: 'run.decide', runId, stepId: 'approvals', decision: 'approve' }));
    expect(refused.code).toBe('forbidden');
    expect(last()).toMatchObject({ type: 'run.decide', actor: people.daniel, outcome: 'forbidden', stage: 'handle' });
    const run = await h.services.engine.get(asRunId(runId));
    expect(run.status).toBe('waiting');
    expect(run.steps.approvals?.decisions ?? []).toEqual([]);
    // A deny without a reason is refused before anything is stored.
    events = [];
    const noReason = await errorOf(bus.execute(as(people.liam), { type: 'run.decide', runId, stepId: 'approvals', decision: 'deny' }));
    expect(noReason.code).toBe('invalid_input');
    expect((await h.services.engine.get(asRunId(runId))).steps.approvals?.decisions ?? []).toEqual([]);
    // A malformed decision never reaches a handler.
    events = [];
    const malformed = await errorOf(bus.execute(as(people.liam), { type: 'run.decide', runId, stepId: '', decision: 'approve' }));
    expect(malformed).toEqual({
      code: 'invalid_input',
      userMessage: 'That decision could not be read; please use the buttons on the card.',
    });
    expect(last()).toMatchObject({ outcome: 'invalid_input', stage: 'parse' });
  });

  it('run.show: a request is shown to whom it concerns; anyone else is refused', async () => {
    const { runId } = await requestAwaitingApproval(h.services, h.org, people.grace, 'Show Refusal');
    events = [];
    expect(await errorOf(bus.execute(as(people.daniel), { type: 'run.show', runId }))).toEqual({
      code: 'forbidden',
      userMessage: 'This request is not addressed to you.',
    });
    expect(last()).toMatchObject({ type: 'run.show', outcome: 'forbidden', stage: 'authorise' });
    expect((await bus.execute(as(people.liam), { type: 'run.show', runId })).id).toBe(runId);
  });

  it('agent.suspension.request: only an alert’s responders, refused before the alert is looked up; no flow starts', async () => {
    const before = (await h.services.runs.list({})).length;
    events = [];
    expect(await errorOf(bus.execute(as(people.amara), { type: 'agent.suspension.request', alertId: 'alr_missing' }))).toEqual({
      code: 'forbidden',
      userMessage: 'Only on-call responders, IT admins and security can ask to suspend an agent.',
    });
    expect(last()).toMatchObject({ type: 'agent.suspension.request', outcome: 'forbidden', stage: 'authorise' });
    // A responder is told the alert does not exist.
    expect((await errorOf(bus.execute(as(people.liam), { type: 'agent.suspension.request', alertId: 'alr_missing' }))).code).toBe(
      'not_found',
    );
    expect((await h.services.runs.list({})).length).toBe(before);
  });

  it('request.cancel: only the requester or an IT admin; the request keeps waiting', async () => {
    const { run } = await requestFor('Cancel Refusal');
    events = [];
    const refused = await errorOf(bus.execute(as(people.daniel), { type: 'request.cancel', runId: run.id }));
    expect(refused).toEqual({ code: 'forbidden', userMessage: 'Only the person who made this request, or an IT admin, can cancel it.' });
    expect(last()).toMatchObject({ type: 'request.cancel', outcome: 'forbidden', stage: 'authorise' });
    expect((await h.services.engine.get(run.id)).status).toBe('waiting');
    const badId = await errorOf(bus.execute(as(people.amara), { type: 'request.cancel', runId: 'not-a-run' }));
    expect(badId).toEqual({ code: 'invalid_input', userMessage: 'Name the request to cancel, e.g. `cancel run_1a2b3c4d`.' });
    // Its requester may.
    const cancelled = await bus.execute(as(people.amara), { type: 'request.cancel', runId: run.id });
    expect(cancelled.status).toBe('cancelled');
  });

  it('evaluation.submit: typed-in results are an IT admin’s; a stranger and the requester are refused, nothing recorded', async () => {
    const { agentId, run } = await requestFor('Evaluation Refusal');
    events = [];
    const stranger = await errorOf(
      bus.execute(as(people.daniel), { type: 'evaluation.submit', agentId, ...passingEvaluation(h.org, 'hr-onboarding-assistant') }),
    );
    expect(stranger).toEqual({
      code: 'forbidden',
      userMessage: "Only the agent's requester, its sponsors or an IT admin can evaluate it.",
    });
    expect(last()).toMatchObject({ type: 'evaluation.submit', outcome: 'forbidden', stage: 'authorise' });
    const requester = await errorOf(
      bus.execute(as(people.amara), { type: 'evaluation.submit', agentId, ...passingEvaluation(h.org, 'hr-onboarding-assistant') }),
    );
    expect(requester.code).toBe('forbidden');
    expect(requester.userMessage).toContain('Ask IT');
    expect((await h.services.agents.get(asAgentId(agentId)))?.evaluation).toBeUndefined();
    expect((await h.services.engine.get(run.id)).current).toBe(run.current);
  });

  it('agent.request: registering a shadow agent is for its alert’s responders; requests stay in the requester’s unit', async () => {
    const shadow = await errorOf(
      bus.execute(as(people.amara), {
        type: 'agent.request',
        roleId: 'kb-answerer',
        name: 'Shadow Refusal',
        purpose: 'Answers questions from the handbook.',
        businessUnit: 'engineering',
        sponsors: [people.amara],
        shadowAgentId: 'agt_shadow_nobody_registers',
      }),
    );
    // No open shadow alert names it: refused before any rule, as an id that does not exist.
    expect(shadow.code).toBe('invalid_input');
    expect(shadow.userMessage).toContain('is waiting to be registered');
    events = [];
    const otherUnit = await errorOf(
      bus.execute(as(people.amara), {
        type: 'agent.request',
        roleId: 'kb-answerer',
        name: 'Other Unit',
        purpose: 'Answers questions from the handbook.',
        businessUnit: 'engineering',
        sponsors: [people.amara],
      }),
    );
    expect(otherUnit.code).toBe('invalid_input');
    expect(otherUnit.userMessage).toContain('You can request agents for your own business unit');
    expect(await h.services.agents.list({ requestedBy: people.amara, businessUnit: 'engineering' })).toEqual([]);
  });

  it('agents.list and agent.show: oversight lists all, a unit its people; a stranger is told the agent does not exist', async () => {
    const { agentId } = await requestFor('Seen By Few');
    const before = await reads();
    events = [];
    expect(await errorOf(bus.execute(as(people.amara), { type: 'agents.list', scope: 'all' }))).toEqual({
      code: 'forbidden',
      userMessage: 'Only IT admins, security, compliance and the DPO can list every agent. Try `list mine`.',
    });
    expect(last()).toMatchObject({ type: 'agents.list', outcome: 'forbidden', stage: 'authorise' });
    expect((await errorOf(bus.execute(as(people.amara), { type: 'agents.list', scope: { businessUnit: 'finance' } }))).code).toBe(
      'forbidden',
    );
    events = [];
    expect(await errorOf(bus.execute(as(people.daniel), { type: 'agent.show', agent: agentId }))).toEqual({
      code: 'not_found',
      userMessage: `I couldn't find the agent "${agentId}".`,
    });
    expect(last()).toMatchObject({ type: 'agent.show', outcome: 'not_found', stage: 'authorise' });
    // Refusals record no read; what is allowed records one each.
    expect(await reads()).toBe(before);
    const shown = await bus.execute(as(people.amara), { type: 'agent.show', agent: 'Seen By Few' });
    expect(shown.agent.id).toBe(agentId);
    const all = await bus.execute(as(people.grace), { type: 'agents.list', scope: 'all' });
    expect(all.map((a) => a.id)).toContain(agentId);
    expect(await reads()).toBe(before + 2);
  });

  it('checkin.decide: a check-in’s review is its agent’s sponsors’ or an IT admin’s; nothing is recorded for anyone else', async () => {
    const agent = agentRecord({ name: 'Reviewed Agent', status: 'active', sponsors: [people.tom], businessUnit: 'customer-support' });
    await h.services.agents.insert(agent);
    const checkIn = degradedCheckIn(`chk_${agent.id}`, agent.id);
    await h.services.supervision.checkinRepo.save(checkIn);
    events = [];
    expect(await errorOf(bus.execute(as(people.daniel), { type: 'checkin.decide', checkInId: checkIn.id, choice: 'retire' }))).toEqual({
      code: 'forbidden',
      userMessage: "Only Reviewed Agent's sponsors or an IT admin can decide on its review.",
    });
    expect(last()).toMatchObject({ type: 'checkin.decide', outcome: 'forbidden', stage: 'authorise' });
    expect((await h.services.supervision.checkinRepo.get(checkIn.id))?.decision).toBeUndefined();
    expect((await h.services.agents.get(agent.id))?.status).toBe('active');
    // Its sponsor may; the choice is recorded once.
    const kept = await bus.execute(as(people.tom), { type: 'checkin.decide', checkInId: checkIn.id, choice: 'keep' });
    expect(kept.record.decision).toMatchObject({ choice: 'keep', by: people.tom });
  });

  it('alert.acknowledge, escalate, snooze, resolve and block: only the alert’s rotation, IT admins and security; the alert stays as it was', async () => {
    const alerts = h.services.supervision;
    const alert = await alerts.alerts.raise({
      kind: 'shadow',
      agentId: asAgentId('shadow-bus-refusal'),
      severity: 'critical',
      summary: 'An unregistered agent sent telemetry.',
      details: { agentIds: ['shadow-bus-refusal'] },
    });
    const oncall = h.org.people.filter((p) => p.roles.includes(`oncall:${alert.rotation}`)).map((p) => p.name);
    const words = `Only the on-call rotation (${oncall.join(', ')}), IT admins and security can act on alerts.`;
    const entries = async () => (await h.services.audit.export()).length;
    await h.services.outbox.idle();
    const audited = await entries();
    const commands = [
      { type: 'alert.acknowledge', alertId: alert.id },
      { type: 'alert.escalate', alertId: alert.id },
      { type: 'alert.snooze', alertId: alert.id, for: '4h' },
      { type: 'alert.resolve', alertId: alert.id },
      { type: 'alert.block', alertId: alert.id },
    ] as const;
    for (const command of commands) {
      events = [];
      expect(await errorOf(bus.execute(as(people.daniel), command))).toEqual({ code: 'forbidden', userMessage: words });
      expect(last()).toMatchObject({ type: command.type, actor: people.daniel, outcome: 'forbidden', stage: 'authorise' });
    }
    // An alert id that does not exist is refused in the same words, so an id reveals nothing.
    events = [];
    expect(await errorOf(bus.execute(as(people.daniel), { type: 'alert.resolve', alertId: 'alr_missing' }))).toEqual({
      code: 'forbidden',
      userMessage: words,
    });
    expect(last()).toMatchObject({ stage: 'authorise' });
    const after = (await alerts.alertRepo.get(alert.id))!;
    expect([after.status, after.level, after.version]).toEqual(['open', alert.level, alert.version]);
    expect((await alerts.telemetry.blocked(['shadow-bus-refusal'])).size).toBe(0);
    expect(await entries()).toBe(audited);
    // A responder may: Liam (IT admin) blocks it, which resolves it.
    const blocked = await bus.execute(as(people.liam), { type: 'alert.block', alertId: alert.id });
    expect(blocked).toMatchObject({ status: 'resolved', resolvedBy: people.liam });
    expect((await alerts.telemetry.blocked(['shadow-bus-refusal'])).has('shadow-bus-refusal')).toBe(true);
  });

  it('grant.extend, let-expire, revoke and confirm: the agent’s sponsors and IT admins (security confirms); the grant stays as it was', async () => {
    const agent = await activeAgent(h, { name: 'Granted Agent' });
    const { grant } = await commandsOf(h.services).requestAccess(people.tom, {
      agentId: agent.id,
      scope: 'crm:read',
      reason: 'Delivery questions.',
    });
    await h.services.outbox.idle();
    const entries = async () => (await h.services.audit.export()).length;
    const audited = await entries();
    const refusals = [
      [{ type: 'grant.extend', grantId: grant.id }, "Only the agent's sponsors and IT admins can do that."],
      [{ type: 'grant.let-expire', grantId: grant.id }, "Only Granted Agent's sponsors and IT admins can decide about the access of it."],
      [
        { type: 'grant.revoke', grantId: grant.id, reason: 'Not needed.' },
        "Only the agent's sponsors and IT admins can revoke its access.",
      ],
      [{ type: 'grant.confirm', grantId: grant.id }, 'Only security reviews break-glass access.'],
      // An unknown grant id is refused by role first, so it reveals nothing.
      [{ type: 'grant.confirm', grantId: 'grt_missing' }, 'Only security reviews break-glass access.'],
    ] as const;
    for (const [command, words] of refusals) {
      events = [];
      expect(await errorOf(bus.execute(as(people.daniel), command))).toEqual({ code: 'forbidden', userMessage: words });
      expect(last()).toMatchObject({ type: command.type, actor: people.daniel, outcome: 'forbidden', stage: 'authorise' });
    }
    expect((await h.services.grants.get(grant.id))?.status).toBe('pending');
    expect(await entries()).toBe(audited);
    // Its sponsor may revoke it.
    const revoked = await bus.execute(as(people.tom), { type: 'grant.revoke', grantId: grant.id, reason: 'Not needed after all.' });
    expect(revoked).toMatchObject({ status: 'revoked', endedBy: people.tom });
  });

  it('access.request, access.break-glass and access.scopes: the agent’s sponsors and IT admins; who may not see it is not told its name', async () => {
    const agent = await activeAgent(h, { name: 'Access Refusal', sponsors: [people.tom], businessUnit: 'customer-support' });
    const entries = async () => (await h.services.audit.export()).length;
    await h.services.outbox.idle();
    const audited = await entries();
    const commands = [
      { type: 'access.request', agentId: agent.id, scope: 'crm:read', reason: 'Order lookups.' },
      { type: 'access.break-glass', agentId: agent.id, scope: 'crm:read', reason: 'CRM outage today.' },
      { type: 'access.scopes', agent: agent.id },
    ] as const;
    // Daniel (finance) may not see the agent: refused in words that name nothing of it.
    for (const command of commands) {
      events = [];
      expect(await errorOf(bus.execute(as(people.daniel), command))).toEqual({
        code: 'forbidden',
        userMessage: "Only the agent's sponsors and IT admins can do that.",
      });
      expect(last()).toMatchObject({ type: command.type, actor: people.daniel, outcome: 'forbidden', stage: 'authorise' });
    }
    // By its name the agent is not even found for him (the look-up, before any rule).
    events = [];
    expect(
      await errorOf(
        bus.execute(as(people.daniel), { type: 'access.request', agentId: 'Access Refusal', scope: 'crm:read', reason: 'Orders.' }),
      ),
    ).toEqual({ code: 'not_found', userMessage: 'I couldn\'t find the agent "Access Refusal".' });
    expect(last()).toMatchObject({ outcome: 'not_found', stage: 'load' });
    // Grace (security) sees every agent but manages the access of none she does not sponsor: told who may.
    const seen = [
      [commands[0], "Only Access Refusal's sponsors and IT admins can request access for it."],
      [commands[1], "Only Access Refusal's sponsors and IT admins can break glass for it."],
    ] as const;
    for (const [command, words] of seen) {
      events = [];
      expect(await errorOf(bus.execute(as(people.grace), command))).toEqual({ code: 'forbidden', userMessage: words });
      expect(last()).toMatchObject({ type: command.type, outcome: 'forbidden', stage: 'authorise' });
    }
    // A request that cannot be read is refused before any look-up, in the words of the service's own check before.
    events = [];
    expect(await errorOf(bus.execute(as(people.tom), { ...commands[0], reason: 'x' }))).toMatchObject({
      code: 'invalid_input',
      userMessage: 'Please fix the access request: Say why the agent needs this access (at least 3 characters).',
    });
    expect(await errorOf(bus.execute(as(people.tom), { ...commands[1], scope: '' }))).toMatchObject({
      code: 'invalid_input',
      userMessage: 'Please fix the break-glass request: Name the scope, e.g. crm:read.',
    });
    expect(events.map((e) => e.stage)).toEqual(['parse', 'parse']);
    expect(await h.services.grants.listForAgent(agent.id)).toEqual([]);
    expect(await entries()).toBe(audited);
    // Its sponsor may: the scopes its role allows, and a request waiting for approval.
    expect((await bus.execute(as(people.tom), commands[2])).scopes).toEqual(expect.arrayContaining(['crm:read']));
    const requested = await bus.execute(as(people.tom), { ...commands[0], agentId: 'Access Refusal' });
    expect(requested.grant).toMatchObject({ agentId: agent.id, scope: 'crm:read', status: 'pending', requestedBy: people.tom });
  });

  it('access-review.answer: a grant’s review is its agent’s sponsors’ or an IT admin’s; nothing is recorded for anyone else', async () => {
    const agent = await activeAgent(h, { name: 'Reviewed Access', sponsors: [people.tom], businessUnit: 'customer-support' });
    const now = Date.now();
    const grant = {
      id: asGrantId(`grt_review_${agent.id}`),
      agentId: agent.id,
      scope: 'crm:read',
      reason: 'Granted earlier.',
      requestedBy: people.tom,
      approvedBy: [people.liam],
      startsAt: new Date(now - 86_400_000).toISOString(),
      expiresAt: new Date(now + 30 * 86_400_000).toISOString(),
      status: 'active' as const,
      source: 'run_earlier',
      createdAt: new Date(now - 86_400_000).toISOString(),
      review: { cycle: 'rev_bus_refusal', dueAt: new Date(now + 86_400_000).toISOString() },
    };
    await h.services.grants.insertMany([grant]);
    const entries = async () => (await h.services.audit.export()).length;
    await h.services.outbox.idle();
    const audited = await entries();
    for (const answer of ['keep', 'revoke'] as const) {
      events = [];
      expect(
        await errorOf(
          bus.execute(as(people.daniel), { type: 'access-review.answer', cycle: 'rev_bus_refusal', grantId: grant.id, answer }),
        ),
      ).toEqual({ code: 'forbidden', userMessage: "Only the agent's sponsors and IT admins answer its access review." });
      expect(last()).toMatchObject({ type: 'access-review.answer', actor: people.daniel, outcome: 'forbidden', stage: 'authorise' });
    }
    // A grant not in that review is not found, before any rule.
    events = [];
    expect(
      (
        await errorOf(
          bus.execute(as(people.daniel), { type: 'access-review.answer', cycle: 'rev_other', grantId: grant.id, answer: 'keep' }),
        )
      ).code,
    ).toBe('not_found');
    expect(last()).toMatchObject({ stage: 'load' });
    expect((await h.services.grants.get(grant.id))?.review).toEqual(grant.review);
    expect(await entries()).toBe(audited);
    // Its sponsor may: the answer is recorded once.
    const kept = await bus.execute(as(people.tom), {
      type: 'access-review.answer',
      cycle: 'rev_bus_refusal',
      grantId: grant.id,
      answer: 'keep',
    });
    expect(kept.review).toMatchObject({ answer: 'keep', by: people.tom });
    expect((await h.services.grants.get(grant.id))?.review).toMatchObject({ answer: 'keep', by: people.tom });
  });

  it('an unknown command type and a person not in the directory are refused with coded errors', async () => {
    const unknown = await errorOf(bus.execute(as(people.liam), { type: 'agent.delete' } as never));
    expect(unknown).toEqual({ code: 'invalid_input', userMessage: 'Roster does not know that command.' });
    expect(() => bus.person('nobody@brightwater.example')).toThrow(expect.objectContaining({ code: 'unknown_person' }));
  });
});
