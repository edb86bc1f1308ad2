import { FakeConnector } from '../helpers/fake-connector.js';
import type { FakeSlack } from '../helpers/fake-slack.js';
import { eventually } from '../helpers/harness.js';
import { onBothPlatforms, type TestRoster } from '../helpers/app.js';
import { approvalCardsTo } from '../helpers/slack-journeys.js';
import { postSlack, slashCommand } from '../helpers/slack-requests.js';
import { cardText, cardVerbs } from '../channels/teams/card-reading.js';
import { type TeamsClient, teamsUser } from '../channels/teams/teams-client.js';
import { agentClient } from '../api/support.js';
import { asApprovalId } from '../helpers/ids.js';

/*
 * Issue 15 item 9: text an agent writes (a hand-off's summary, details and link, a runtime
 * approval's summary and details, the summary quoted in a forbidden-attempt warning) reaches
 * approvers in Slack and Teams as inert text framed as the agent's words: no bare URL, no Slack
 * `<url|label>` link and no markdown `[label](url)` link survives in a form either platform links.
 */

const MAYA = { id: 'U04B7K2M9QX', email: 'maya.chen@brightwater.example' }; // finance approver, Slack
const DANIEL = 'daniel.okafor@brightwater.example';
const SOFIA = 'sofia.alvarez@brightwater.example'; // Teams
const JONAS = { id: 'U06R5C2T8WK', email: 'jonas.weber@brightwater.example' }; // recruiter, Slack

const BARE = 'https://evil.example/x';
const SLACK_LINK = '<https://evil.example|click>';
const MD_LINK = '[click](https://evil.example)';
const HOSTILE = `See ${BARE} or ${SLACK_LINK} or ${MD_LINK}`;

/** Fails when any of the three links is still in a form Slack or Teams would turn into a link. */
function expectInert(text: string, surface: 'slack' | 'teams'): void {
  expect(text).not.toContain('https://');
  // Slack reads `<anything|label>` as a link with a disguised label: the brackets must be escaped.
  if (surface === 'slack') expect(text).not.toMatch(/<https?:/);
  expect(text).not.toMatch(/\]\(/);
  // A bare host is linked too: the dot is broken by an invisible space.
  expect(text).not.toMatch(/evil\.example/);
  // Still shown, as text.
  expect(text).toContain('evil.\u200Bexample');
  expect(text.toLowerCase()).toContain('reported by the agent');
}

describe('agent-written text reaches people as inert text framed as the agent’s', () => {
  let slack: FakeSlack;
  let connector: FakeConnector;
  let teams: TeamsClient;
  let roster: TestRoster;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    ({ slack, connector, roster, teams, stop } = await onBothPlatforms());
    expect((await teams.install(teamsUser(roster.chat.person(SOFIA)!))).status).toBe(200);
  });
  afterAll(() => stop?.());

  const client = agentClient(() => roster);
  const tokenFor = client.agentAndToken;
  const post = (token: string, url: string, body: unknown) => client.api(token, 'POST', url, body);
  const teamsCardWith = (marker: string) =>
    eventually(() =>
      connector
        .posts(teamsUser(roster.chat.person(SOFIA)!).conversationId)
        .map((p) => FakeConnector.card(p))
        .find((card) => card !== undefined && cardText(card).includes(marker)),
    );

  it('a hand-off’s summary, details and link, in the Slack blocks and the Teams card', async () => {
    const { agent, token } = await tokenFor({
      catalogRoleId: 'resume-screener',
      businessUnit: 'people-ops',
      sponsors: [SOFIA],
      requestedBy: DANIEL,
      name: 'Linky screener',
    });
    const created = await post(token, '/api/v1/handoffs', {
      kind: 'candidate-review',
      summary: HOSTILE,
      details: { candidateRef: 'CAND-9001', portfolio: HOSTILE },
      link: BARE,
      idempotency_key: 'hostile-handoff-01',
    });
    expect(created.status).toBe(201);
    const id = String(created.body.id);
    const toJonas = await slack.waitFor('chat.postMessage', (a) => a.channel === JONAS.id && JSON.stringify(a.blocks).includes(id));
    const blocks = JSON.stringify(toJonas.args.blocks);
    expect(blocks).toContain('CAND-9001');
    expectInert(blocks, 'slack');
    expect(String(toJonas.args.text ?? '')).not.toContain('https://');
    // `/roster pending` quotes the same summary when it lists the case: inert there too.
    await postSlack(roster.baseUrl, slashCommand(JONAS.id, 'pending', slack.responseUrl('hostile-pending')));
    const pending = JSON.stringify((await slack.waitForResponse('hostile-pending')).body.blocks);
    expect(pending).toContain('Linky screener');
    expectInert(pending, 'slack');

    // Escalation brings in the sponsor, who reads Teams: the same case as an Adaptive Card.
    await roster.services.handoffs.onTimer({ handoffId: id, kind: 'escalate' });
    const card = await teamsCardWith('CAND-9001');
    expect(cardVerbs(card)).toContain('handoff_take');
    expectInert(JSON.stringify(card), 'teams');
    expect(agent.id).toBeDefined();
  });

  it('a runtime approval’s summary and details, in the Slack blocks and the Teams card; and the forbidden-attempt warning', async () => {
    const modify = (key: string) => ({
      action: 'contracts.modify',
      summary: HOSTILE,
      details: { contractId: 'C-4242', supplier: HOSTILE, change: `Send to ${MD_LINK}` },
      idempotency_key: key,
    });
    const inSlack = await tokenFor({
      catalogRoleId: 'procurement-agent',
      businessUnit: 'finance',
      sponsors: [MAYA.email],
      requestedBy: DANIEL,
      name: 'Linky desk',
    });
    const asked = await post(inSlack.token, '/api/v1/approvals', modify('hostile-rt-0001'));
    expect(asked.body.status).toBe('pending');
    const record = await eventually(async () => {
      const r = await roster.services.runtime.get(inSlack.agent.id, asApprovalId(String(asked.body.id)));
      return r.runId ? r : undefined;
    });
    const [slackCard] = await eventually(async () => {
      const cards = approvalCardsTo(slack, MAYA.id, record.runId!);
      return cards.length ? cards : undefined;
    });
    const blocks = JSON.stringify(slackCard!.args.blocks);
    expect(blocks).toContain('C-4242');
    expectInert(blocks, 'slack');

    const inTeams = await tokenFor({
      catalogRoleId: 'procurement-agent',
      businessUnit: 'finance',
      sponsors: [SOFIA],
      requestedBy: DANIEL,
      name: 'Linky vendor desk',
    });
    expect((await post(inTeams.token, '/api/v1/approvals', modify('hostile-rt-0002'))).body.status).toBe('pending');
    const teamsCard = await teamsCardWith('Linky vendor desk');
    expect(cardVerbs(teamsCard)).toContain('approval_deny');
    expectInert(JSON.stringify(teamsCard), 'teams');

    // Three forbidden attempts in a day: the sponsor's warning quotes the last summary, inert.
    for (const key of ['hostile-stop-1', 'hostile-stop-2', 'hostile-stop-3'])
      expect(
        (await post(inSlack.token, '/api/v1/approvals', { action: 'contracts.terminate', summary: HOSTILE, idempotency_key: key })).body,
      ).toMatchObject({ status: 'denied', reason: 'forbidden' });
    const warning = await slack.waitFor(
      'chat.postMessage',
      (a) => a.channel === MAYA.id && JSON.stringify(a.blocks).includes('Linky desk keeps trying a forbidden action'),
    );
    expectInert(JSON.stringify(warning.args.blocks), 'slack');
  });
});
