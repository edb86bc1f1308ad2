import { createSlackChannel } from '../../src/channels/slack/index.js';
import type { AgentRecord } from '../../src/core/agents.js';
import { eventTypeOf } from '../../src/core/webhooks.js';
import type { OrgConfig } from '../../src/config/schemas.js';
import { breakGlassAllowed, handbookHelper } from '../access/support.js';
import { startTestRoster } from '../helpers/app.js';
import { FakeSlack } from '../helpers/fake-slack.js';
import { agentRecord, degradedCheckIn, eventually } from '../helpers/harness.js';
import { actionElements } from '../helpers/slack-blocks.js';
import { approvalCardsTo, approveValueOf } from '../helpers/slack-journeys.js';
import { buttonClick, interaction, postSlack, slashCommand, viewSubmission } from '../helpers/slack-requests.js';
import { commandsOf } from '../helpers/commands.js';
import { asAgentId } from '../helpers/ids.js';

/*
 * The holes of issue 15 items 3, 4, 7 and 9, tried as an attacker would: signed Slack deliveries to
 * the real Bolt receiver, answers read back from the fake Slack Web API and the database.
 */

type Roster = Awaited<ReturnType<typeof startTestRoster>>;

const LIAM = { id: 'U04K7R3D9SW', email: 'liam.oneill@brightwater.example' }; // it-admin, sponsor of the engineering agents
const AISHA = { id: 'U04L2V8F5HY', email: 'aisha.khan@brightwater.example' }; // it-admin
const GRACE = { id: 'U04M9X1G3JT', email: 'grace.liu@brightwater.example' }; // security
const DANIEL = { id: 'U05D9W4H7LE', email: 'daniel.okafor@brightwater.example' }; // requester in finance: an outsider here
const HIROSHI = { id: 'U04F3N6B8CJ', email: 'hiroshi.tanaka@brightwater.example' }; // customer support

const textOf = (value: unknown) => JSON.stringify(value);
const elements = actionElements;

