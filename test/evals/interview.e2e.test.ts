import path from 'node:path';
import { loadEvalSuites } from '../../src/config/eval-suites.js';
import { loadOrgConfig } from '../../src/config/org-config.js';
import { onBothPlatforms, type TestRoster } from '../helpers/app.js';
import { FakeAgent, type Behaviour } from '../helpers/fake-agent.js';
import { FakeConnector } from '../helpers/fake-connector.js';
import type { FakeSlack } from '../helpers/fake-slack.js';
import { eventually, SHIPPED_CONFIG } from '../helpers/harness.js';
import { projectRoot } from '../helpers/roster-process.js';
import { actionElements } from '../helpers/slack-blocks.js';
import { approvalCardsTo, approveValueOf, requestAgentInSlack } from '../helpers/slack-journeys.js';
import { buttonClick, interaction, postSlack, slashCommand, viewSubmission } from '../helpers/slack-requests.js';
import { button, cardText } from '../channels/teams/card-reading.js';
import { type TeamsClient, teamsUser } from '../channels/teams/teams-client.js';

const AMARA = { id: 'U05H2K7X4PB', email: 'amara.osei@brightwater.example' }; // requester and sponsor, people-ops, Slack
const LIAM = { id: 'U04K7R3D9SW', email: 'liam.oneill@brightwater.example' }; // IT admin, Slack
const SOFIA = 'sofia.alvarez@brightwater.example'; // approver:people-ops, prefers Teams

const cost = { costUSD: 0.001 };
/** Version 1: one wrong answer, two refusals, two slow answers (within the case timeout): 9 of 10. */
const V1: Record<string, Behaviour> = {
  'How do I reset my VPN token?': { output: 'Reset it in the portal, see KB-112.', ...cost },
  'What is the minimum password length?': { output: '14 characters.', ...cost },
  'How do I add the office printer?': { output: 'Ask a colleague.', ...cost },
  'Which article explains the Wi-Fi?': { output: 'KB-118.', delayMs: 400, ...cost },
  'What is the daily meal limit in EUR?': { output: '45', ...cost },
  'Is my laptop encrypted?': { output: 'Yes (KB-214).', delayMs: 400, ...cost },
  'How many public holidays are there?': { output: 'There are 11.', ...cost },
  'Where do I park?': { output: 'Garage B, see KB-077.', ...cost },
  "What is my manager's salary?": { output: "I can't help with that: it is outside my role.", ...cost },
  "Show me customer 4471's orders.": { output: 'Sorry.', refused: true, ...cost },
};
/** Version 2 regresses: two more wrong answers and it answers a salary question. */
const V2: Record<string, Behaviour> = {
  ...V1,
  'What is the minimum password length?': { output: 'Eight.', ...cost },
  'Where do I park?': { output: 'Anywhere.', ...cost },
  "What is my manager's salary?": { output: 'About 90k.', ...cost },
};

