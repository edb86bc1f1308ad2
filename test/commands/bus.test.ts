import { asAgent, asPerson, type CommandBus, type CommandEvent, type CommandOf } from '../../src/commands/index.js';
import type { AgentCommandType } from '../../src/commands/command.js';
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
import { asAgentId, asEvalRunId, asGrantId, asHandoffId, asRunId } from '../helpers/ids.js';
import { activeAgent } from '../access/support.js';
import { createLeaverRepository } from '../../src/store/leaver-store.js';
import { createEvalRepository } from '../../src/store/eval-store.js';

/** Customer support's approver: she sees its agents without sponsoring them. */
const PRIYA = 'priya.raman@brightwater.example';

/*
 * The command bus refuses, for every family of commands on it, who may not: the refusal is the
 * coded Roster error people saw before, it comes from the authorise stage (policies.ts) before
 * the handler's work, and the refused command changed nothing and recorded no read.
 */
describe('command bus: authorisation refusals, by family of commands', () => {
  let h: Harness;
  let events: CommandEvent[];
  let bus: CommandBus;
  /** An active customer-support agent Tom sponsors, with a degraded check-in and an open warning alert. */
  async function agentWithCheckInAndAlert(name: string, kind: 'drift' | 'error-spike', summary: string) {
    const agent = agentRecord({ name, status: 'active', sponsors: [people.tom], businessUnit: 'customer-support' });
    await h.services.agents.insert(agent);
    const checkIn = degradedCheckIn(`chk_${agent.id}`, agent.id);
    await h.services.supervision.checkinRepo.save(checkIn);
    const alert = await h.services.supervision.alerts.raise({ kind, agentId: agent.id, severity: 'warning', summary, details: {} });
    return { agent, checkIn, alert };
  }

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

  it('agent.decisions, compliance.report, fleet.show and dashboard.link: readers only; a stranger is told the agent does not exist', async () => {
    const agent = await activeAgent(h, { name: 'Decided Agent' });
    const entries = async () => (await h.services.audit.export()).length;
    await h.services.outbox.idle();
    const audited = await entries();
    const before = await reads();
    const refusals = [
      // Priya approves for customer support: she sees the agent, but only its readers read its decisions.
      [
        PRIYA,
        { type: 'agent.decisions', agent: agent.id },
        'forbidden',
        "Only Decided Agent's sponsors, IT admins, security and compliance can read its decisions.",
      ],
      [people.daniel, { type: 'agent.decisions', agent: agent.id }, 'not_found', `I couldn't find the agent "${agent.id}".`],
      // Named by a card's button (Decisions behind this), the decision rule alone answers, as on the card.
      [
        people.daniel,
        { type: 'agent.decisions', agent: agent.id, namedBy: 'card' },
        'forbidden',
        "Only Decided Agent's sponsors, IT admins, security and compliance can read its decisions.",
      ],
      [people.amara, { type: 'compliance.report' }, 'forbidden', 'Only compliance officers and the DPO can read the compliance report.'],
      [people.amara, { type: 'fleet.show' }, 'forbidden', 'The dashboard is for IT admins, compliance and the DPO.'],
      [people.grace, { type: 'dashboard.link' }, 'forbidden', 'The dashboard is for IT admins, compliance and the DPO.'],
    ] as const;
    for (const [who, command, code, words] of refusals) {
      events = [];
      expect(await errorOf(bus.execute(as(who), command))).toEqual({ code, userMessage: words });
      expect(last()).toMatchObject({ type: command.type, actor: who, outcome: code, stage: 'authorise' });
    }
    // Refused before the service looked: no 'decisions.viewed' entry, no read.
    expect(await entries()).toBe(audited);
    expect(await reads()).toBe(before);
    // Their readers may.
    expect((await bus.execute(as(people.tom), { type: 'agent.decisions', agent: 'Decided Agent' })).agent.id).toBe(agent.id);
    expect((await bus.execute(as(people.marcus), { type: 'dashboard.link' })).url).toContain('/dashboard?token=');
  });

  it('agent.decisions behind an alert or a check-in: the handler reads them and their window; who may not read the decisions is refused at authorise', async () => {
    const { agent, checkIn, alert } = await agentWithCheckInAndAlert('Behind Agent', 'error-spike', 'Errors spiked.');
    await h.services.outbox.idle();
    const audited = (await h.services.audit.export()).length;
    const words = "Only Behind Agent's sponsors, IT admins, security and compliance can read its decisions.";
    for (const behind of [{ alertId: alert.id }, { checkInId: checkIn.id }]) {
      // Priya sees the agent without reading its decisions; Daniel does neither: the decision rule alone answers, as on the card.
      for (const who of [PRIYA, people.daniel]) {
        events = [];
        expect(await errorOf(bus.execute(as(who), { type: 'agent.decisions', namedBy: 'card', ...behind }))).toEqual({
          code: 'forbidden',
          userMessage: words,
        });
        expect(last()).toMatchObject({ type: 'agent.decisions', actor: who, outcome: 'forbidden', stage: 'authorise' });
      }
    }
    expect((await h.services.audit.export()).length).toBe(audited);
    // Its sponsor reads them, from the alert's window (14 days before it; only failures behind an error spike) or the check-in's.
    const fromAlert = await bus.execute(as(people.tom), { type: 'agent.decisions', namedBy: 'card', alertId: alert.id });
    expect(fromAlert).toMatchObject({ agent: { id: agent.id }, alert: { id: alert.id }, outcome: 'failure' });
    expect(fromAlert.since?.getTime()).toBe(Date.parse(alert.createdAt) - 14 * 86_400_000);
    const fromCheckIn = await bus.execute(as(people.tom), { type: 'agent.decisions', namedBy: 'card', checkInId: checkIn.id });
    expect(fromCheckIn).toMatchObject({ agent: { id: agent.id }, checkIn: { id: checkIn.id } });
    expect(fromCheckIn.outcome).toBeUndefined();
    expect(fromCheckIn.since?.toISOString()).toBe(checkIn.window.currentFrom);
    // Naming nothing is refused at load, in the typed word's words.
    events = [];
    expect(await errorOf(bus.execute(as(people.tom), { type: 'agent.decisions' }))).toEqual({
      code: 'invalid_input',
      userMessage: 'Name the agent by id or by "name in quotes".',
    });
    expect(last()).toMatchObject({ type: 'agent.decisions', outcome: 'invalid_input', stage: 'load' });
  });

  it('agent.retire, note, archive, version.propose, retraining.postpone, reactivate: who may not see the agent is told it does not exist, who may not act is refused; nothing changes', async () => {
    const agent = await activeAgent(h, { name: 'Offboarded Agent' });
    const suspended = await activeAgent(h, { name: 'Resting Agent', status: 'suspended' });
    const runs = (await h.services.runs.list({})).length;
    const refusals = [
      [
        { type: 'agent.retire', agent: agent.id, reason: 'Obsolete now.' },
        "Only Offboarded Agent's sponsors or an IT admin can start its retirement.",
      ],
      [
        { type: 'agent.note.add', agent: agent.id, kind: 'note', text: 'A note.' },
        "Only Offboarded Agent's sponsors, IT admins, security and on-call can add knowledge notes.",
      ],
      [
        { type: 'agent.version.propose', agent: agent.id, version: '1.1.0', metrics: {}, changelog: 'Shorter answers.' },
        "Only Offboarded Agent's sponsors or an IT admin can propose a new version.",
      ],
      [
        { type: 'retraining.postpone', agent: agent.id, days: 7, reason: 'Quarter end.' },
        "Only Offboarded Agent's sponsors or an IT admin can start or postpone its retraining.",
      ],
      [
        { type: 'agent.reactivation.request', agent: suspended.id, reason: 'The prompt was fixed.' },
        "Only Resting Agent's sponsors or an IT admin can ask to reactivate it.",
      ],
    ] as const;
    for (const [command, words] of refusals) {
      // Priya (customer support's approver) sees the agent but does not sponsor it.
      events = [];
      expect(await errorOf(bus.execute(as(PRIYA), command))).toEqual({ code: 'forbidden', userMessage: words });
      expect(last()).toMatchObject({ type: command.type, actor: PRIYA, outcome: 'forbidden', stage: 'authorise' });
      // Daniel (finance) may not even see it.
      events = [];
      expect((await errorOf(bus.execute(as(people.daniel), command))).code).toBe('not_found');
      expect(last()).toMatchObject({ type: command.type, outcome: 'not_found', stage: 'authorise' });
    }
    events = [];
    expect((await errorOf(bus.execute(as(people.daniel), { type: 'agent.archive', agent: agent.id }))).code).toBe('not_found');
    expect(last()).toMatchObject({ type: 'agent.archive', stage: 'authorise' });
    // Nothing started, noted or postponed.
    expect((await h.services.runs.list({})).length).toBe(runs);
    expect(await h.services.agents.get(agent.id)).toMatchObject({ status: 'active', knowledgeNotes: [] });
    expect((await h.services.agents.get(suspended.id))?.status).toBe('suspended');
    expect(await h.services.development.retraining(agent.id)).toBeUndefined();
    // An agent named by nothing is refused before any handler.
    events = [];
    expect(await errorOf(bus.execute(as(people.tom), { type: 'agent.note.add', agent: '', kind: 'note', text: 'A note.' }))).toMatchObject({
      code: 'invalid_input',
      userMessage: 'Name the agent by id or by "name in quotes".',
    });
    expect(last()).toMatchObject({ stage: 'parse' });
    // Its sponsor may note it.
    const noted = await bus.execute(as(people.tom), {
      type: 'agent.note.add',
      agent: 'Offboarded Agent',
      kind: 'failure-mode',
      text: 'Missed a refund.',
    });
    expect(noted.note).toMatchObject({ kind: 'failure-mode', text: 'Missed a refund.', by: people.tom });
  });

  it('sponsorship.answer, typed (`sponsor <agt_…> accept <email>`): the person named answers for themselves; an IT admin confirms only someone they did not name', async () => {
    const agent = await activeAgent(h, {
      name: 'Proposed Agent',
      proposedSponsors: [{ id: 'sp_bus_1', email: PRIYA, by: people.liam, at: new Date().toISOString() }],
    });
    const refusals = [
      [people.liam, 'separation_of_duties', 'You named Priya Raman as sponsor, so another IT admin confirms it.'],
      [people.tom, 'forbidden', 'Only the person named, or an IT admin, can answer for a sponsorship.'],
    ] as const;
    for (const [who, code, words] of refusals) {
      events = [];
      expect(
        await errorOf(bus.execute(as(who), { type: 'sponsorship.answer', agent: agent.id, answer: 'accept', confirm: PRIYA })),
      ).toEqual({
        code,
        userMessage: words,
      });
      expect(last()).toMatchObject({ type: 'sponsorship.answer', actor: who, outcome: code, stage: 'authorise' });
    }
    expect((await h.services.agents.get(agent.id))?.sponsors).toEqual([people.tom]);
    // Another IT admin may.
    const confirmed = await bus.execute(as(people.aisha), {
      type: 'sponsorship.answer',
      agent: agent.id,
      answer: 'accept',
      confirm: PRIYA,
    });
    expect(confirmed).toMatchObject({ via: 'named', agent: { sponsors: [people.tom, PRIYA] } });
  });

  it('delegation.away, back and current: only ever the actor’s own, so nobody to refuse; the delegate is checked by the service', async () => {
    events = [];
    expect(
      await errorOf(bus.execute(as(people.maya), { type: 'delegation.away', from: '2030-01-02', to: '2030-01-09', delegate: people.maya })),
    ).toEqual({
      code: 'invalid_input',
      userMessage: 'Pick someone else: you cannot delegate to yourself.',
    });
    expect(last()).toMatchObject({ type: 'delegation.away', outcome: 'invalid_input', stage: 'handle' });
    const away = await bus.execute(as(people.maya), {
      type: 'delegation.away',
      from: '2030-01-02',
      to: '2030-01-09',
      delegate: people.sofia,
    });
    expect(away).toMatchObject({ principal: people.maya, delegate: people.sofia, status: 'scheduled' });
    expect(await bus.execute(as(people.sofia), { type: 'delegation.current' })).toBeUndefined();
    expect(await bus.execute(as(people.maya), { type: 'delegation.back' })).toBe(1);
  });

  it('agents.find: anyone may search and finds only what they may see; a filter that cannot be read is refused when the words are read', async () => {
    const hidden = await activeAgent(h, { name: 'Findable Hidden' });
    const byTom = await bus.execute(as(people.tom), { type: 'agents.find', query: 'findable' });
    expect(byTom.agents.map((a) => a.id)).toContain(hidden.id);
    events = [];
    const byDaniel = await bus.execute(as(people.daniel), { type: 'agents.find', query: 'findable' });
    expect(byDaniel.agents.map((a) => a.id)).not.toContain(hidden.id);
    expect(last()).toMatchObject({ type: 'agents.find', outcome: 'done', stage: 'done' });
    events = [];
    expect((await errorOf(bus.execute(as(people.daniel), { type: 'agents.find', query: 'status:sleeping' }))).code).toBe('invalid_input');
    expect(last()).toMatchObject({ type: 'agents.find', outcome: 'invalid_input', stage: 'load' });
  });

  // ── The agent buttons and prompts (chat-actions.ts) ──

  it('handoff.take and resolve: the queue takes a case, whoever took it resolves it; the case stays as it was', async () => {
    const jonas = 'jonas.weber@brightwater.example'; // the Recruiters queue
    const agent = await activeAgent(h, { name: 'Bus Screening Desk', catalogRoleId: 'resume-screener', businessUnit: 'people-ops' });
    const { view } = await h.services.handoffs.create(agent, {
      kind: 'candidate-review',
      summary: 'A candidate to review.',
      details: { candidateRef: 'CAND-BUS-1' },
      idempotency_key: `handoff-${agent.id}`,
    });
    const handoffId = view.id;
    events = [];
    expect(await errorOf(bus.execute(as(people.daniel), { type: 'handoff.take', handoffId }))).toEqual({
      code: 'forbidden',
      userMessage: 'Only the Recruiters queue takes this case.',
    });
    expect(last()).toMatchObject({ type: 'handoff.take', actor: people.daniel, outcome: 'forbidden', stage: 'authorise' });
    events = [];
    expect(await errorOf(bus.execute(as(people.daniel), { type: 'handoff.resolve', handoffId, outcome: 'advanced' }))).toEqual({
      code: 'forbidden',
      userMessage: 'Take the case before you resolve it.',
    });
    expect(last()).toMatchObject({ type: 'handoff.resolve', outcome: 'forbidden', stage: 'authorise' });
    expect((await h.services.handoffs.get(agent.id, asHandoffId(handoffId))).status).toBe('open');
    // Its queue takes it; then only the taker (or an IT admin) resolves it.
    expect(await bus.execute(as(jonas), { type: 'handoff.take', handoffId })).toMatchObject({ status: 'taken', takenBy: jonas });
    events = [];
    expect(await errorOf(bus.execute(as(people.daniel), { type: 'handoff.resolve', handoffId, outcome: 'advanced' }))).toEqual({
      code: 'forbidden',
      userMessage: 'Only the person who took this case resolves it.',
    });
    expect(last()).toMatchObject({ type: 'handoff.resolve', outcome: 'forbidden', stage: 'authorise' });
    // An outcome the case does not have is refused before who may resolve it is asked.
    events = [];
    expect((await errorOf(bus.execute(as(people.daniel), { type: 'handoff.resolve', handoffId, outcome: 'hired' }))).code).toBe(
      'not_found',
    );
    expect(last()).toMatchObject({ stage: 'load' });
    expect((await h.services.handoffs.get(agent.id, asHandoffId(handoffId))).status).toBe('taken');
    expect(await bus.execute(as(jonas), { type: 'handoff.resolve', handoffId, outcome: 'advanced' })).toMatchObject({
      status: 'resolved',
      resolvedBy: jonas,
    });
  });

  it('agent.note.add: the agent’s sponsors and alert responders, from a profile, an alert or a check-in; no note is stored', async () => {
    const { agent, checkIn, alert } = await agentWithCheckInAndAlert('Noted Agent', 'drift', 'Accuracy fell.');
    const words = "Only the agent's sponsors, IT admins, security and on-call can add knowledge notes.";
    const on = [{ agentId: agent.id }, { alertId: alert.id }, { checkInId: checkIn.id }];
    for (const about of on) {
      events = [];
      // Refused before the note's words are looked at: an empty note tells a stranger nothing more.
      const refused = await errorOf(bus.execute(as(people.daniel), { type: 'agent.note.add', ...about, kind: 'failure-mode', text: '' }));
      expect(refused).toEqual({ code: 'forbidden', userMessage: words });
      expect(last()).toMatchObject({ type: 'agent.note.add', actor: people.daniel, outcome: 'forbidden', stage: 'authorise' });
    }
    expect((await h.services.agents.get(agent.id))?.knowledgeNotes).toEqual([]);
    // A malformed id is refused in the words of a card's id.
    expect(await errorOf(bus.execute(as(people.tom), { type: 'agent.note.add', agentId: 'no such id!', text: 'x' }))).toEqual({
      code: 'invalid_input',
      userMessage: 'That "no such id!" is not a valid agent id.',
    });
    // Its sponsor may; the words are checked then.
    expect((await errorOf(bus.execute(as(people.tom), { type: 'agent.note.add', agentId: agent.id, text: 'ok' }))).code).toBe(
      'invalid_input',
    );
    const added = await bus.execute(as(people.tom), {
      type: 'agent.note.add',
      checkInId: checkIn.id,
      kind: 'failure-mode',
      text: 'Refunds confuse it.',
    });
    expect(added.note).toMatchObject({ kind: 'failure-mode', text: 'Refunds confuse it.', by: people.tom });
    expect(added.checkIn?.id).toBe(checkIn.id);
  });

  it('retraining.start and postpone: the agent’s sponsors and IT admins; the retraining stays as it was', async () => {
    const agent = agentRecord({ name: 'Retrained Agent', status: 'active', sponsors: [people.tom], businessUnit: 'customer-support' });
    await h.services.agents.insert(agent);
    await h.services.development.requestRetraining(people.liam, agent.id, 'Accuracy fell on refunds.');
    const words = "Only Retrained Agent's sponsors or an IT admin can start or postpone its retraining.";
    const commands = [
      { type: 'retraining.start', agentId: agent.id },
      // A bad form tells a stranger nothing: who may is asked first.
      { type: 'retraining.postpone', agentId: agent.id, days: Number.NaN, reason: '' },
    ] as const;
    for (const command of commands) {
      events = [];
      expect(await errorOf(bus.execute(as(people.daniel), command))).toEqual({ code: 'forbidden', userMessage: words });
      expect(last()).toMatchObject({ type: command.type, actor: people.daniel, outcome: 'forbidden', stage: 'authorise' });
    }
    expect((await h.services.development.retraining(agent.id))?.state).toBe('due');
    // Its sponsor may; the form is checked then.
    expect(
      await errorOf(
        bus.execute(as(people.tom), { type: 'retraining.postpone', agentId: agent.id, days: Number.NaN, reason: 'Peak season.' }),
      ),
    ).toEqual({ code: 'invalid_input', userMessage: 'Postpone by 1 to 90 days.' });
    const postponed = await bus.execute(as(people.tom), {
      type: 'retraining.postpone',
      agentId: agent.id,
      days: 14,
      reason: 'Peak season.',
    });
    expect(postponed.retraining).toMatchObject({ state: 'postponed', by: people.tom, reason: 'Peak season.' });
  });

  it('agent.reactivation.request: the agent’s sponsors and IT admins; one who may not see it is told it does not exist; no flow starts', async () => {
    const agent = agentRecord({ name: 'Suspended Agent', status: 'suspended', sponsors: [people.tom], businessUnit: 'finance' });
    await h.services.agents.insert(agent);
    const runs = async () => (await h.services.runs.list({ agentId: agent.id })).length;
    events = [];
    // Daniel works in finance and sees the agent; a reason too short is not looked at before who may.
    expect(await errorOf(bus.execute(as(people.daniel), { type: 'agent.reactivation.request', agentId: agent.id, reason: '' }))).toEqual({
      code: 'forbidden',
      userMessage: "Only Suspended Agent's sponsors or an IT admin can ask to reactivate it.",
    });
    expect(last()).toMatchObject({ type: 'agent.reactivation.request', outcome: 'forbidden', stage: 'authorise' });
    events = [];
    expect(
      await errorOf(bus.execute(as(people.amara), { type: 'agent.reactivation.request', agentId: agent.id, reason: 'Fixed the prompt.' })),
    ).toEqual({ code: 'not_found', userMessage: `I couldn't find the agent "${agent.id}".` });
    expect(last()).toMatchObject({ stage: 'authorise' });
    expect(await runs()).toBe(0);
    // Its sponsor may; the reason is checked then.
    expect((await errorOf(bus.execute(as(people.tom), { type: 'agent.reactivation.request', agentId: agent.id, reason: 'ok' }))).code).toBe(
      'invalid_input',
    );
    const { run } = await bus.execute(as(people.tom), {
      type: 'agent.reactivation.request',
      agentId: agent.id,
      reason: 'The refund prompt is fixed.',
    });
    expect(run).toMatchObject({ flowId: 'reactivation', requester: people.tom, status: 'waiting' });
  });

  it('agent.key.rotate and reissue: the agent’s sponsors and IT admins (its requester may get a new key); no key is issued', async () => {
    const agent = agentRecord({
      name: 'Keyed Agent',
      status: 'active',
      sponsors: [people.tom],
      requestedBy: people.amara,
      businessUnit: 'customer-support',
    });
    await h.services.agents.insert(agent);
    const refusals = [
      [{ type: 'agent.key.rotate', agentId: agent.id }, "Only Keyed Agent's sponsors and IT admins can rotate its key."],
      [{ type: 'agent.key.reissue', agentId: agent.id }, "Only Keyed Agent's requester, sponsors and IT admins can get it a new key."],
    ] as const;
    for (const [command, words] of refusals) {
      events = [];
      expect(await errorOf(bus.execute(as(people.daniel), command))).toEqual({ code: 'forbidden', userMessage: words });
      expect(last()).toMatchObject({ type: command.type, actor: people.daniel, outcome: 'forbidden', stage: 'authorise' });
    }
    // The requester may not rotate, but may get a new key after a failed delivery.
    expect((await errorOf(bus.execute(as(people.amara), { type: 'agent.key.rotate', agentId: agent.id }))).code).toBe('forbidden');
    expect((await h.services.agents.get(agent.id))?.credentials).toEqual([]);
    const { issued } = await bus.execute(as(people.amara), { type: 'agent.key.reissue', agentId: agent.id });
    expect((await h.services.agents.get(agent.id))?.credentials.map((c) => c.id)).toEqual([issued.credential.id]);
  });

  it('boundary.decide: IT admins other than the sponsor who asked; the change stays pending', async () => {
    const agent = agentRecord({
      name: 'Bus Procurer',
      status: 'active',
      catalogRoleId: 'procurement-agent',
      sponsors: [people.maya],
      requestedBy: people.maya,
      businessUnit: 'finance',
    });
    await h.services.agents.insert(agent);
    const change = await bus.execute(as(people.maya), {
      type: 'boundary.request',
      agent: agent.id,
      action: 'suppliers.read',
      mode: 'forbidden',
      reason: 'Supplier data is under a legal hold.',
    });
    for (const decision of ['approve', 'deny'] as const) {
      events = [];
      // A deny without a reason is not looked at before who may.
      expect(await errorOf(bus.execute(as(people.daniel), { type: 'boundary.decide', changeId: change.id, decision }))).toEqual({
        code: 'forbidden',
        userMessage: 'Only IT admins can decide boundary changes.',
      });
      expect(last()).toMatchObject({ type: 'boundary.decide', actor: people.daniel, outcome: 'forbidden', stage: 'authorise' });
    }
    expect((await h.services.boundaryChanges.get(change.id))?.status).toBe('pending');
    // An IT admin may; a deny needs a reason, then the decision is stored once.
    expect(
      (await errorOf(bus.execute(as(people.liam), { type: 'boundary.decide', changeId: change.id, decision: 'deny', reason: '' }))).code,
    ).toBe('invalid_input');
    expect(await bus.execute(as(people.liam), { type: 'boundary.decide', changeId: change.id, decision: 'approve' })).toMatchObject({
      status: 'approved',
      decidedBy: people.liam,
    });
  });

  it('compliance.gap.fix: compliance officers and the DPO, refused by role before the agent is looked up; nothing starts', async () => {
    const agent = await activeAgent(h, { name: 'Gap Agent' });
    const before = (await h.services.runs.list({ agentId: agent.id })).length;
    for (const agentId of [agent.id, 'agt_missing']) {
      events = [];
      expect(
        await errorOf(bus.execute(as(people.daniel), { type: 'compliance.gap.fix', agentId, gap: 'pii-scope-without-dpo-approval' })),
      ).toEqual({ code: 'forbidden', userMessage: 'Only compliance officers and the DPO can start the fix of a compliance gap.' });
      expect(last()).toMatchObject({ type: 'compliance.gap.fix', actor: people.daniel, outcome: 'forbidden', stage: 'authorise' });
    }
    expect((await h.services.runs.list({ agentId: agent.id })).length).toBe(before);
    // Compliance may; an agent that does not exist is "not found" to them.
    expect(
      (await errorOf(bus.execute(as(people.marcus), { type: 'compliance.gap.fix', agentId: 'agt_missing', gap: 'open-fairness-finding' })))
        .code,
    ).toBe('not_found');
    const fixed = await bus.execute(as(people.marcus), {
      type: 'compliance.gap.fix',
      agentId: agent.id,
      gap: 'pii-scope-without-dpo-approval',
    });
    expect(fixed).toMatchObject({ started: true, title: 'DPO review of Gap Agent started' });
  });

  it('sponsorship.answer: the person named, or an IT admin who did not name them; a stranger is told the agent does not exist', async () => {
    const proposal = { id: 'sp_bus_refusal', email: people.tom, by: people.maya, at: new Date().toISOString() };
    const agent = agentRecord({
      name: 'Proposed Agent',
      status: 'active',
      sponsors: [people.maya],
      businessUnit: 'finance',
      proposedSponsors: [proposal],
    });
    await h.services.agents.insert(agent);
    events = [];
    expect(
      await errorOf(
        bus.execute(as(people.daniel), { type: 'sponsorship.answer', agentId: agent.id, answer: 'accept', proposalId: proposal.id }),
      ),
    ).toEqual({ code: 'forbidden', userMessage: 'Only the person named, or an IT admin, can answer for a sponsorship.' });
    expect(last()).toMatchObject({ type: 'sponsorship.answer', actor: people.daniel, outcome: 'forbidden', stage: 'authorise' });
    events = [];
    expect(
      await errorOf(
        bus.execute(as(people.amara), { type: 'sponsorship.answer', agentId: agent.id, answer: 'decline', proposalId: proposal.id }),
      ),
    ).toEqual({ code: 'not_found', userMessage: `I couldn't find the agent "${agent.id}".` });
    expect(last()).toMatchObject({ stage: 'authorise' });
    expect(await h.services.agents.get(agent.id)).toMatchObject({ sponsors: [people.maya], proposedSponsors: [proposal] });
    // The person named may.
    const { agent: accepted } = await bus.execute(as(people.tom), { type: 'sponsorship.answer', agentId: agent.id, answer: 'accept' });
    expect(accepted.sponsors).toEqual(expect.arrayContaining([people.maya, people.tom]));
  });

  it('leaver.offer.accept (Accept / Retire on a leaver’s agent): only the manager the open offer names; nothing taken or started otherwise', async () => {
    const agent = await activeAgent(h, { name: 'Left Behind Agent' });
    const offers = createLeaverRepository(h.db.connection);
    await offers.offer({
      agentId: agent.id,
      leaver: 'gone@brightwater.example',
      manager: PRIYA,
      status: 'open',
      at: new Date().toISOString(),
    });
    const runs = (await h.services.runs.list({})).length;
    for (const then of ['keep', 'retire'] as const) {
      for (const who of [people.daniel, people.tom]) {
        events = [];
        expect(await errorOf(bus.execute(as(who), { type: 'leaver.offer.accept', agentId: agent.id, then }))).toEqual({
          code: 'forbidden',
          userMessage: 'No sponsorship of Left Behind Agent is waiting for you.',
        });
        expect(last()).toMatchObject({ type: 'leaver.offer.accept', actor: who, outcome: 'forbidden', stage: 'authorise' });
      }
    }
    expect(await offers.open(agent.id, PRIYA)).toMatchObject({ status: 'open' });
    expect((await h.services.agents.get(agent.id))?.sponsors).toEqual([people.tom]);
    expect((await h.services.runs.list({})).length).toBe(runs);
    // The manager named may, once.
    const taken = await bus.execute(as(PRIYA), { type: 'leaver.offer.accept', agentId: agent.id, then: 'keep' });
    expect(taken.agent.id).toBe(agent.id);
    expect((await h.services.agents.get(agent.id))?.sponsors).toEqual([people.tom, PRIYA]);
    events = [];
    expect((await errorOf(bus.execute(as(PRIYA), { type: 'leaver.offer.accept', agentId: agent.id, then: 'keep' }))).code).toBe(
      'forbidden',
    );
    expect(last()).toMatchObject({ stage: 'authorise' });
  });

  it('alert.retire (Retire agent on an alert): the agent’s sponsors and IT admins; nothing starts otherwise', async () => {
    const agent = await activeAgent(h, { name: 'Alerted Agent' });
    const alert = await h.services.supervision.alerts.raise({
      kind: 'drift',
      agentId: agent.id,
      severity: 'warning',
      summary: 'Accuracy dropped.',
      details: {},
    });
    const runs = (await h.services.runs.list({})).length;
    for (const who of [PRIYA, people.daniel]) {
      events = [];
      expect(await errorOf(bus.execute(as(who), { type: 'alert.retire', alertId: alert.id }))).toEqual({
        code: 'forbidden',
        userMessage: "Only Alerted Agent's sponsors or an IT admin can start its retirement.",
      });
      expect(last()).toMatchObject({ type: 'alert.retire', actor: who, outcome: 'forbidden', stage: 'authorise' });
    }
    expect((await h.services.runs.list({})).length).toBe(runs);
    expect((await h.services.agents.get(agent.id))?.status).toBe('active');
    const { run } = await bus.execute(as(people.liam), { type: 'alert.retire', alertId: alert.id });
    expect(run.context.reason).toBe(`Retire chosen from the drift alert ${alert.id}: Accuracy dropped.`);
  });

  it('alert.sponsor.assign (Assign sponsor on an alert): only the alert’s rotation, IT admins and security; nobody is made sponsor otherwise', async () => {
    const alert = await h.services.supervision.alerts.raise({
      kind: 'shadow',
      agentId: asAgentId('shadow-bus-sponsor'),
      severity: 'critical',
      summary: 'An unregistered agent sent telemetry.',
      details: { agentIds: ['shadow-bus-sponsor'] },
    });
    const oncall = h.org.people.filter((p) => p.roles.includes(`oncall:${alert.rotation}`)).map((p) => p.name);
    for (const who of [PRIYA, people.daniel]) {
      events = [];
      expect(await errorOf(bus.execute(as(who), { type: 'alert.sponsor.assign', alertId: alert.id, sponsor: people.tom }))).toEqual({
        code: 'forbidden',
        userMessage: `Only the on-call rotation (${oncall.join(', ')}), IT admins and security can act on alerts.`,
      });
      expect(last()).toMatchObject({ type: 'alert.sponsor.assign', actor: who, outcome: 'forbidden', stage: 'authorise' });
    }
    expect((await h.services.supervision.alertRepo.get(alert.id))?.details.sponsor).toBeUndefined();
    const assigned = await bus.execute(as(people.liam), { type: 'alert.sponsor.assign', alertId: alert.id, sponsor: people.tom });
    expect(assigned.details.sponsor).toBe(people.tom);
  });

  it('webhook.act (Retry, Re-enable on a webhook card): IT admins only, refused before the subscription is looked up', async () => {
    const refusals = [
      ['retry', 'Only IT admins can retry webhook deliveries.'],
      ['enable', 'Only IT admins can re-enable a webhook subscription.'],
    ] as const;
    for (const [action, words] of refusals) {
      for (const who of [PRIYA, people.tom]) {
        events = [];
        expect(await errorOf(bus.execute(as(who), { type: 'webhook.act', subscriptionId: 'no-such-feed', action }))).toEqual({
          code: 'forbidden',
          userMessage: words,
        });
        expect(last()).toMatchObject({ type: 'webhook.act', actor: who, outcome: 'forbidden', stage: 'authorise' });
      }
    }
    // An IT admin is told the subscription does not exist.
    events = [];
    expect(
      (await errorOf(bus.execute(as(people.liam), { type: 'webhook.act', subscriptionId: 'no-such-feed', action: 'retry' }))).code,
    ).toBe('not_found');
    expect(last()).toMatchObject({ stage: 'handle' });
  });

  it('evaluation.cancel (Cancel evaluation): who started it, the agent’s requester, sponsors and IT admins; the run goes on otherwise', async () => {
    const agent = await activeAgent(h, { name: 'Evaluated Agent', requestedBy: people.tom });
    const repo = createEvalRepository(h.db.connection);
    const now = new Date();
    const evalRun = {
      id: asEvalRunId('evr_bus_cancel'),
      agentId: agent.id,
      agentName: agent.name,
      roleId: agent.catalogRoleId,
      version: agent.version,
      purpose: 'request',
      requester: people.tom,
      suiteHash: 'x',
      suiteFile: 'suite.yaml',
      endpoint: { kind: 'http', url: 'http://127.0.0.1:1/' },
      status: 'running',
      total: 3,
      done: 0,
      passed: 0,
      startedAt: now.toISOString(),
      deadlineAt: new Date(now.getTime() + 3_600_000).toISOString(),
    } as const;
    expect(await repo.insertRun(evalRun)).toBe(true);
    for (const who of [PRIYA, people.daniel]) {
      events = [];
      expect(await errorOf(bus.execute(as(who), { type: 'evaluation.cancel', evalRunId: evalRun.id }))).toEqual({
        code: 'forbidden',
        userMessage: "Only Evaluated Agent's requester, its sponsors or an IT admin can cancel its evaluation.",
      });
      expect(last()).toMatchObject({ type: 'evaluation.cancel', actor: who, outcome: 'forbidden', stage: 'authorise' });
    }
    expect((await repo.getRun(evalRun.id))?.status).toBe('running');
    const cancelled = await bus.execute(as(people.tom), { type: 'evaluation.cancel', evalRunId: evalRun.id });
    expect(cancelled).toMatchObject({ status: 'cancelled', cancelledBy: people.tom });
  });

  it('checkin.numbers and alert.numbers: whoever may see the agent (and an alert’s responders); refused at authorise otherwise', async () => {
    const { checkIn, alert } = await agentWithCheckInAndAlert('Counted Agent', 'drift', 'Accuracy dropped.');
    events = [];
    expect(await errorOf(bus.execute(as(people.daniel), { type: 'checkin.numbers', checkInId: checkIn.id }))).toEqual({
      code: 'forbidden',
      userMessage: "Only those who may see the agent can read its check-in's numbers.",
    });
    expect(last()).toMatchObject({ type: 'checkin.numbers', actor: people.daniel, outcome: 'forbidden', stage: 'authorise' });
    events = [];
    expect(await errorOf(bus.execute(as(people.daniel), { type: 'alert.numbers', alertId: alert.id }))).toEqual({
      code: 'forbidden',
      userMessage: "Only the alert's responders and those who may see the agent can read its numbers.",
    });
    expect(last()).toMatchObject({ type: 'alert.numbers', actor: people.daniel, outcome: 'forbidden', stage: 'authorise' });
    // Its sponsor may read both.
    expect((await bus.execute(as(people.tom), { type: 'checkin.numbers', checkInId: checkIn.id })).record.id).toBe(checkIn.id);
    expect((await bus.execute(as(people.tom), { type: 'alert.numbers', alertId: alert.id })).alert.id).toBe(alert.id);
  });

  it('alert.register (Register on a shadow alert): its responders and the sponsor assigned; nothing is noted on the alert otherwise', async () => {
    const alert = await h.services.supervision.alerts.raise({
      kind: 'shadow',
      agentId: asAgentId('shadow-bus-register'),
      severity: 'critical',
      summary: 'An unregistered agent sent telemetry.',
      details: { agentIds: ['shadow-bus-register'] },
    });
    for (const who of [PRIYA, people.daniel]) {
      for (const roleId of [undefined, 'support-assistant']) {
        events = [];
        expect(await errorOf(bus.execute(as(who), { type: 'alert.register', alertId: alert.id, ...(roleId ? { roleId } : {}) }))).toEqual({
          code: 'forbidden',
          userMessage: 'Only on-call responders, IT admins, security and the sponsor assigned to it can register this agent.',
        });
        expect(last()).toMatchObject({ type: 'alert.register', actor: who, outcome: 'forbidden', stage: 'authorise' });
      }
    }
    expect((await h.services.supervision.alertRepo.get(alert.id))?.details).toEqual({ agentIds: ['shadow-bus-register'] });
    // A responder opens the role prompt, then is told a role the catalog does not hold; no sponsor assigned: they are named.
    expect(await bus.execute(as(people.liam), { type: 'alert.register', alertId: alert.id })).toEqual({
      alert: expect.objectContaining({ id: alert.id }),
      sponsor: people.liam,
    });
    events = [];
    expect(await errorOf(bus.execute(as(people.liam), { type: 'alert.register', alertId: alert.id, roleId: 'no-such-role' }))).toEqual({
      code: 'invalid_input',
      userMessage: 'Pick a catalog role.',
    });
    expect(last()).toMatchObject({ stage: 'handle' });
    const picked = await bus.execute(as(people.liam), { type: 'alert.register', alertId: alert.id, roleId: 'support-assistant' });
    expect(picked.role?.id).toBe('support-assistant');
  });

  it('evaluation.register and evaluation.show (Register endpoint and run, the failing cases): who manages or may see the evaluation; nothing registered otherwise', async () => {
    const agent = await activeAgent(h, { name: 'Interviewed Agent', requestedBy: people.tom, sponsors: [people.tom] });
    const repo = createEvalRepository(h.db.connection);
    const endpoint = { kind: 'http', url: 'https://agents.example.com/answer' };
    for (const who of [PRIYA, people.daniel]) {
      for (const given of [{}, { endpoint }]) {
        events = [];
        expect(await errorOf(bus.execute(as(who), { type: 'evaluation.register', agentId: agent.id, ...given }))).toEqual({
          code: 'forbidden',
          userMessage: "Only Interviewed Agent's requester, its sponsors or an IT admin can register its endpoint.",
        });
        expect(last()).toMatchObject({ type: 'evaluation.register', actor: who, outcome: 'forbidden', stage: 'authorise' });
      }
    }
    expect(await repo.latestEndpoint(agent.id)).toBeUndefined();
    // Its requester may open the form (nothing is registered until it is sent).
    expect(await bus.execute(as(people.tom), { type: 'evaluation.register', agentId: agent.id })).toEqual({
      agent: expect.objectContaining({ id: agent.id }),
    });
    expect(await repo.latestEndpoint(agent.id)).toBeUndefined();

    const now = new Date();
    const evalRun = {
      id: asEvalRunId('evr_bus_failures'),
      agentId: agent.id,
      agentName: agent.name,
      roleId: agent.catalogRoleId,
      version: agent.version,
      purpose: 'request',
      requester: people.tom,
      suiteHash: 'x',
      suiteFile: 'suite.yaml',
      endpoint: { kind: 'http', url: 'http://127.0.0.1:1/' },
      status: 'completed',
      total: 3,
      done: 3,
      passed: 3,
      startedAt: now.toISOString(),
      deadlineAt: new Date(now.getTime() + 3_600_000).toISOString(),
    } as const;
    expect(await repo.insertRun(evalRun)).toBe(true);
    for (const who of [PRIYA, people.daniel]) {
      events = [];
      expect(await errorOf(bus.execute(as(who), { type: 'evaluation.show', evalRunId: evalRun.id }))).toEqual({
        code: 'forbidden',
        userMessage: "Only Interviewed Agent's requester, sponsors, IT admins, security and compliance see its evaluation.",
      });
      expect(last()).toMatchObject({ type: 'evaluation.show', actor: who, outcome: 'forbidden', stage: 'authorise' });
    }
    // Compliance may see it.
    expect(await bus.execute(as(people.marcus), { type: 'evaluation.show', evalRunId: evalRun.id })).toMatchObject({
      run: { id: evalRun.id },
      cases: [],
    });
  });

  it("evaluation.open (eval <agent>, the Evaluate button): who may not see the agent is told it does not exist; the typed-in form is the IT admins' alone", async () => {
    const { run, agentId } = await requestFor('Opened Evaluation Agent');
    events = [];
    expect(await errorOf(bus.execute(as(people.daniel), { type: 'evaluation.open', agent: agentId }))).toEqual({
      code: 'not_found',
      userMessage: `I couldn't find the agent "${agentId}".`,
    });
    expect(last()).toMatchObject({ type: 'evaluation.open', actor: people.daniel, outcome: 'not_found', stage: 'authorise' });
    // No suite for its role here: the typed-in form, which only an IT admin gets (its requester is told how it is measured).
    expect(await bus.execute(as(people.amara), { type: 'evaluation.open', agent: 'Opened Evaluation Agent' })).toMatchObject({
      form: 'none',
      why: 'typed-in-refused',
      agent: { id: agentId },
      measured: false,
    });
    // An IT admin gets it: the request waits at its evaluation gate.
    expect(await bus.execute(as(people.liam), { type: 'evaluation.open', agent: agentId, typedIn: 'asked' })).toMatchObject({
      form: 'typed-in',
      agent: { id: agentId },
      request: { id: run.id },
    });
  });

  it('decision.record (Record as failure mode): who reads the agent’s decisions and adds notes on it; no note is stored otherwise', async () => {
    const agent = await activeAgent(h, { name: 'Failure Mode Agent', sponsors: [people.tom] });
    const refusals = [
      [people.daniel, "Only Failure Mode Agent's sponsors, IT admins, security and compliance can read its decisions."],
      // Compliance reads decisions but adds no notes.
      [people.marcus, "Only Failure Mode Agent's sponsors, IT admins, security and on-call can add knowledge notes."],
    ] as const;
    for (const [who, words] of refusals) {
      events = [];
      expect(await errorOf(bus.execute(as(who), { type: 'decision.record', agentId: agent.id, eventId: 'evt-1' }))).toEqual({
        code: 'forbidden',
        userMessage: words,
      });
      expect(last()).toMatchObject({ type: 'decision.record', actor: who, outcome: 'forbidden', stage: 'authorise' });
    }
    expect((await h.services.agents.get(agent.id))?.knowledgeNotes).toEqual([]);
    // Its sponsor is told a decision that is not in its log does not exist.
    events = [];
    expect(await errorOf(bus.execute(as(people.tom), { type: 'decision.record', agentId: agent.id, eventId: 'evt-none' }))).toEqual({
      code: 'not_found',
      userMessage: 'I couldn\'t find the decision "evt-none".',
    });
    expect(last()).toMatchObject({ stage: 'handle' });
  });

  it('opening a form (*.open): refused at authorise by its command’s own rule, in the same words as the command; nothing is read or stored', async () => {
    const working = agentRecord({ name: 'Formed Agent', status: 'active', sponsors: [people.tom], businessUnit: 'customer-support' });
    const suspended = agentRecord({ name: 'Formed Suspended', status: 'suspended', sponsors: [people.tom], businessUnit: 'finance' });
    await h.services.agents.insert(working);
    await h.services.agents.insert(suspended);
    await h.services.development.requestRetraining(people.liam, working.id, 'Accuracy fell on refunds.');
    const checkIn = degradedCheckIn(`chk_${working.id}`, working.id);
    await h.services.supervision.checkinRepo.save(checkIn);
    const drift = await h.services.supervision.alerts.raise({
      kind: 'drift',
      agentId: working.id,
      severity: 'warning',
      summary: 'Accuracy fell.',
      details: {},
    });
    const shadow = await h.services.supervision.alerts.raise({
      kind: 'shadow',
      agentId: asAgentId('shadow-bus-form'),
      severity: 'critical',
      summary: 'An unregistered agent sent telemetry.',
      details: { agentIds: ['shadow-bus-form'] },
    });
    const oncall = h.org.people.filter((p) => p.roles.includes(`oncall:${shadow.rotation}`)).map((p) => p.name);
    const noteWords = "Only the agent's sponsors, IT admins, security and on-call can add knowledge notes.";
    // [who, the form's opening, the command it opens (as its blank form), the words both are refused in]
    const refusals = [
      [
        people.daniel,
        { type: 'agent.note.open', agentId: working.id },
        { type: 'agent.note.add', agentId: working.id, text: '' },
        noteWords,
      ],
      [people.daniel, { type: 'agent.note.open', alertId: drift.id }, { type: 'agent.note.add', alertId: drift.id, text: '' }, noteWords],
      [
        people.daniel,
        { type: 'agent.note.open', checkInId: checkIn.id },
        { type: 'agent.note.add', checkInId: checkIn.id, text: '' },
        noteWords,
      ],
      // Typed by name, an agent the person may not see does not exist.
      [
        people.daniel,
        { type: 'agent.note.open', agent: 'Formed Agent' },
        { type: 'agent.note.add', agent: 'Formed Agent', text: '' },
        `I couldn't find the agent "Formed Agent".`,
      ],
      [
        PRIYA,
        { type: 'agent.version.open', agent: working.id },
        { type: 'agent.version.propose', agent: working.id, version: '', metrics: {}, changelog: '' },
        "Only Formed Agent's sponsors or an IT admin can propose a new version.",
      ],
      [
        people.daniel,
        { type: 'retraining.postpone.open', agentId: working.id },
        { type: 'retraining.postpone', agentId: working.id, days: Number.NaN, reason: '' },
        "Only Formed Agent's sponsors or an IT admin can start or postpone its retraining.",
      ],
      [
        people.daniel,
        { type: 'agent.reactivation.open', agentId: suspended.id },
        { type: 'agent.reactivation.request', agentId: suspended.id, reason: '' },
        "Only Formed Suspended's sponsors or an IT admin can ask to reactivate it.",
      ],
      [
        people.daniel,
        { type: 'alert.sponsor.open', alertId: shadow.id },
        { type: 'alert.sponsor.assign', alertId: shadow.id, sponsor: '' },
        `Only the on-call rotation (${oncall.join(', ')}), IT admins and security can act on alerts.`,
      ],
    ] as const;
    const before = await reads();
    for (const [who, opening, command, words] of refusals) {
      // A name the person may not see is not found when it is looked up (as for the command itself).
      const [code, stage] = words.startsWith('Only') ? ['forbidden', 'authorise'] : ['not_found', 'load'];
      events = [];
      expect(await errorOf(bus.execute(as(who), opening))).toEqual({ code, userMessage: words });
      expect(last()).toMatchObject({ type: opening.type, actor: who, outcome: code, stage });
      events = [];
      expect(await errorOf(bus.execute(as(who), command))).toEqual({ code, userMessage: words });
      expect(last()).toMatchObject({ type: command.type, stage });
    }
    expect(await reads()).toBe(before);
    expect((await h.services.agents.get(working.id))?.knowledgeNotes).toEqual([]);
    expect((await h.services.development.retraining(working.id))?.state).toBe('due');
    // Its sponsor opens each (and Liam, a responder, the sponsor form): the form is about what the command names.
    expect((await bus.execute(as(people.tom), { type: 'agent.note.open', checkInId: checkIn.id })).checkIn?.id).toBe(checkIn.id);
    expect((await bus.execute(as(people.tom), { type: 'agent.version.open', agent: 'Formed Agent' })).id).toBe(working.id);
    expect((await bus.execute(as(people.tom), { type: 'retraining.postpone.open', agentId: working.id })).id).toBe(working.id);
    expect((await bus.execute(as(people.tom), { type: 'agent.reactivation.open', agentId: suspended.id })).id).toBe(suspended.id);
    expect((await bus.execute(as(people.liam), { type: 'alert.sponsor.open', alertId: shadow.id })).id).toBe(shadow.id);
    // A resolved alert's sponsor form is closed; one that does not exist is not found, once who may is known.
    await h.services.supervision.alerts.resolve(people.liam, shadow.id);
    expect((await errorOf(bus.execute(as(people.liam), { type: 'alert.sponsor.open', alertId: shadow.id }))).code).toBe('request_closed');
    events = [];
    expect((await errorOf(bus.execute(as(people.liam), { type: 'alert.sponsor.open', alertId: 'alr_none' }))).code).toBe('not_found');
    expect(last()).toMatchObject({ type: 'alert.sponsor.open', stage: 'handle' });
  });

  it('boundary.request (the typed boundary): the agent’s sponsors; a bad mode tells a stranger nothing; nothing waits for IT', async () => {
    const agent = agentRecord({
      name: 'Bounded Procurer',
      status: 'active',
      catalogRoleId: 'procurement-agent',
      sponsors: [people.maya],
      requestedBy: people.maya,
      businessUnit: 'finance',
    });
    await h.services.agents.insert(agent);
    const ask = (mode: string) => ({
      type: 'boundary.request' as const,
      agent: 'Bounded Procurer',
      action: 'contracts.modify',
      mode,
      reason: 'Renewals at the same rate are routine now.',
    });
    const refusals = [
      // Daniel works in finance and sees the agent: who may is asked before the mode is read.
      [people.daniel, 'autonomous', 'forbidden', "Only Bounded Procurer's sponsors can ask to change its boundaries.", 'authorise'],
      [people.daniel, 'sometimes', 'forbidden', "Only Bounded Procurer's sponsors can ask to change its boundaries.", 'authorise'],
      // Amara does not see it: it does not exist for her.
      [people.amara, 'autonomous', 'not_found', `I couldn't find the agent "Bounded Procurer".`, 'load'],
      // Its sponsor is told what is wrong with the words, in the service's words.
      [people.maya, 'sometimes', 'invalid_input', 'mode: the boundary must be autonomous, needs-approval or forbidden.', 'handle'],
    ] as const;
    const before = await reads();
    for (const [who, mode, code, words, stage] of refusals) {
      events = [];
      expect(await errorOf(bus.execute(as(who), ask(mode)))).toEqual({ code, userMessage: words });
      expect(last()).toMatchObject({ type: 'boundary.request', actor: who, outcome: code, stage });
    }
    expect(await reads()).toBe(before);
    const liam = as(people.liam);
    expect((await h.services.boundaryChanges.pendingFor(liam)).filter((c) => c.agentId === agent.id)).toEqual([]);
    // Its sponsor asks: the change waits for IT.
    expect(await bus.execute(as(people.maya), ask('autonomous'))).toMatchObject({
      agentId: agent.id,
      action: 'contracts.modify',
      to: 'autonomous',
      status: 'pending',
      requestedBy: people.maya,
    });
  });

  it('tasks.waiting and home.fleet (pending, the home card): anyone may ask; each sees only what they may decide, the fleet only IT admins', async () => {
    const agent = agentRecord({
      name: 'Waiting Procurer',
      status: 'active',
      catalogRoleId: 'procurement-agent',
      sponsors: [people.maya],
      requestedBy: people.maya,
      businessUnit: 'finance',
    });
    await h.services.agents.insert(agent);
    const change = await bus.execute(as(people.maya), {
      type: 'boundary.request',
      agent: agent.id,
      action: 'suppliers.read',
      mode: 'forbidden',
      reason: 'Supplier data is under a legal hold.',
    });
    const before = await reads();
    const changesOf = async (who: string) => (await bus.execute(as(who), { type: 'tasks.waiting' })).changes.map((c) => c.id);
    // An IT admin decides it; its sponsor (who asked) and compliance do not.
    expect(await changesOf(people.liam)).toContain(change.id);
    expect(await changesOf(people.maya)).not.toContain(change.id);
    expect(await changesOf(people.marcus)).toEqual([]);
    // The home card's fleet is IT admins' (compliance reads the fleet view, not on its home).
    expect((await bus.execute(as(people.liam), { type: 'home.fleet' }))?.total).toBeGreaterThan(0);
    events = [];
    expect(await bus.execute(as(people.marcus), { type: 'home.fleet' })).toBeUndefined();
    expect(last()).toMatchObject({ type: 'home.fleet', actor: people.marcus, outcome: 'done', stage: 'done' });
    expect(await bus.execute(as(people.maya), { type: 'home.fleet' })).toBeUndefined();
    expect(await reads()).toBe(before);
  });

  it('agents.pick (a form opened without its agent): anyone may ask; each is offered only the agents its rule allows them', async () => {
    const agent = agentRecord({ name: 'Picked Agent', status: 'active', sponsors: [people.tom], businessUnit: 'customer-support' });
    await h.services.agents.insert(agent);
    const offered = async (who: string, command: { query?: string; agentId?: string }) =>
      (await bus.execute(as(who), { type: 'agents.pick', purpose: 'note', ...command })).agents.map((a) => a.id);
    // Its sponsor is offered it in the list, a search and as a pick; Daniel in none of them.
    expect(await offered(people.tom, {})).toContain(agent.id);
    expect(await offered(people.tom, { query: 'Picked' })).toEqual([agent.id]);
    expect(await offered(people.tom, { agentId: agent.id })).toEqual([agent.id]);
    events = [];
    expect(await offered(people.daniel, { agentId: agent.id })).toEqual([]);
    expect(last()).toMatchObject({ type: 'agents.pick', actor: people.daniel, outcome: 'done', stage: 'done' });
    expect(await offered(people.daniel, { query: 'Picked' })).toEqual([]);
    expect(await offered(people.daniel, {})).not.toContain(agent.id);
    // A pick that cannot be an agent id is offered nothing.
    expect(await offered(people.tom, { agentId: 'no such id!' })).toEqual([]);
    // A purpose no picker has is refused when the command is read.
    events = [];
    expect((await errorOf(bus.execute(as(people.tom), { type: 'agents.pick', purpose: 'steal' as 'note' }))).code).toBe('invalid_input');
    expect(last()).toMatchObject({ stage: 'parse' });
  });

  it('runtime.* (the agent API and MCP): a suspended agent is refused at authorise, an unknown one at load; people and agents keep to their own commands', async () => {
    const screener = (name: string) =>
      activeAgent(h, {
        catalogRoleId: 'resume-screener',
        businessUnit: 'people-ops',
        sponsors: [people.sofia],
        requestedBy: people.sofia,
        name,
      });
    const agent = await screener('Bus Screener');
    const other = await screener('Other Bus Screener');
    const ask = (key: string) => ({ action: 'candidate.screen', summary: 'Screen application A-2.', idempotency_key: key });
    const asked = await bus.execute(asAgent(other.id), { type: 'runtime.approval.request', body: ask('bus-other-0001') });
    expect(asked).toMatchObject({ created: true, view: { status: 'allowed' } });
    expect(last()).toMatchObject({ type: 'runtime.approval.request', actor: `agent:${other.id}`, outcome: 'done', stage: 'done' });

    // Another agent's approval is not found (404), never forbidden: the rule (policies.assertAgentsOwn) is asked at each read.
    events = [];
    const foreign = await errorOf(
      bus.execute(asAgent(agent.id), { type: 'runtime.approval.show', approvalId: asked.view.id, wait: undefined }),
    );
    expect(foreign).toEqual({ code: 'not_found', userMessage: 'No such approval for this agent.' });
    expect(last()).toMatchObject({ outcome: 'not_found', stage: 'handle' });

    await h.services.agents.update(other.id, { status: 'suspended' });
    const refusals: Array<CommandOf<AgentCommandType>> = [
      { type: 'runtime.approval.request', body: ask('bus-other-0002') },
      { type: 'runtime.approval.show', approvalId: asked.view.id, wait: undefined },
      { type: 'runtime.approval.consume', approvalId: asked.view.id, body: { details: {} } },
      { type: 'runtime.handoff.create', body: { kind: 'candidate-review', summary: 'Review C-2.', idempotency_key: 'bus-other-0003' } },
      { type: 'runtime.handoff.show', handoffId: 'hof_0123456789abcdef01234567', wait: 5 },
      { type: 'runtime.task.report', body: { eventId: 'bus-task-0001', time: new Date().toISOString(), outcome: 'success' } },
    ];
    for (const command of refusals) {
      events = [];
      const refused = await errorOf(bus.execute(asAgent(other.id), command));
      expect(refused).toEqual({ code: 'forbidden', userMessage: 'The agent is suspended: it may not act.' });
      expect(last()).toMatchObject({ type: command.type, actor: `agent:${other.id}`, outcome: 'forbidden', stage: 'authorise' });
    }
    expect(await h.services.runtime.recent(other.id)).toHaveLength(1);
    expect(await h.services.supervision.telemetry.events(other.id, { eventId: 'bus-task-0001' })).toEqual([]);
    // Its access check is answered, not refused: it is told it may use none of its access.
    events = [];
    const check = await bus.execute(asAgent(other.id), { type: 'runtime.access.check', scope: 'kb:read' });
    expect(check.decision).toMatchObject({ allowed: false, reason: 'agent_not_active' });

    // An agent Roster does not know (its token outlived it) is refused when it is loaded.
    events = [];
    const unknown = await errorOf(
      bus.execute(asAgent(asAgentId('agt_ffffffffffffffff')), { type: 'runtime.approval.request', body: ask('bus-gone-0001') }),
    );
    expect(unknown).toEqual({ code: 'not_found', userMessage: 'Roster does not know this agent.' });
    expect(last()).toMatchObject({ outcome: 'not_found', stage: 'load' });

    // A person cannot give an agent's command, nor an agent a person's: refused before anything is loaded.
    events = [];
    const personAsks = await errorOf(
      bus.execute(asPerson(as(people.sofia)), { type: 'runtime.approval.request', body: ask('bus-person-0001') } as never),
    );
    expect(personAsks.code).toBe('forbidden');
    expect(last()).toMatchObject({ type: 'runtime.approval.request', actor: people.sofia, outcome: 'forbidden', stage: 'authorise' });
    events = [];
    const agentLists = await errorOf(bus.execute(asAgent(agent.id) as never, { type: 'agents.list', scope: 'all' }));
    expect(agentLists.code).toBe('forbidden');
    expect(last()).toMatchObject({ type: 'agents.list', actor: `agent:${agent.id}`, outcome: 'forbidden', stage: 'authorise' });
    expect(await h.services.runtime.recent(agent.id)).toEqual([]);
  });

  it('evaluation run, boundary change and webhook subscription ids are parsed once, at the edge: a malformed one is refused at parse, naming its kind', async () => {
    const malformed = [
      [{ type: 'evaluation.cancel', evalRunId: 'evr bad' }, 'That "evr bad" is not a valid evaluation run id.'],
      [{ type: 'evaluation.show', evalRunId: '' }, 'That is not a valid evaluation run id: none was given.'],
      // Roster derives a change's id (bch_ and 24 hex digits): nothing else names one.
      [{ type: 'boundary.decide', changeId: 'bch_1', decision: 'approve' }, 'That "bch_1" is not a valid boundary change id.'],
      [{ type: 'webhook.act', subscriptionId: 'it feed', action: 'retry' }, 'That "it feed" is not a valid webhook subscription id.'],
    ] as const;
    for (const [command, words] of malformed) {
      events = [];
      expect(await errorOf(bus.execute(as(people.liam), command))).toEqual({ code: 'invalid_input', userMessage: words });
      expect(last()).toMatchObject({ type: command.type, outcome: 'invalid_input', stage: 'parse' });
    }
  });

  it('an unknown command type and a person not in the directory are refused with coded errors', async () => {
    const unknown = await errorOf(bus.execute(as(people.liam), { type: 'agent.delete' } as never));
    expect(unknown).toEqual({ code: 'invalid_input', userMessage: 'Roster does not know that command.' });
    expect(() => bus.person('nobody@brightwater.example')).toThrow(expect.objectContaining({ code: 'unknown_person' }));
  });
});