describe('issue 15 domain holes, attacked through Slack', () => {
  let slack: FakeSlack;
  let roster: Roster;
  let helper: AgentRecord;

  beforeEach(async () => {
    slack = new FakeSlack();
    await slack.start();
    roster = await startTestRoster({ env: slack.rosterEnv(), channels: [createSlackChannel] });
    helper = handbookHelper();
    await roster.services.agents.insert(helper);
  });
  afterEach(async () => {
    await roster.stop();
    await slack.stop();
  });

  const command = async (user: { id: string }, words: string, id: string) => {
    const res = await postSlack(roster.baseUrl, slashCommand(user.id, words, slack.responseUrl(id)));
    expect(res.status).toBe(200);
    return textOf((await slack.waitForResponse(id)).body.blocks);
  };

  it('break-glass: refused while the scope is held, capped per agent, never for PII scopes, and security cannot confirm its own use', async () => {
    expect(await command(LIAM, 'break-glass Handbook Helper web:search proxy outage', 'bg1')).toContain('has web:search now');
    // The same scope again while it is active: refused, nothing stored.
    expect(await command(LIAM, 'break-glass Handbook Helper web:search still out', 'bg2')).toContain('already holds web:search');
    expect(await command(LIAM, 'break-glass Handbook Helper kb:read search index down', 'bg3')).toContain('has kb:read now');
    const used = await roster.services.grants.listForAgent(helper.id);
    expect(used.map((g) => `${g.scope}:${g.status}`).sort()).toEqual(['kb:read:active', 'web:search:active']);
    for (const g of used) await commandsOf(roster.services).revokeGrant(GRACE.email, g.id, 'Incident over.');

    // A third use within the window: the per-agent cap (2 by default) sends it to a normal request.
    const capped = await command(LIAM, 'break-glass Handbook Helper web:search again', 'bg4');
    expect(capped).toContain('request the access normally');
    expect(await roster.services.grants.listForAgent(helper.id)).toHaveLength(2);

    // A PII scope is not break-glass-eligible unless the scope says so.
    const support = agentRecord({ id: asAgentId('agt_1111222233334444'), name: 'Ticket Drafter', sponsors: [HIROSHI.email] });
    await roster.services.agents.insert(support);
    expect(await command(HIROSHI, 'break-glass Ticket Drafter crm:read customers waiting', 'bg5')).toContain(
      'cannot be granted by break-glass',
    );
    expect(await roster.services.grants.listForAgent(support.id)).toEqual([]);

    // Security breaks glass on an agent it sponsors: its own review card has no Confirm, and a forged Confirm is refused.
    const watcher = agentRecord({
      id: asAgentId('agt_5555666677778888'),
      name: 'Log Watcher',
      catalogRoleId: 'kb-answerer',
      sponsors: [GRACE.email],
      businessUnit: 'engineering',
    });
    await roster.services.agents.insert(watcher);
    expect(await command(GRACE, 'break-glass Log Watcher web:search incident 99', 'bg6')).toContain('has web:search now');
    const [own] = await roster.services.grants.listForAgent(watcher.id);
    const review = await slack.waitFor(
      'chat.postMessage',
      (a) => a.channel === GRACE.id && elements(a.blocks).some((e) => e.action_id === 'grant_revoke' && String(e.value).includes(own!.id)),
    );
    expect(elements(review.args.blocks).map((e) => e.action_id)).toEqual(['grant_revoke']);
    const forged = await postSlack(
      roster.baseUrl,
      interaction(buttonClick(GRACE.id, 'grant_confirm', JSON.stringify({ grantId: own!.id }), slack.responseUrl('forged'))),
    );
    expect(forged.status).toBe(200);
    expect(textOf((await slack.waitForResponse('forged')).body)).toContain("can't confirm it");
    expect((await roster.services.grants.get(own!.id))?.confirmedBy).toBeUndefined();
  }, 60_000);

  it('a lapsed retirement gives the agent its status back; Reactivate needs a sponsor and another IT admin', async () => {
    // One sponsor starts a retirement and denies it: the agent must not end up suspended.
    await command(LIAM, `retire ${helper.id} obsolete now`, 'retire');
    const run = (await roster.services.runs.list({ agentId: helper.id, flowId: 'retirement' }))[0]!;
    expect((await roster.services.agents.get(helper.id))?.status).toBe('retiring');
    await commandsOf(roster.services).decide(LIAM.email, {
      runId: run.id,
      stepId: 'signoffs',
      decision: 'deny',
      comment: 'changed my mind',
    });
    await eventually(async () => (await roster.services.agents.get(helper.id))?.status === 'active');

    // A suspended agent (suspended from probation by the approved flow) comes back only through Reactivate.
    await roster.services.agents.update(helper.id, { status: 'suspended', suspendedFrom: 'probation' });
    const profile = await command(LIAM, `show ${helper.id}`, 'show');
    expect(profile).toContain('agent_reactivate');
    // An outsider cannot even name it.
    expect(await command(DANIEL, `reactivate ${helper.id} all good`, 'outsider')).not.toContain('Handbook Helper');
    expect(await roster.services.runs.list({ agentId: helper.id, flowId: 'reactivation' })).toEqual([]);

    const status = await command(LIAM, `reactivate ${helper.id} the prompt template is fixed`, 'reactivate');
    expect(status).toContain('Handbook Helper');
    const [react] = await roster.services.runs.list({ agentId: helper.id, flowId: 'reactivation' });
    expect(react?.waitingFor).toEqual([LIAM.email]);
    // The sponsor approves as sponsor...
    const sponsorCard = await eventually(() => approvalCardsTo(slack, LIAM.id, react!.id)[0]);
    await postSlack(
      roster.baseUrl,
      interaction(buttonClick(LIAM.id, 'approval_approve', approveValueOf(sponsorCard), slack.responseUrl('s'))),
    );
    const atIt = await eventually(async () => {
      const r = await roster.services.engine.get(react!.id);
      return r.waitingFor.includes(AISHA.email) ? r : undefined;
    });
    // ...but may not also be the IT admin who approves: separation of duties.
    expect(atIt.waitingFor).not.toContain(LIAM.email);
    await expect(
      commandsOf(roster.services).decide(LIAM.email, { runId: react!.id, stepId: 'it-approval', decision: 'approve' }),
    ).rejects.toMatchObject({ code: 'separation_of_duties' });
    expect((await roster.services.agents.get(helper.id))?.status).toBe('suspended');
    const itCard = await eventually(() => approvalCardsTo(slack, AISHA.id, react!.id)[0]);
    await postSlack(roster.baseUrl, interaction(buttonClick(AISHA.id, 'approval_approve', approveValueOf(itCard), slack.responseUrl('a'))));
    await eventually(async () => (await roster.services.agents.get(helper.id))?.status === 'probation');
    const entry = await eventually(async () =>
      (await roster.services.audit.export({ agentId: helper.id })).find((e) => e.action === 'agent.reactivated'),
    );
    expect(entry.details).toMatchObject({ from: 'suspended', to: 'probation', approvedBy: [LIAM.email, AISHA.email] });
    // Subscribed systems are told: the entry is the signed webhook event agent.reactivated.
    expect(eventTypeOf(entry)).toBe('agent.reactivated');
  }, 60_000);

  it("a requester cannot pick another unit's approver: the form offers and accepts only their own unit", async () => {
    const before = slack.calls.length;
    await postSlack(roster.baseUrl, interaction(buttonClick(DANIEL.id, 'catalog_request', 'kb-answerer', slack.responseUrl('c'))));
    const opened = await eventually(() =>
      slack.calls
        .slice(before)
        .find((c) => c.method === 'views.open' && (c.args.view as { callback_id?: string }).callback_id === 'agent_request_submit'),
    );
    const view = opened.args.view as Record<string, unknown>;
    const unitSelect = elements(view.blocks).find((e) => e.action_id === 'business_unit')!;
    expect(textOf(unitSelect)).toContain('finance');
    expect(textOf(unitSelect)).not.toContain('engineering');
    // A forged submission naming engineering (whose approver Daniel would rather have) is refused.
    const forged = await postSlack(
      roster.baseUrl,
      interaction(
        viewSubmission(DANIEL.id, view, {
          agent_name: { agent_name: { type: 'plain_text_input', value: 'Shortcut Bot' } },
          purpose: { purpose: { type: 'plain_text_input', value: 'Answers questions from the handbook.' } },
          business_unit: { business_unit: { type: 'static_select', selected_option: { value: 'engineering' } } },
          sponsors: { sponsors: { type: 'multi_users_select', selected_users: [DANIEL.id] } },
          justification: { justification: { type: 'plain_text_input', value: 'Faster.' } },
        }),
      ),
    );
    expect(forged.status).toBe(200);
    expect(JSON.parse(forged.text)).toMatchObject({ response_action: 'errors' });
    expect(forged.text).toContain('your own business unit');
    expect(await roster.services.agents.list({ requestedBy: DANIEL.email })).toEqual([]);
  }, 30_000);

  it('ids reveal nothing to people who may not see the agent: show, access usage and the deny form', async () => {
    const shown = await command(DANIEL, `show ${helper.id}`, 'show');
    expect(shown).toContain('Not found');
    expect(shown).not.toContain('Handbook Helper');
    const usage = await command(DANIEL, `access ${helper.id}`, 'usage');
    expect(usage).not.toContain('Handbook Helper');
    expect(usage).not.toContain('web:search');

    const run = await roster.services.retirement.start(roster.services.engine, LIAM.email, { agentId: helper.id, reason: 'obsolete now' });
    const before = slack.calls.length;
    const deny = await postSlack(
      roster.baseUrl,
      interaction(
        buttonClick(DANIEL.id, 'approval_deny', JSON.stringify({ runId: run.id, stepId: 'signoffs' }), slack.responseUrl('deny')),
      ),
    );
    expect(deny.status).toBe(200);
    const answer = textOf((await slack.waitForResponse('deny')).body);
    expect(answer).not.toContain('Handbook Helper');
    expect(slack.calls.slice(before).filter((c) => c.method === 'views.open')).toEqual([]);
  }, 30_000);

  it('a named sponsor counts only after accepting; the requester cannot accept for them', async () => {
    const { agentId } = await commandsOf(roster.services).requestAgent(LIAM.email, {
      roleId: 'kb-answerer',
      name: 'Runbook Reader',
      purpose: 'Reads runbooks aloud to on-call.',
      businessUnit: 'engineering',
      sponsors: [LIAM.email, GRACE.email],
    });
    const registered = await eventually(() => roster.services.agents.get(asAgentId(agentId)));
    expect(registered.sponsors).toEqual([LIAM.email]);
    expect(registered.proposedSponsors?.map((p) => p.email)).toEqual([GRACE.email]);
    const ask = await slack.waitFor(
      'chat.postMessage',
      (a) => a.channel === GRACE.id && elements(a.blocks).some((e) => e.action_id === 'sponsor_confirm'),
    );
    // Liam named Grace: as an IT admin he still may not confirm her himself.
    const proposalId = registered.proposedSponsors![0]!.id;
    const forged = await postSlack(
      roster.baseUrl,
      interaction(buttonClick(LIAM.id, 'sponsor_confirm', JSON.stringify({ agentId, proposalId }), slack.responseUrl('f'))),
    );
    expect(forged.status).toBe(200);
    expect(textOf((await slack.waitForResponse('f')).body)).toContain('another IT admin confirms');
    expect((await roster.services.agents.get(asAgentId(agentId)))?.sponsors).toEqual([LIAM.email]);

    const accept = elements(ask.args.blocks).find((e) => e.action_id === 'sponsor_confirm')!;
    await postSlack(roster.baseUrl, interaction(buttonClick(GRACE.id, 'sponsor_confirm', String(accept.value), slack.responseUrl('g'))));
    await eventually(async () => (await roster.services.agents.get(asAgentId(agentId)))?.sponsors.includes(GRACE.email));
    expect((await roster.services.agents.get(asAgentId(agentId)))?.proposedSponsors).toEqual([]);
    await eventually(async () =>
      (await roster.services.audit.export({ agentId: asAgentId(agentId) })).some((e) => e.action === 'sponsorship.accepted'),
    );
  }, 30_000);

  it('break-glass is refused while the same scope is pending for the agent', async () => {
    const asked = await command(LIAM, 'access Handbook Helper web:search needs to search the vendor docs', 'ask');
    const [pending] = await roster.services.grants.listForAgent(helper.id);
    expect(pending).toMatchObject({ scope: 'web:search', status: 'pending' });
    expect(asked).toContain('web:search');
    const refused = await command(LIAM, 'break-glass Handbook Helper web:search cannot wait for approval', 'bg-pending');
    expect(refused).toContain('has a pending request for web:search');
    expect(refused).toContain('break-glass is not needed');
    const after = await roster.services.grants.listForAgent(helper.id);
    expect(after.filter((g) => g.status === 'active')).toEqual([]);
    expect(after.filter((g) => g.source === 'break-glass' && g.status !== 'denied')).toEqual([]);
    expect((await roster.services.grants.get(pending!.id))?.status).toBe('pending');
  }, 60_000);

  it('break-glass is capped per person: the fourth use by one person is refused, another person may still use it', async () => {
    const agents = [1, 2, 3, 4, 5].map((n) =>
      agentRecord({
        id: asAgentId(`agt_00000000000000a${n}`),
        name: `Helper ${n}`,
        catalogRoleId: 'kb-answerer',
        sponsors: [LIAM.email],
        businessUnit: 'engineering',
      }),
    );
    for (const a of agents) await roster.services.agents.insert(a);
    // One use per agent, so the per-agent cap (2) never applies: only the per-person cap (3) can refuse.
    for (const n of [1, 2, 3]) {
      expect(await command(LIAM, `break-glass Helper ${n} web:search outage ${n}`, `p${n}`)).toContain('has web:search now');
    }
    const fourth = await command(LIAM, 'break-glass Helper 4 web:search outage 4', 'p4');
    expect(fourth).toContain('you have used break-glass 3 times');
    expect(fourth).toContain('request the access normally');
    expect((await roster.services.grants.listForAgent(agents[3]!.id)).filter((g) => g.status === 'active')).toEqual([]);
    // Another IT admin is not held to Liam's count.
    expect(await command(AISHA, 'break-glass Helper 5 web:search outage 5', 'p5')).toContain('has web:search now');
    const [aishas] = await roster.services.grants.listForAgent(agents[4]!.id);
    expect(aishas).toMatchObject({ scope: 'web:search', status: 'active', source: 'break-glass', requestedBy: AISHA.email });
  }, 90_000);

  it('break-glass refuses a high-risk scope and a health-data scope unless the scope is marked breakGlass: true', async () => {
    // Health data alone (not high risk, no PII), so only the health rule can refuse it.
    const healthOnly = (org: OrgConfig): OrgConfig => ({
      ...org,
      scopes: org.scopes.map((s) => (s.id === 'hris:medical:read' ? { ...s, risk: 'medium', dataClasses: ['health'] } : s)),
    });
    const fraud = agentRecord({
      id: asAgentId('agt_aaaa1111bbbb2222'),
      name: 'Fraud Screen',
      catalogRoleId: 'fraud-screening',
      sponsors: [LIAM.email],
    });
    const onboarding = agentRecord({
      id: asAgentId('agt_cccc3333dddd4444'),
      name: 'Onboarding Guide',
      catalogRoleId: 'hr-onboarding-assistant',
      sponsors: [LIAM.email],
      businessUnit: 'people-ops',
    });
    const restart = async (org: (o: OrgConfig) => OrgConfig) => {
      await roster.stop();
      roster = await startTestRoster({ env: slack.rosterEnv(), channels: [createSlackChannel], org });
      for (const a of [fraud, onboarding]) if (!(await roster.services.agents.get(a.id))) await roster.services.agents.insert(a);
    };

    await restart(healthOnly);
    // payments:card:hold is high risk (financial data only).
    const highRisk = await command(LIAM, 'break-glass Fraud Screen payments:card:hold card fraud wave', 'hr1');
    expect(highRisk).toContain('payments:card:hold (high risk');
    expect(highRisk).toContain('cannot be granted by break-glass');
    const health = await command(LIAM, 'break-glass Onboarding Guide hris:medical:read adjustment due today', 'he1');
    expect(health).toContain('hris:medical:read (medium risk; data: health)');
    expect(health).toContain('cannot be granted by break-glass');
    expect(await roster.services.grants.listForAgent(fraud.id)).toEqual([]);
    expect(await roster.services.grants.listForAgent(onboarding.id)).toEqual([]);

    // The positive control: the same scopes marked breakGlass: true are granted at once.
    await restart((org) => breakGlassAllowed('payments:card:hold', 'hris:medical:read')(healthOnly(org)));
    expect(await command(LIAM, 'break-glass Fraud Screen payments:card:hold card fraud wave', 'hr2')).toContain(
      'has payments:card:hold now',
    );
    expect(await command(LIAM, 'break-glass Onboarding Guide hris:medical:read adjustment due today', 'he2')).toContain(
      'has hris:medical:read now',
    );
    expect((await roster.services.grants.listForAgent(fraud.id)).map((g) => `${g.scope}:${g.status}`)).toEqual([
      'payments:card:hold:active',
    ]);
    expect((await roster.services.grants.listForAgent(onboarding.id)).map((g) => `${g.scope}:${g.status}`)).toEqual([
      'hris:medical:read:active',
    ]);
  }, 120_000);

  it('a retirement denied with a reason from the Slack deny form gives the agent its previous status back', async () => {
    await roster.services.agents.update(helper.id, { status: 'probation' });
    await command(LIAM, `retire ${helper.id} obsolete now`, 'retire');
    const run = (await roster.services.runs.list({ agentId: helper.id, flowId: 'retirement' }))[0]!;
    expect((await roster.services.agents.get(helper.id))?.status).toBe('retiring');
    const card = await eventually(() => approvalCardsTo(slack, LIAM.id, run.id)[0]);
    const denyButton = elements(card.args.blocks).find((e) => e.action_id === 'approval_deny')!;
    const before = slack.calls.length;
    await postSlack(roster.baseUrl, interaction(buttonClick(LIAM.id, 'approval_deny', String(denyButton.value), slack.responseUrl('d'))));
    const opened = await eventually(() => slack.calls.slice(before).find((c) => c.method === 'views.open'));
    const view = opened.args.view as Record<string, unknown>;
    const submitted = await postSlack(
      roster.baseUrl,
      interaction(
        viewSubmission(LIAM.id, view, { reason: { reason: { type: 'plain_text_input', value: 'Still needed by the on-call team' } } }),
      ),
    );
    expect(submitted.status).toBe(200);
    await eventually(async () => (await roster.services.agents.get(helper.id))?.status === 'probation');
    expect((await roster.services.engine.get(run.id)).status).toBe('denied');
    const told = await eventually(() =>
      slack.calls
        .slice(before)
        .find((c) => ['chat.postMessage', 'chat.update'].includes(c.method) && textOf(c.args).includes('Still needed by the on-call team')),
    );
    expect(textOf(told.args)).toContain('Denied: Denied by liam.oneill@brightwater.example');
    const denied = await roster.services.engine.get(run.id);
    expect(denied.steps.signoffs?.decisions).toEqual([
      expect.objectContaining({ by: LIAM.email, decision: 'deny', comment: 'Still needed by the on-call team' }),
    ]);
    expect((await roster.services.agents.get(helper.id))?.status).toBe('probation');
    const restored = await eventually(async () =>
      (await roster.services.audit.export({ agentId: helper.id })).find(
        (e) => e.action === 'agent.status-changed' && e.details.to === 'probation',
      ),
    );
    expect(restored.details).toMatchObject({ from: 'retiring', to: 'probation', runId: run.id, reason: 'retirement denied' });
  }, 60_000);

  it('reactivation checks the last check-in again: a degraded one arriving during the approvals keeps the agent suspended', async () => {
    await roster.services.agents.update(helper.id, { status: 'suspended', suspendedFrom: 'active' });
    const status = await command(LIAM, `reactivate ${helper.id} the prompt template is fixed`, 'reactivate');
    expect(status).toContain('Handbook Helper');
    const [react] = await roster.services.runs.list({ agentId: helper.id, flowId: 'reactivation' });
    const sponsorCard = await eventually(() => approvalCardsTo(slack, LIAM.id, react!.id)[0]);
    await postSlack(
      roster.baseUrl,
      interaction(buttonClick(LIAM.id, 'approval_approve', approveValueOf(sponsorCard), slack.responseUrl('s'))),
    );
    const itCard = await eventually(() => approvalCardsTo(slack, AISHA.id, react!.id)[0]);
    // While the IT admin looks, a check-in finds the agent degraded.
    await roster.services.supervision.checkinRepo.save(degradedCheckIn('chk_degradedlate01', helper.id));
    const before = slack.calls.length;
    await postSlack(roster.baseUrl, interaction(buttonClick(AISHA.id, 'approval_approve', approveValueOf(itCard), slack.responseUrl('a'))));
    const closed = await eventually(async () => {
      const r = await roster.services.engine.get(react!.id);
      return r.status === 'rejected' ? r : undefined;
    });
    expect(closed.steps.recheck).toMatchObject({ status: 'failed' });
    expect(String(closed.steps.recheck?.reason)).toContain('is degraded; ask again');
    expect((await roster.services.agents.get(helper.id))?.status).toBe('suspended');
    expect((await roster.services.audit.export({ agentId: helper.id })).some((e) => e.action === 'agent.reactivated')).toBe(false);
    const told = await eventually(() =>
      slack.calls
        .slice(before)
        .find((c) => ['chat.postMessage', 'chat.update'].includes(c.method) && textOf(c.args).includes('is degraded')),
    );
    expect(textOf(told.args)).toContain('Rejected: A newer check-in of Handbook Helper');
    expect(textOf(told.args)).toContain('ask again so the approvers see it');
  }, 60_000);
});