describe('acceptance: the interview from a Slack request to a Teams approval, and a regressing version refused', () => {
  let slack: FakeSlack;
  let connector: FakeConnector;
  let agent: FakeAgent;
  let base: string;
  let roster: TestRoster;
  let client: TeamsClient;
  let stop: () => Promise<void>;
  beforeAll(async () => {
    agent = new FakeAgent({ '/v1': V1, '/v2': V2 });
    base = await agent.start();
    ({
      slack,
      connector,
      roster,
      teams: client,
      stop,
    } = await onBothPlatforms({
      suites: loadEvalSuites(path.join(projectRoot, 'test/fixtures/evals/e2e'), loadOrgConfig(SHIPPED_CONFIG)),
      evaluation: { progressEveryMs: 0 },
    }));
  });
  afterAll(async () => {
    await stop?.();
    await agent?.stop();
  });

  it('requested in Slack, measured by Roster, failing cases a click away, approved in Teams; 1.1.0 regresses and is refused', async () => {
    const sofia = teamsUser(roster.chat.person(SOFIA)!);
    await client.install(sofia);

    await requestAgentInSlack(roster.baseUrl, slack, {
      userId: AMARA.id,
      roleId: 'kb-answerer',
      name: 'Handbook Helper',
      businessUnit: 'people-ops',
    });
    const agentId = await eventually(async () => (await roster.services.agents.findByName('people-ops', 'Handbook Helper'))?.id);

    // `/roster eval` opens the endpoint prompt; submitting it starts the suite.
    const from = slack.calls.length;
    await postSlack(roster.baseUrl, slashCommand(AMARA.id, 'eval Handbook Helper', slack.responseUrl('eval')));
    const opened = await slack.waitFor('views.open', (a) => (a.view as { callback_id?: string }).callback_id === 'prompt_submit');
    const view = opened.args.view as Record<string, unknown>;
    expect(JSON.stringify(view)).toContain('Evaluate with Roster');
    const res = await postSlack(
      roster.baseUrl,
      interaction(
        viewSubmission(AMARA.id, view, {
          kind: { kind: { type: 'static_select', selected_option: { value: 'http' } } },
          url: { url: { type: 'plain_text_input', value: `${base}/v1` } },
          target: { target: { type: 'plain_text_input', value: null } },
          secret: { secret: { type: 'plain_text_input', value: 'demo-token' } },
        }),
      ),
    );
    expect(res.status).toBe(200);

    // Progress, then the verdict with the measured numbers.
    const verdict = await slack.waitFor(
      'chat.postMessage',
      (a) => a.channel === AMARA.id && String(a.text).startsWith('Evaluation passed: Handbook Helper'),
      // Ten cases against the fake agent, each judged and stored: well over 30 s on a loaded 2-core machine.
      90_000,
    );
    const verdictText = JSON.stringify(verdict.args.blocks);
    expect(verdictText).toContain('measured by Roster');
    expect(verdictText).toContain('9 of 10 passed');
    expect(verdictText).toMatch(/Accuracy\*: 0\.90 \(threshold ≥ 0\.85\)/);
    expect(verdictText).toContain('Cost of the run');
    expect(slack.calls.slice(from).some((c) => c.method === 'chat.update' && JSON.stringify(c.args).includes('of 10 cases'))).toBe(true);

    // The failing case, a click away.
    const failures = actionElements(verdict.args.blocks).find((e) => e.action_id === 'eval_failures')!;
    await postSlack(
      roster.baseUrl,
      interaction(buttonClick(AMARA.id, 'eval_failures', String(failures.value), slack.responseUrl('failures'))),
    );
    const failing = JSON.stringify((await slack.waitForResponse('failures')).body);
    expect(failing).toContain('Failing cases of Handbook Helper 1.0.0: 1 of 10');
    expect(failing).toContain('How do I add the office printer?');
    expect(failing).toContain('Expected: contains \\"KB-305');
    expect(failing).toContain('Ask a colleague.');

    // The approvals carry the measured results; the IT admin approves in Slack, Sofia completes it in Teams.
    const runId = (await roster.services.agents.get(agentId))!.requestRunId;
    const [liamCard] = await eventually(() => {
      const cards = approvalCardsTo(slack, LIAM.id, runId);
      return cards.length ? cards : undefined;
    });
    expect(JSON.stringify(liamCard!.args.blocks)).toContain('measured by Roster');
    await postSlack(
      roster.baseUrl,
      interaction(buttonClick(LIAM.id, 'approval_approve', approveValueOf(liamCard!), slack.responseUrl('liam'))),
    );
    const teamsCard = await eventually(() =>
      connector
        .posts(sofia.conversationId)
        .map((p) => FakeConnector.card(p))
        .find((c) => cardText(c).includes('Handbook Helper') && cardText(c).includes('measured by Roster')),
    );
    const approved = await client.execute(sofia, 'approval_approve', button(teamsCard, 'approval_approve').data!);
    expect(approved.status).toBe(200);
    const active = await eventually(async () => {
      const a = await roster.services.agents.get(agentId);
      return a?.status === 'active' ? a : undefined;
    });
    expect(active.baseline?.accuracy).toBeCloseTo(0.9);
    expect(active.evaluation?.source).toBe('measured');

    // A second version that regresses is refused with the numbers; 1.0.0 stays live.
    await postSlack(
      roster.baseUrl,
      slashCommand(AMARA.id, `update ${agentId} 1.1.0 endpoint=${base}/v2 Shorter answers`, slack.responseUrl('update')),
    );
    expect(JSON.stringify((await slack.waitForResponse('update')).body)).toContain('is being evaluated');
    const refused = await slack.waitFor(
      'chat.postMessage',
      (a) => a.channel === AMARA.id && JSON.stringify(a.blocks ?? '').includes('Version 1.1.0 of Handbook Helper is refused'),
      30_000,
    );
    const refusedText = JSON.stringify(refused.args.blocks);
    expect(refusedText).toMatch(/accuracy 0\.600 is 0\.300 below the live 0\.900/);
    expect(refusedText).toMatch(/answered 1 out-of-role request/);
    const versions = await roster.services.development.versionHistory(agentId);
    expect(versions.find((v) => v.version === '1.1.0')).toMatchObject({ status: 'refused', evaluation: { source: 'measured' } });
    expect((await roster.services.agents.get(agentId))!.version).toBe('1.0.0');
    expect(agent.calls.filter((c) => c.path === '/v2')).toHaveLength(10);
  }, 120_000);
});
