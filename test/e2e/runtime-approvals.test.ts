import { discoverOAuthProtectedResourceMetadata, extractWWWAuthenticateParams } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { FakeConnector } from '../helpers/fake-connector.js';
import type { FakeSlack } from '../helpers/fake-slack.js';
import { CONTRACT_EXTENSION_IN_2S, shippedConfigWith } from '../helpers/config-copy.js';
import { eventually } from '../helpers/harness.js';
import { onBothPlatforms, type TestRoster } from '../helpers/app.js';
import { actionElements } from '../helpers/slack-blocks.js';
import { approvalCardsTo, approveValueOf } from '../helpers/slack-journeys.js';
import { buttonClick, interaction, postSlack, slashCommand } from '../helpers/slack-requests.js';
import { button, cardText, cardVerbs } from '../channels/teams/card-reading.js';
import { type TeamsClient, teamsUser } from '../channels/teams/teams-client.js';
import * as oauth from 'oauth4webapi';
import { agentClient, agentWithKey, claimsOf, discover, insecure } from '../api/support.js';
import { asApprovalId } from '../helpers/ids.js';

/*
 * Issue 19 end to end, through the real endpoints: agents ask a human before they act (HTTP API
 * and MCP, with tokens from /oauth/token), people decide in Slack (signed requests to Bolt) and
 * Teams (activities through the Agents SDK), the flow engine times requests out, and hand-offs
 * go to a queue whose resolution shows in the agent's next check-in.
 */

const MAYA = { id: 'U04B7K2M9QX', email: 'maya.chen@brightwater.example' }; // finance approver, prefers Slack
const DANIEL = 'daniel.okafor@brightwater.example';
const SOFIA = 'sofia.alvarez@brightwater.example'; // prefers Teams
const JONAS = { id: 'U06R5C2T8WK', email: 'jonas.weber@brightwater.example' }; // recruiter, Slack only
const LIAM = { id: 'U04K7R3D9SW', email: 'liam.oneill@brightwater.example' }; // IT admin on the ai-ops rotation

