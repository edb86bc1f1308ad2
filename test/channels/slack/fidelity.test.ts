import { createSlackChannel } from '../../../src/channels/slack/index.js';
import { CARD_ACTIONS } from '../../../src/cards/ids.js';
import { startTestRoster } from '../../helpers/app.js';
import { FakeSlack } from '../../helpers/fake-slack.js';
import { agentRecord, eventually } from '../../helpers/harness.js';
import { actionElements } from '../../helpers/slack-blocks.js';
import { requestAgentInSlack } from '../../helpers/slack-journeys.js';
import { buttonClick, interaction, postSlack, slashCommand, viewSubmission } from '../../helpers/slack-requests.js';
import { asAgentId } from '../../helpers/ids.js';

/*
 * When a request reaches the evaluation gate, the sponsors are sent the evaluation form. A form is
 * a modal in Slack and cannot be posted as a message, so sponsors get a message with an
 * "Enter evaluation results" button that opens it, and the requester's status message carries the
 * same button. Driven through Bolt's receiver with signed deliveries, against a fake Slack Web API.
 */

const LIAM = { id: 'U04K7R3D9SW', email: 'liam.oneill@brightwater.example' }; // it-admin, engineering: the requester
const AISHA = { id: 'U04L2V8F5HY', email: 'aisha.khan@brightwater.example' }; // it-admin: a second sponsor

type Call = { args: Record<string, unknown> };

const evaluationButton = (call: Call) =>
  actionElements(call.args.blocks).find(
    (e) => e.action_id === CARD_ACTIONS.evaluationOpen && JSON.stringify(e.text).includes('Enter evaluation results'),
  );

describe('Slack fidelity: the evaluation form as a button, quoted names', () => {
  let slack: FakeSlack;
  let roster: Awaited<ReturnType<typeof startTestRoster>>;

  beforeEach(async () => {
    slack = new FakeSlack();
    await slack.start();
    roster = await startTestRoster({ env: slack.rosterEnv(), channels: [createSlackChannel] });
  });
  afterEach(async () => {
    await roster.stop();
    await slack.stop();
  });

  it('a sponsor clicks Enter evaluation results, the modal opens, and its submission records the evaluation', async () => {
    await requestAgentInSlack(roster.baseUrl, slack, {
      userId: LIAM.id,
      roleId: 'kb-answerer',
      name: 'Gate Button',
      businessUnit: 'engineering',
      sponsorIds: [LIAM.id, AISHA.id],
    });
    const agent = await eventually(async () =>
      (await roster.services.agents.list({ requestedBy: LIAM.email })).find((a) => a.name === 'Gate Button'),
    );
    await eventually(async () => (await roster.services.runs.get(agent.requestRunId))?.status === 'waiting');

    // The sponsor's direct message: a message card (never a refused modal) with the button.
    const toAisha = await slack.waitFor('chat.postMessage', (a) => a.channel === AISHA.id && Boolean(evaluationButton({ args: a })));
    const button = evaluationButton(toAisha)!;
    expect(button.style).toBe('primary');
    expect(JSON.parse(String(button.value))).toEqual({ runId: agent.requestRunId, agentId: agent.id });
    expect(JSON.stringify(toAisha.args.blocks)).toContain('Gate Button');

    // The requester's status message (posted, then updated in place) offers the same button while the gate is open.
    const status = await eventually(async () =>
      slack.calls.find(
        (c) =>
          (c.method === 'chat.postMessage' || c.method === 'chat.update') &&
          JSON.stringify(c.args.blocks).includes('Waiting for evaluation results') &&
          Boolean(evaluationButton(c)),
      ),
    );
    expect(JSON.parse(String(evaluationButton(status)?.value))).toEqual({ runId: agent.requestRunId, agentId: agent.id });

    // The click opens the evaluation modal.
    const from = slack.calls.length;
    expect(
      (
        await postSlack(
          roster.baseUrl,
          interaction(buttonClick(AISHA.id, CARD_ACTIONS.evaluationOpen, String(button.value), slack.responseUrl('aisha-eval'))),
        )
      ).status,
    ).toBe(200);
    const opened = await eventually(async () =>
      slack.calls
        .slice(from)
        .find((c) => c.method === 'views.open' && (c.args.view as Record<string, unknown>).callback_id === CARD_ACTIONS.evaluationSubmit),
    );
    const view = opened.args.view as Record<string, unknown>;
    expect(JSON.parse(String(view.private_metadata))).toEqual({ runId: agent.requestRunId, agentId: agent.id });
    const roleFit = actionElements(view.blocks)
      .filter((e) => e.action_id === 'role_fit')
      .flatMap((e) => e.options as Array<{ value: string }>);

    // Submitting it records the evaluation: the gate passes and the approvals open.
    const submitted = await postSlack(
      roster.baseUrl,
      interaction(
        viewSubmission(AISHA.id, view, {
          accuracy: { accuracy: { type: 'number_input', value: '0.93' } },
          p95_latency_ms: { p95_latency_ms: { type: 'number_input', value: '1800' } },
          cost_per_task_usd: { cost_per_task_usd: { type: 'number_input', value: '0.01' } },
          role_fit_0: { role_fit: { type: 'checkboxes', selected_options: roleFit.map((o) => ({ value: o.value })) } },
          notes: { notes: { type: 'plain_text_input', value: 'Vendor benchmark; no endpoint Roster can reach yet.' } },
        }),
      ),
    );
    expect(submitted.status).toBe(200);
    const verdict = await slack.waitFor('chat.postMessage', (a) => a.channel === AISHA.id && JSON.stringify(a.blocks).includes('0.93'));
    expect(JSON.stringify(verdict.args.blocks)).toMatch(/passed/i);
    await eventually(async () => (await roster.services.runs.get(agent.requestRunId))?.steps.evaluation?.status === 'passed');
    // The audit entry is the gate's outbox effect, appended once the passed step is stored.
    const trail = await eventually(async () => {
      const t = (await roster.services.audit.export({ agentId: agent.id })).map(
        (e) => `${e.action}${e.actor.kind === 'person' ? `:${e.actor.email}` : ''}`,
      );
      return t.includes(`gate.passed:${AISHA.email}`) ? t : undefined;
    });
    expect(trail).toContain(`gate.passed:${AISHA.email}`);
  }, 60_000);

  it('quoted agent names work in /roster commands: show "…"', async () => {
    await roster.services.agents.insert(
      agentRecord({
        id: asAgentId('agt_quote0000slack1'),
        name: 'Refund Triage',
        catalogRoleId: 'kb-answerer',
        sponsors: [LIAM.email],
        businessUnit: 'engineering',
      }),
    );
    expect((await postSlack(roster.baseUrl, slashCommand(LIAM.id, 'show "Refund Triage"', slack.responseUrl('show-quoted')))).status).toBe(
      200,
    );
    const reply = await slack.waitForResponse('show-quoted');
    expect(JSON.stringify(reply.body.blocks)).toContain('agt_quote0000slack1');
  }, 60_000);
});
