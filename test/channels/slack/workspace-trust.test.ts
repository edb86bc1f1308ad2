import { createSlackChannel } from '../../../src/channels/slack/index.js';
import { loadOrgConfig } from '../../../src/config/org-config.js';
import { startTestRoster } from '../../helpers/app.js';
import { FakeSlack } from '../../helpers/fake-slack.js';
import { eventually, passingEvaluation, SHIPPED_CONFIG } from '../../helpers/harness.js';
import { buttonClick, interaction, postSlack, sign, slashCommand } from '../../helpers/slack-requests.js';
import { commandsOf } from '../../helpers/commands.js';
import { asRunId } from '../../helpers/ids.js';

const LIAM = { id: 'U04K7R3D9SW', email: 'liam.oneill@brightwater.example' }; // it-admin, engineering
const NOAH = { id: 'U04J5M9C1RF', email: 'noah.fischer@brightwater.example' }; // approver:engineering

const REFUSAL = 'Roster is not available to you';

/**
 * Roster serves the people of its own Slack workspace: a delivery from another workspace, or from
 * someone of another organisation in a shared (Slack Connect) channel, is refused with a friendly
 * word and no effect, even when it names a directory person's Slack id. Requests timestamped more
 * than five minutes ahead are refused like stale ones.
 */
describe('Slack trusts only its own workspace', () => {
  let slack: FakeSlack;
  let roster: Awaited<ReturnType<typeof startTestRoster>>;
  let runId: string;

  beforeAll(async () => {
    slack = new FakeSlack();
    await slack.start();
    roster = await startTestRoster({ env: slack.rosterEnv(), channels: [createSlackChannel] });
    const { run, agentId } = await commandsOf(roster.services).requestAgent(LIAM.email, {
      roleId: 'kb-answerer',
      name: 'Workspace Target',
      purpose: 'Answers questions.',
      businessUnit: 'engineering',
      sponsors: [LIAM.email],
      justification: 'Tests.',
    });
    await commandsOf(roster.services).submitEvaluation(
      LIAM.email,
      agentId,
      passingEvaluation(loadOrgConfig(SHIPPED_CONFIG), 'kb-answerer'),
    );
    runId = run.id;
    await eventually(async () => (await roster.services.runs.get(asRunId(runId)))?.status === 'waiting');
  });
  afterAll(async () => {
    await roster?.stop();
    await slack?.stop();
  });

  const approveClick = (responseId: string, team: { team: string; userTeam: string }) => {
    const click = buttonClick(NOAH.id, 'approval_approve', JSON.stringify({ runId, stepId: 'approvals' }), slack.responseUrl(responseId));
    return interaction({
      ...click,
      team: { id: team.team, domain: 'elsewhere' },
      user: { ...(click.user as Record<string, unknown>), team_id: team.userTeam },
    });
  };
  /** The people still asked to decide: an approval by Noah takes him off the list. */
  const waitingFor = async () => (await roster.services.runs.get(asRunId(runId)))?.waitingFor ?? [];

  it('refuses a click from another workspace, even with an approver’s Slack id', async () => {
    const before = await roster.services.runs.get(asRunId(runId));
    expect((await postSlack(roster.baseUrl, approveClick('foreign', { team: 'TOTHER', userTeam: 'TOTHER' }))).status).toBe(200);
    const answer = await slack.waitForResponse('foreign');
    expect(JSON.stringify(answer.body)).toContain(REFUSAL);
    expect(answer.body.response_type).toBe('ephemeral');
    expect(await roster.services.runs.get(asRunId(runId))).toEqual(before);
  });

  it('refuses a Slack Connect stranger in a shared channel of our workspace', async () => {
    const before = await roster.services.runs.get(asRunId(runId));
    expect((await postSlack(roster.baseUrl, approveClick('stranger', { team: 'TBRIGHT', userTeam: 'TEXTERNAL' }))).status).toBe(200);
    expect(JSON.stringify((await slack.waitForResponse('stranger')).body)).toContain(REFUSAL);
    expect(await roster.services.runs.get(asRunId(runId))).toEqual(before);
  });

  it('refuses a slash command from another workspace', async () => {
    const command = slashCommand(LIAM.id, 'list', slack.responseUrl('foreign-command'));
    const body = command.body.replace('team_id=TBRIGHT', 'team_id=TOTHER');
    const res = await postSlack(roster.baseUrl, { body, headers: { ...command.headers, ...sign(body) } });
    expect(res.status).toBe(200);
    const answer = await slack.waitForResponse('foreign-command');
    expect(JSON.stringify(answer.body)).toContain(REFUSAL);
    expect(JSON.stringify(answer.body)).not.toContain('Workspace Target');
  });

  it('lets the same approver act from our workspace (positive control)', async () => {
    expect(await waitingFor()).toContain(NOAH.email);
    expect((await postSlack(roster.baseUrl, approveClick('own', { team: 'TBRIGHT', userTeam: 'TBRIGHT' }))).status).toBe(200);
    await eventually(async () => !(await waitingFor()).includes(NOAH.email));
    expect(slack.responses.filter((r) => r.id === 'own' && JSON.stringify(r.body).includes(REFUSAL))).toEqual([]);
  });

  it('refuses a request timestamped more than five minutes ahead; four minutes ahead is within the window', async () => {
    const now = Math.floor(Date.now() / 1000);
    const ahead = slashCommand(LIAM.id, 'help', slack.responseUrl('ahead'));
    const future = await postSlack(roster.baseUrl, { body: ahead.body, headers: { ...ahead.headers, ...sign(ahead.body, now + 10 * 60) } });
    expect(future.status).toBe(401);
    const justAhead = slashCommand(LIAM.id, 'help', slack.responseUrl('just-ahead'));
    const within = await postSlack(roster.baseUrl, {
      body: justAhead.body,
      headers: { ...justAhead.headers, ...sign(justAhead.body, now + 4 * 60) },
    });
    expect(within.status).toBe(200);
    await slack.waitForResponse('just-ahead');
    expect(slack.responses.filter((r) => r.id === 'ahead')).toEqual([]);
  });
});