describe('agents ask a human before they act, and hand off to people', () => {
  let slack: FakeSlack;
  let connector: FakeConnector;
  let teams: TeamsClient;
  let roster: TestRoster;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    ({ slack, connector, roster, teams, stop } = await onBothPlatforms({
      configDir: shippedConfigWith('roster-runtime-', { 'procurement-agent': [CONTRACT_EXTENSION_IN_2S] }),
    }));
  });
  afterAll(() => stop?.());

  const { agentAndToken, api } = agentClient(() => roster);

  const procurement = {
    catalogRoleId: 'procurement-agent',
    businessUnit: 'finance',
    sponsors: [MAYA.email],
    requestedBy: DANIEL,
    name: 'Supplier desk',
  };
  const modify = (key: string, summary = 'Extend the Acme cleaning contract by 12 months at the same rate.') => ({
    action: 'contracts.modify',
    summary,
    details: { contractId: 'C-2291', supplier: 'Acme Facilities', change: 'Extend to 2026-06-30', amountUSD: 48000 },
    idempotency_key: key,
  });

  it('a procurement agent asks to modify a contract; the sponsor approves in Slack; the long poll returns approved', async () => {
    const { agent, token } = await agentAndToken(procurement);
    // Reading supplier data is autonomous, terminating a contract forbidden: answered at once, no card.
    const read = await api(token, 'POST', '/api/v1/approvals', {
      action: 'suppliers.read',
      summary: 'Compare offers',
      idempotency_key: 'read-0001',
    });
    expect(read.status).toBe(201);
    expect(read.body).toMatchObject({ status: 'allowed', reason: 'autonomous' });
    const terminate = await api(token, 'POST', '/api/v1/approvals', {
      action: 'contracts.terminate',
      summary: 'Terminate Acme',
      idempotency_key: 'term-0001',
    });
    expect(terminate.body).toMatchObject({ status: 'denied', reason: 'forbidden' });

    const hostile = 'Please approve <!channel> *now* <https://evil.example|click>';
    const asked = await api(token, 'POST', '/api/v1/approvals', modify('modify-0001', hostile));
    expect(asked.status).toBe(201);
    expect(asked.body).toMatchObject({ status: 'pending', action: 'contracts.modify' });
    const id = String(asked.body.id);
    const poll = api(token, 'GET', `/api/v1/approvals/${id}?wait=30`);

    const record = await eventually(async () => {
      const r = await roster.services.runtime.get(agent.id, asApprovalId(id));
      return r.runId ? r : undefined;
    });
    const [card] = await eventually(async () => {
      const cards = approvalCardsTo(slack, MAYA.id, record.runId!);
      return cards.length ? cards : undefined;
    });
    const text = JSON.stringify(card!.args.blocks);
    expect(text).toContain('Modify a supplier contract');
    expect(text).toContain('Reported by the agent');
    expect(text).toContain('C-2291');
    expect(text).toContain('Acme Facilities');
    expect(text).not.toContain('<!channel>');
    expect(text).not.toContain('<https://evil.example|click>');

    // A replay with the same key: the same answer, no second card.
    const replay = await api(token, 'POST', '/api/v1/approvals', modify('modify-0001', hostile));
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body.id).toBe(id);
    const reused = await api(token, 'POST', '/api/v1/approvals', modify('modify-0001', 'something else'));
    expect(reused.status).toBe(409);
    expect(reused.body.error).toBe('idempotency_key_reused');

    const click = interaction(buttonClick(MAYA.id, 'approval_approve', approveValueOf(card!), slack.responseUrl('approve-1')));
    expect((await postSlack(roster.baseUrl, click)).status).toBe(200);
    const decided = await poll;
    expect(decided.status).toBe(200);
    expect(decided.body).toMatchObject({ status: 'approved', reason: 'approved', decided_by: [MAYA.email], usable: 'once' });
    expect(approvalCardsTo(slack, MAYA.id, record.runId!)).toHaveLength(1);

    // Usable once, bound to the approved details.
    const wrong = await api(token, 'POST', `/api/v1/approvals/${id}/consume`, { details: { ...modify('x').details, amountUSD: 480000 } });
    expect(wrong.status).toBe(409);
    expect(wrong.body.error).toBe('details_mismatch');
    const used = await api(token, 'POST', `/api/v1/approvals/${id}/consume`, { details_hash: decided.body.details_hash });
    expect(used.status).toBe(200);
    expect(used.body.used_at).toEqual(expect.any(String));
    const again = await api(token, 'POST', `/api/v1/approvals/${id}/consume`, { details_hash: decided.body.details_hash });
    expect(again.status).toBe(409);
    expect(again.body.error).toBe('already_used');

    const audit = await roster.services.audit.export({ agentId: agent.id });
    const actions = audit.map((e) => e.action);
    expect(actions).toEqual(
      expect.arrayContaining([
        'runtime.allowed',
        'runtime.denied',
        'runtime.requested',
        'decision.approve',
        'runtime.approved',
        'runtime.consumed',
      ]),
    );
    expect(audit.find((e) => e.action === 'runtime.approved')?.details).toMatchObject({
      details: { contractId: 'C-2291', amountUSD: 48000 },
    });
  });

  it('the third forbidden attempt at one action in a day warns each sponsor once, and is audited', async () => {
    const { agent, token } = await agentAndToken({ ...procurement, name: 'Stubborn desk' });
    const terminate = (key: string) =>
      api(token, 'POST', '/api/v1/approvals', { action: 'contracts.terminate', summary: 'Terminate Acme <!here>', idempotency_key: key });
    const toMaya = (a: Record<string, unknown>) =>
      a.channel === MAYA.id && JSON.stringify(a.blocks).includes('Stubborn desk keeps trying a forbidden action');

    for (const key of ['stop-0001', 'stop-0002'])
      expect((await terminate(key)).body).toMatchObject({ status: 'denied', reason: 'forbidden' });
    // A replay is the same attempt, not another one.
    expect((await terminate('stop-0002')).status).toBe(200);
    // The attempts' effects run after the answers (Outbox.later): done before counting what was not sent.
    await roster.services.outbox.idle();
    expect(slack.of('chat.postMessage', toMaya)).toHaveLength(0);

    expect((await terminate('stop-0003')).body).toMatchObject({ status: 'denied', reason: 'forbidden' });
    const warning = await slack.waitFor('chat.postMessage', toMaya);
    const text = JSON.stringify(warning.args.blocks);
    expect(text).toContain('asked 3 times in a day to Terminate a supplier contract');
    expect(text).not.toContain('<!here>');
    const repeated = await eventually(async () =>
      (await roster.services.audit.export({ agentId: agent.id })).find((e) => e.action === 'runtime.forbidden-repeated'),
    );
    expect(repeated.details).toMatchObject({ action: 'contracts.terminate', attempts: 3 });

    // The fourth is refused like the others; the sponsor is not warned again.
    expect((await terminate('stop-0004')).body).toMatchObject({ status: 'denied', reason: 'forbidden' });
    await eventually(
      async () => (await roster.services.audit.export({ agentId: agent.id })).filter((e) => e.action === 'runtime.denied').length === 4,
    );
    await roster.services.outbox.idle();
    expect(slack.of('chat.postMessage', toMaya)).toHaveLength(1);
    expect(
      (await roster.services.audit.export({ agentId: agent.id })).filter((e) => e.action === 'runtime.forbidden-repeated'),
    ).toHaveLength(1);

    // The warning is an alert: one record, on-call paged, and Acknowledge works on it like on every alert.
    const alerts = await roster.services.supervision.alertRepo.list({ agentId: agent.id, kind: 'forbidden-repeated' });
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ scope: 'contracts.terminate', severity: 'warning', status: 'open', occurrences: 1 });
    const page = await slack.waitFor(
      'chat.postMessage',
      (a) =>
        a.channel === LIAM.id &&
        JSON.stringify(a.blocks).includes('Stubborn desk keeps trying a forbidden action') &&
        actionElements(a.blocks).some((b) => b.action_id === 'alert_ack'),
      30_000,
    );
    const ack = actionElements(page.args.blocks).find((b) => b.action_id === 'alert_ack')!;
    await postSlack(roster.baseUrl, interaction(buttonClick(LIAM.id, 'alert_ack', String(ack.value), slack.responseUrl('forbidden-ack'))));
    await eventually(async () => (await roster.services.supervision.alertRepo.get(alerts[0]!.id))?.status === 'acknowledged');
    expect((await roster.services.supervision.alertRepo.get(alerts[0]!.id))?.acknowledgedBy).toBe(LIAM.email);
    // The acknowledgement's audit entry is an outbox effect of the alert's change: it follows the change.
    const acknowledged = async () =>
      (await roster.services.audit.export({ agentId: agent.id })).filter(
        (e) => e.action === 'alert.acknowledged' && e.subject.id === alerts[0]!.id,
      ).length;
    await eventually(async () => (await acknowledged()) > 0);
    await roster.services.outbox.idle();
    expect(await acknowledged()).toBe(1);
    expect(
      (await roster.services.audit.export({ agentId: agent.id })).filter(
        (e) => e.action === 'alert.acknowledged' && e.subject.id === alerts[0]!.id,
      ),
    ).toHaveLength(1);
  });

  it('the same in Teams: the sponsor denies with a reason, and the agent reads the reason', async () => {
    const sofia = teamsUser(roster.chat.person(SOFIA)!);
    expect((await teams.install(sofia)).status).toBe(200);
    const { token } = await agentAndToken({ ...procurement, sponsors: [SOFIA], name: 'Vendor desk' });
    const asked = await api(token, 'POST', '/api/v1/approvals', modify('modify-teams-01'));
    expect(asked.body.status).toBe('pending');
    const posted = await eventually(() =>
      connector
        .posts(sofia.conversationId)
        .map((p) => ({ p, card: FakeConnector.card(p) }))
        .find(({ card }) => cardVerbs(card).includes('approval_deny') && cardText(card).includes('Vendor desk')),
    );
    expect(cardText(posted.card)).toContain('Reported by the agent');
    expect(cardText(posted.card)).toContain('Recent decisions of this agent');
    const deny = button(posted.card, 'approval_deny');
    const reasonId = String(deny.data!.reasonInputId ?? 'reason');
    const res = await teams.execute(
      sofia,
      'approval_deny',
      { ...deny.data!, [reasonId]: 'Wait for the Q3 tender first.' },
      { replyToId: posted.p.createdId! },
    );
    expect(res.status).toBe(200);
    const decided = await api(token, 'GET', `/api/v1/approvals/${String(asked.body.id)}?wait=20`);
    expect(decided.body).toMatchObject({
      status: 'denied',
      reason: 'denied',
      message: 'Wait for the Q3 tender first.',
      decided_by: [SOFIA],
    });
  });

  it('nobody decides in time: the request is denied and the agent is told', async () => {
    const { agent, token } = await agentAndToken({ ...procurement, name: 'Slow desk' });
    const asked = await api(token, 'POST', '/api/v1/approvals', {
      action: 'contracts.extend',
      summary: 'Extend C-7',
      details: { contractId: 'C-7' },
      idempotency_key: 'extend-0001',
    });
    expect(asked.body.status).toBe('pending');
    const decided = await api(token, 'GET', `/api/v1/approvals/${String(asked.body.id)}?wait=30`);
    expect(decided.body).toMatchObject({ status: 'denied', reason: 'timeout' });
    const run = await roster.services.runs.get((await roster.services.runtime.get(agent.id, asApprovalId(String(asked.body.id)))).runId!);
    expect(run?.status).toBe('expired');
  });

  it('an MCP client calls request_approval and gets the decision', async () => {
    const { agent, token } = await agentAndToken({ ...procurement, name: 'MCP desk' }, `${roster.baseUrl}/mcp`);
    // Without a token: 401 naming the protected resource metadata, which names Roster as the authorization server.
    const anonymous = await fetch(`${roster.baseUrl}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(anonymous.status).toBe(401);
    const challenge = anonymous.headers.get('www-authenticate') ?? '';
    expect(challenge).toContain(`resource_metadata="${roster.baseUrl}/.well-known/oauth-protected-resource/mcp"`);
    const prm = (await (await fetch(`${roster.baseUrl}/.well-known/oauth-protected-resource/mcp`)).json()) as Record<string, unknown>;
    expect(prm).toMatchObject({ resource: `${roster.baseUrl}/mcp`, authorization_servers: [roster.baseUrl] });

    const client = new Client({ name: 'procurement-agent', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${roster.baseUrl}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual(['check_access', 'hand_off_to_human', 'report_task', 'request_approval']);
      const schema = tools.find((t) => t.name === 'request_approval')!.inputSchema as {
        properties: Record<string, unknown>;
        required?: string[];
      };
      expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['action', 'summary', 'details', 'idempotency_key', 'wait']));

      const args = { ...modify('mcp-modify-0001'), wait: 0 };
      const first = await client.callTool({ name: 'request_approval', arguments: args });
      expect(first.structuredContent).toMatchObject({ status: 'pending' });
      const id = String((first.structuredContent as { id: string }).id);
      const record = await eventually(async () => {
        const r = await roster.services.runtime.get(agent.id, asApprovalId(id));
        return r.runId ? r : undefined;
      });
      const waiting = client.callTool({ name: 'request_approval', arguments: { ...args, wait: 30 } });
      const card = await eventually(async () => approvalCardsTo(slack, MAYA.id, record.runId!)[0]);
      await postSlack(
        roster.baseUrl,
        interaction(buttonClick(MAYA.id, 'approval_approve', approveValueOf(card), slack.responseUrl('mcp'))),
      );
      const decided = await waiting;
      expect(decided.isError).toBeFalsy();
      expect(decided.structuredContent).toMatchObject({ id, status: 'approved' });

      const unknown = await client.callTool({
        name: 'request_approval',
        arguments: { ...args, action: 'contracts.burn', idempotency_key: 'mcp-x-0001' },
      });
      expect(unknown.isError).toBe(true);
      expect(JSON.stringify(unknown.content)).toContain('unknown_action');
      const access = await client.callTool({ name: 'check_access', arguments: { scope: 'finance:invoices:read' } });
      expect(access.structuredContent).toMatchObject({ allowed: false, reason: 'not_granted' });
    } finally {
      await client.close();
    }

    // A suspended agent's session is refused, even with a token that has not expired.
    await roster.services.agents.update(agent.id, { status: 'suspended' });
    const suspended = new Client({ name: 'procurement-agent', version: '1.0.0' });
    await expect(
      suspended.connect(
        new StreamableHTTPClientTransport(new URL(`${roster.baseUrl}/mcp`), {
          requestInit: { headers: { authorization: `Bearer ${token}` } },
        }),
      ),
    ).rejects.toThrow();
  });

  it('third-party clients alone get from the MCP 401 to a tool call: the SDK reads the resource metadata, oauth4webapi the token', async () => {
    const { agent, key } = await agentWithKey(roster.services, [], { ...procurement, name: 'Self-served desk' });
    const mcpUrl = new URL(`${roster.baseUrl}/mcp`);
    // The 401 and RFC 9728 metadata as the MCP SDK reads them, then RFC 8414 discovery and client credentials as oauth4webapi does them.
    const anonymous = await fetch(mcpUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(anonymous.status).toBe(401);
    const { resourceMetadataUrl } = extractWWWAuthenticateParams(anonymous);
    const prm = await discoverOAuthProtectedResourceMetadata(mcpUrl, { resourceMetadataUrl: resourceMetadataUrl! });
    expect(prm.resource).toBe(mcpUrl.href);
    const as = await discover(prm.authorization_servers![0]!);
    const response = await oauth.clientCredentialsGrantRequest(
      as,
      { client_id: agent.id },
      oauth.ClientSecretBasic(key),
      { resource: prm.resource },
      insecure,
    );
    const { access_token } = await oauth.processClientCredentialsResponse(as, { client_id: agent.id }, response);
    expect(claimsOf(access_token)).toMatchObject({ sub: agent.id, aud: prm.resource });

    const client = new Client({ name: 'procurement-agent', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(mcpUrl, { requestInit: { headers: { authorization: `Bearer ${access_token}` } } }),
    );
    try {
      const allowed = await client.callTool({
        name: 'request_approval',
        arguments: { action: 'suppliers.read', summary: 'Compare offers', idempotency_key: 'sdk-auth-0001' },
      });
      expect(allowed.structuredContent).toMatchObject({ status: 'allowed', reason: 'autonomous' });
    } finally {
      await client.close();
    }
  });

  it('a resume screener hands off a candidate; a recruiter takes and resolves it; the next check-in counts the hand-off', async () => {
    const { agent, token } = await agentAndToken({
      catalogRoleId: 'resume-screener',
      businessUnit: 'people-ops',
      sponsors: [SOFIA],
      requestedBy: SOFIA,
      name: 'Screener',
    });
    const task = await fetch(`${roster.baseUrl}/api/v1/approvals`, { method: 'GET', headers: { authorization: `Bearer ${token}` } });
    expect(task.status).toBe(404);
    const created = await api(token, 'POST', '/api/v1/handoffs', {
      kind: 'candidate-review',
      summary: 'Strong backend candidate, 8 years of Go; please review for the platform role.',
      details: { candidateRef: 'CAND-5521', position: 'Platform engineer' },
      link: 'https://ats.example/candidates/5521',
      idempotency_key: 'handoff-0001',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: 'open', queue: 'recruiters' });
    const id = String(created.body.id);
    const takeCard = await slack.waitFor(
      'chat.postMessage',
      (a) => a.channel === JONAS.id && actionElements(a.blocks).some((e) => e.action_id === 'handoff_take' && String(e.value).includes(id)),
    );
    const take = actionElements(takeCard.args.blocks).find((e) => e.action_id === 'handoff_take')!;
    // `/roster pending` lists it for the recruiter, with its Take it button.
    await postSlack(roster.baseUrl, slashCommand(JONAS.id, 'pending', slack.responseUrl('pending')));
    const pending = await slack.waitForResponse('pending');
    expect(JSON.stringify(pending.body.blocks)).toContain('Hand-off to Recruiters from Screener');
    expect(actionElements(pending.body.blocks).map((e) => e.action_id)).toContain('handoff_take');
    expect(
      (await postSlack(roster.baseUrl, interaction(buttonClick(JONAS.id, 'handoff_take', String(take.value), slack.responseUrl('take')))))
        .status,
    ).toBe(200);
    const taken = await slack.waitForResponse('take');
    const resolve = actionElements(taken.body.blocks).find(
      (e) => e.action_id === 'handoff_resolve' && String(e.value).includes('advanced'),
    );
    expect(resolve).toBeDefined();
    const poll = api(token, 'GET', `/api/v1/handoffs/${id}?wait=30`);
    await postSlack(
      roster.baseUrl,
      interaction(buttonClick(JONAS.id, 'handoff_resolve', String(resolve!.value), slack.responseUrl('resolve'))),
    );
    const outcome = await poll;
    expect(outcome.body).toMatchObject({ status: 'resolved', outcome: 'advanced', resolved_by: JONAS.email, taken_by: JONAS.email });

    // Check-ins read whole days: the next one, tomorrow, covers today.
    const checkIn = await roster.services.supervision.checkins.run(agent.id, new Date(Date.now() + 86_400_000));
    expect(checkIn.sample.current).toBe(1);
    expect(checkIn.metrics.find((m) => m.metric === 'Hand-off rate')?.current).toBe('100.0%');
  });

  it('an unclaimed hand-off has one reminder and one escalation timer; they remind the queue and bring in the sponsor', async () => {
    const { agent, token } = await agentAndToken({
      catalogRoleId: 'resume-screener',
      businessUnit: 'people-ops',
      sponsors: [MAYA.email],
      requestedBy: DANIEL,
      name: 'Night screener',
    });
    const body = { kind: 'candidate-review', summary: 'Please look at CAND-7001.', idempotency_key: 'handoff-timers-01' };
    const created = await api(token, 'POST', '/api/v1/handoffs', body);
    expect(created.status).toBe(201);
    expect((await api(token, 'POST', '/api/v1/handoffs', body)).status).toBe(200);
    const id = String(created.body.id);
    const jobs = await roster.db.connection.collection('agendaJobs').find({ name: 'handoffs.timer', 'data.handoffId': id }).toArray();
    const after = (kind: string) => {
      const job = jobs.find((j) => (j.data as { kind: string }).kind === kind)!;
      return (job.nextRunAt as Date).getTime() - Date.parse(String(created.body.created_at));
    };
    expect(jobs).toHaveLength(2);
    expect(after('remind')).toBe(2 * 3_600_000);
    expect(after('escalate')).toBe(8 * 3_600_000);

    const handoffCard = (to: string, title: string) => (a: Record<string, unknown>) =>
      a.channel === to && JSON.stringify(a.blocks).includes(title) && JSON.stringify(a.blocks).includes(id);
    await slack.waitFor('chat.postMessage', handoffCard(JONAS.id, 'Night screener hands off a case to Recruiters'));
    // What the Agenda job does when each timer falls due.
    await roster.services.handoffs.onTimer({ handoffId: id, kind: 'remind' });
    await slack.waitFor('chat.postMessage', handoffCard(JONAS.id, 'Reminder: Night screener hands off a case'));
    await roster.services.handoffs.onTimer({ handoffId: id, kind: 'escalate' });
    const escalated = await slack.waitFor('chat.postMessage', handoffCard(MAYA.id, 'Night screener hands off a case to Recruiters'));
    const audit = (await roster.services.audit.export({ agentId: agent.id })).filter((e) => e.subject.id === id);
    expect(audit.map((e) => e.action)).toEqual(['handoff.created', 'handoff.reminded', 'handoff.escalated']);
    expect(audit[2]!.details).toMatchObject({ added: [MAYA.email] });

    // The sponsor takes it; the recruiter's first card now says who has it.
    const take = actionElements(escalated.args.blocks).find((e) => e.action_id === 'handoff_take')!;
    await postSlack(
      roster.baseUrl,
      interaction(buttonClick(MAYA.id, 'handoff_take', String(take.value), slack.responseUrl('take-escalated'))),
    );
    await slack.waitForResponse('take-escalated');
    // Slack answers a direct message with the D-channel of the person it went to.
    const jonasDm = `D${JONAS.id.slice(1)}`;
    const updated = await slack.waitFor(
      'chat.update',
      (a) =>
        a.channel === jonasDm && JSON.stringify(a.blocks).includes('CAND-7001') && JSON.stringify(a.blocks).includes('Taken by Maya Chen'),
    );
    expect(actionElements(updated.args.blocks).map((e) => e.action_id)).not.toContain('handoff_take');
  });

  it('bad input gets a 4xx with a code, never a 5xx and never a card', async () => {
    const { agent, token } = await agentAndToken({ ...procurement, name: 'Careless desk' });
    const other = await agentAndToken({ ...procurement, name: 'Other desk' });
    const cardsBefore = slack.of('chat.postMessage').length;
    const cases: Array<[unknown, number, string]> = [
      [{ action: 'contracts.burn', summary: 's', idempotency_key: 'bad-00001' }, 400, 'unknown_action'],
      [{ ...modify('bad-00002'), details: { contractId: 'C-1' } }, 422, 'invalid_details'],
      [{ ...modify('bad-00003'), details: { ...modify('x').details, colour: 'red' } }, 422, 'invalid_details'],
      [{ ...modify('bad-00004'), details: { ...modify('x').details, amountUSD: 'lots' } }, 422, 'invalid_details'],
      [
        { ...modify('bad-00005'), details: { ...modify('x').details, change: 'x'.repeat(1990), a: 'y'.repeat(1990), b: 'z'.repeat(1990) } },
        413,
        'details_too_large',
      ],
      [{ ...modify('bad-00006'), summary: 'x'.repeat(20_000) }, 413, 'payload_too_large'],
      [{ ...modify('short') }, 400, 'invalid_request'],
      ['{"action":', 400, 'invalid_request'],
    ];
    for (const [body, status, code] of cases) {
      const res = await api(token, 'POST', '/api/v1/approvals', body);
      expect([res.status, res.body.error]).toEqual([status, code]);
    }
    const mine = await api(other.token, 'POST', '/api/v1/approvals', modify('other-0001'));
    const foreign = await api(token, 'GET', `/api/v1/approvals/${String(mine.body.id)}`);
    expect([foreign.status, foreign.body.error]).toEqual([404, 'not_found']);
    expect((await api(token, 'GET', `/api/v1/approvals/${String(mine.body.id)}?wait=61`)).status).toBe(400);
    expect((await api(token, 'POST', '/api/v1/handoffs', { kind: 'nope', summary: 's', idempotency_key: 'hand-0001' })).body.error).toBe(
      'unknown_kind',
    );

    await roster.services.agents.update(agent.id, { status: 'suspended' });
    const refused = await api(token, 'POST', '/api/v1/approvals', modify('susp-0001'));
    expect([refused.status, refused.body.error]).toEqual([403, 'agent_not_active']);
    // Only the other agent's one valid request posted a card.
    await eventually(() => slack.of('chat.postMessage').length > cardsBefore);
    expect(slack.of('chat.postMessage').length).toBe(cardsBefore + 1);
  });
});
