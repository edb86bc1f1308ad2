import { createSlackChannel } from '../../src/channels/slack/index.js';
import { FakeSlack } from '../helpers/fake-slack.js';
import { shippedConfigWith } from '../helpers/config-copy.js';
import { eventually } from '../helpers/harness.js';
import { startTestRoster } from '../helpers/app.js';
import { approvalCardsTo, approveValueOf } from '../helpers/slack-journeys.js';
import { buttonClick, interaction, postSlack } from '../helpers/slack-requests.js';
import type { AgentRecord } from '../../src/core/agents.js';
import { agentClient } from '../api/support.js';
import { asAgentId, asApprovalId } from '../helpers/ids.js';

/*
 * Issue 19's decision-boundary rules, each through the real endpoints with a test catalog written
 * to a copy of the shipped configuration (so it is validated like any deployment's): approvers
 * that are a business unit's approver and an on-call rotation, quorum `all`, an amount threshold
 * (`when`), `onTimeout: allow`, separation from the agent's requester, and the `usableFor` window.
 */

const MAYA = { id: 'U04B7K2M9QX', email: 'maya.chen@brightwater.example' }; // approver:finance
const DANIEL = { id: 'U05D9W4H7LE', email: 'daniel.okafor@brightwater.example' }; // requester, finance
const LIAM = { id: 'U04K7R3D9SW', email: 'liam.oneill@brightwater.example' }; // ai-ops on-call, level 1
const AISHA = { id: 'U04L2V8F5HY', email: 'aisha.khan@brightwater.example' }; // ai-ops on-call, level 1
const NOAH = { id: 'U04J5M9C1RF', email: 'noah.fischer@brightwater.example' }; // ai-ops on-call, level 2 only

/** The shipped configuration plus test actions on the procurement assistant. */
function testCatalog(): string {
  return shippedConfigWith('roster-rules-', {
    'procurement-agent': [
      [
        ['boundaries', 'actions', 'refunds.issue'],
        {
          mode: 'needs-approval',
          title: 'Issue a refund',
          fields: { orderRef: { type: 'string', required: true }, amountUSD: { type: 'number', required: true, min: 0 } },
          approvers: ['business-unit-approver', 'oncall:ai-ops'],
          quorum: 'all',
          wait: '1h',
          when: { field: 'amountUSD', above: 1000 },
          usableFor: '10m',
        },
      ],
      [
        ['boundaries', 'actions', 'payments.release'],
        {
          mode: 'needs-approval',
          title: 'Release a held payment',
          fields: { paymentRef: { type: 'string', required: true } },
          approvers: ['sponsor'],
          wait: '2s',
          onTimeout: 'allow',
          usableFor: '5m',
        },
      ],
    ],
  });
}

describe('decision boundary rules at run time', () => {
  let slack: FakeSlack;
  let roster: Awaited<ReturnType<typeof startTestRoster>>;
  // The services' clock runs with the real one, shifted when a test needs time to pass at once.
  let shift = 0;

  beforeAll(async () => {
    slack = new FakeSlack();
    await slack.start();
    roster = await startTestRoster({
      env: slack.rosterEnv(),
      channels: [createSlackChannel],
      configDir: testCatalog(),
      clock: () => new Date(Date.now() + shift),
    });
  });
  afterAll(async () => {
    await roster?.stop();
    await slack?.stop();
  });

  const client = agentClient(() => roster);
  const api = client.api;
  const agentAndToken = (overrides: Partial<AgentRecord> & { name: string }) =>
    client.agentAndToken({
      catalogRoleId: 'procurement-agent',
      businessUnit: 'finance',
      sponsors: [MAYA.email],
      requestedBy: DANIEL.email,
      ...overrides,
    });
  /** Uses an approval a minute after its window closed, with the services' clock shifted for that call only. */
  const consumeLate = async (token: string, id: string, hash: unknown, until: number) => {
    shift = until - Date.now() + 60_000;
    try {
      return await api(token, 'POST', `/api/v1/approvals/${id}/consume`, { details_hash: hash });
    } finally {
      shift = 0;
    }
  };
  const runOf = (agentId: string, id: string) =>
    eventually(async () => {
      const r = await roster.services.runtime.get(asAgentId(agentId), asApprovalId(id));
      return r.runId ? r.runId : undefined;
    });
  const cardFor = (userId: string, runId: string) => eventually(async () => approvalCardsTo(slack, userId, runId)[0]);
  const click = async (userId: string, card: { args: Record<string, unknown> }, name: string) => {
    const res = await postSlack(
      roster.baseUrl,
      interaction(buttonClick(userId, 'approval_approve', approveValueOf(card), slack.responseUrl(name))),
    );
    expect(res.status).toBe(200);
  };
  /** The approvals recorded on the run so far. */
  const approvals = async (runId: string) =>
    (await roster.services.audit.export({})).filter((e) => e.action === 'decision.approve' && JSON.stringify(e.details).includes(runId));

  it('an amount threshold: below it the refund is autonomous, above it the business unit’s approver and the on-call rotation must both approve; the approval is usable within its window only', async () => {
    const { agent, token } = await agentAndToken({ name: 'Refund desk' });
    const refund = (key: string, amountUSD: number) => ({
      action: 'refunds.issue',
      summary: `Refund order O-${key}`,
      details: { orderRef: `O-${key}`, amountUSD },
      idempotency_key: `refund-${key}`,
    });
    const small = await api(token, 'POST', '/api/v1/approvals', refund('0001', 400));
    expect(small.status).toBe(201);
    expect(small.body).toMatchObject({ status: 'allowed', reason: 'autonomous' });
    // At the threshold is not above it.
    expect((await api(token, 'POST', '/api/v1/approvals', refund('0002', 1000))).body).toMatchObject({ status: 'allowed' });

    const large = await api(token, 'POST', '/api/v1/approvals', refund('0003', 5000));
    expect(large.body).toMatchObject({ status: 'pending', action: 'refunds.issue' });
    const id = String(large.body.id);
    const runId = await runOf(agent.id, id);
    // The finance approver (the agent's business unit) and the rotation's first level each get a card; level 2 and the sponsor-only path do not.
    const mayaCard = await cardFor(MAYA.id, runId);
    const liamCard = await cardFor(LIAM.id, runId);
    await cardFor(AISHA.id, runId);
    expect(approvalCardsTo(slack, NOAH.id, runId)).toHaveLength(0);

    // Quorum all: the business unit's approval alone does not decide it.
    await click(MAYA.id, mayaCard, 'refund-maya');
    await eventually(async () => (await approvals(runId)).length === 1);
    expect((await api(token, 'GET', `/api/v1/approvals/${id}`)).body).toMatchObject({ status: 'pending' });
    const poll = api(token, 'GET', `/api/v1/approvals/${id}?wait=30`);
    await click(LIAM.id, liamCard, 'refund-liam');
    const decided = await poll;
    expect(decided.body).toMatchObject({ status: 'approved', usable: 'window' });
    expect([...(decided.body.decided_by as string[])].sort()).toEqual([LIAM.email, MAYA.email].sort());
    const until = Date.parse(String(decided.body.usable_until));
    expect(until - Date.parse(String(decided.body.decided_at))).toBe(10 * 60_000);

    // Within the window: usable more than once. After it: refused.
    const hash = decided.body.details_hash;
    expect((await api(token, 'POST', `/api/v1/approvals/${id}/consume`, { details_hash: hash })).status).toBe(200);
    expect((await api(token, 'POST', `/api/v1/approvals/${id}/consume`, { details_hash: hash })).status).toBe(200);
    const late = await consumeLate(token, id, hash, until);
    expect([late.status, late.body.error]).toEqual([409, 'approval_expired']);
  });

  it('the agent’s requester cannot approve its action, and is told why; another sponsor can', async () => {
    const { agent, token } = await agentAndToken({ name: 'Own desk', sponsors: [MAYA.email, DANIEL.email] });
    const asked = await api(token, 'POST', '/api/v1/approvals', {
      action: 'contracts.modify',
      summary: 'Extend C-88',
      details: { contractId: 'C-88', supplier: 'Acme', change: 'Extend by a year' },
      idempotency_key: 'own-00001',
    });
    expect(asked.body.status).toBe('pending');
    const id = String(asked.body.id);
    const runId = await runOf(agent.id, id);
    const mayaCard = await cardFor(MAYA.id, runId);
    // Daniel is a sponsor but requested the agent: no card for him, and a click on Maya's button is refused.
    expect(approvalCardsTo(slack, DANIEL.id, runId)).toHaveLength(0);
    await click(DANIEL.id, mayaCard, 'own-daniel');
    const refused = await slack.waitForResponse('own-daniel');
    expect(JSON.stringify(refused.body)).toMatch(/can.t approve or deny your own request/);
    expect((await api(token, 'GET', `/api/v1/approvals/${id}`)).body).toMatchObject({ status: 'pending' });
    const audit = await roster.services.audit.export({ agentId: agent.id });
    expect(
      audit.some((e) => e.action === 'decision.approve' && e.actor.kind === 'person' && JSON.stringify(e.actor).includes(DANIEL.email)),
    ).toBe(false);

    await click(MAYA.id, mayaCard, 'own-maya');
    const decided = await api(token, 'GET', `/api/v1/approvals/${id}?wait=30`);
    expect(decided.body).toMatchObject({ status: 'approved', decided_by: [MAYA.email] });
  });

  it('onTimeout allow: nobody decides in time and the agent is told it may act, within the window the role declares', async () => {
    const { agent, token } = await agentAndToken({ name: 'Payment desk' });
    const asked = await api(token, 'POST', '/api/v1/approvals', {
      action: 'payments.release',
      summary: 'Release payment P-9',
      details: { paymentRef: 'P-9' },
      idempotency_key: 'release-0001',
    });
    expect(asked.body.status).toBe('pending');
    const id = String(asked.body.id);
    const decided = await api(token, 'GET', `/api/v1/approvals/${id}?wait=30`);
    expect(decided.body).toMatchObject({ status: 'approved', reason: 'timeout_allowed', usable: 'window' });
    expect((await roster.services.runs.get((await roster.services.runtime.get(agent.id, asApprovalId(id))).runId!))?.status).toBe(
      'expired',
    );
    const until = Date.parse(String(decided.body.usable_until));
    expect(until - Date.parse(String(decided.body.decided_at))).toBe(5 * 60_000);
    const hash = decided.body.details_hash;
    expect((await api(token, 'POST', `/api/v1/approvals/${id}/consume`, { details_hash: hash })).status).toBe(200);
    const late = await consumeLate(token, id, hash, until);
    expect([late.status, late.body.error]).toEqual([409, 'approval_expired']);
  });
});
