import type { CommandEvent } from '../../src/commands/index.js';
import { loadOrgConfig } from '../../src/config/org-config.js';
import { onBothPlatforms, type BothPlatformsTestRoster } from '../helpers/app.js';
import { uniqueDbName } from '../helpers/db.js';
import { eventually, people, requestAwaitingApproval, SHIPPED_CONFIG } from '../helpers/harness.js';
import { buttonClick, interaction, postSlack } from '../helpers/slack-requests.js';
import { actionElements } from '../helpers/slack-blocks.js';
import { cardText } from '../channels/teams/card-reading.js';
import { teamsUser } from '../channels/teams/teams-client.js';
import { asAgentId, asRunId } from '../helpers/ids.js';

const org = loadOrgConfig(SHIPPED_CONFIG);
const NOAH = { id: 'U04J5M9C1RF', email: 'noah.fischer@brightwater.example' }; // approver:engineering, on Slack

/*
 * One command handler behind both platforms: an Approve click signed for Slack's Bolt receiver and
 * an Action.Execute invoke through the Agents SDK both become `run.decide` on the command bus, and
 * the bus runs both through the one handler its registry holds for that command. Observed through
 * the bus's observers (what ran, for whom, through which handler), and through what people see:
 * both decisions stored on the run, audited, and the agent approved.
 */
describe('command bus: an Approve click from Slack and from Teams', () => {
  let both: BothPlatformsTestRoster;
  beforeAll(async () => {
    both = await onBothPlatforms({ dbName: uniqueDbName('bus') });
  });
  afterAll(() => both?.stop());

  it('reaches the engine through the same run.decide handler from either platform', async () => {
    const { roster, slack, teams } = both;
    const events: CommandEvent[] = [];
    const unobserve = roster.services.bus.observe((event) => events.push(event));
    const { runId, agentId } = await requestAwaitingApproval(roster.services, org, people.grace, 'Bus Parity');

    // Noah approves on the card Slack delivered to him, through Bolt's receiver (a signed block_actions).
    const delivered = await slack.waitFor(
      'chat.postMessage',
      (a) => a.channel === NOAH.id && JSON.stringify(a.blocks).includes('Bus Parity'),
      20_000,
    );
    const approve = actionElements(delivered.args.blocks).find((e) => e.action_id === 'approval_approve');
    expect(approve).toBeDefined();
    const clicked = await postSlack(
      roster.baseUrl,
      interaction(buttonClick(NOAH.id, 'approval_approve', String(approve!.value), slack.responseUrl('noah-approves'))),
    );
    expect(clicked.status).toBe(200);
    const fromSlack = await eventually(() => events.find((e) => e.type === 'run.decide' && e.actor === NOAH.email));

    // Liam approves in Teams: an Action.Execute invoke, answered with his card as it now is.
    const liam = teamsUser(roster.chat.person(people.liam)!);
    const answer = await teams.execute(liam, 'approval_approve', { runId, stepId: 'approvals' });
    expect(answer.status).toBe(200);
    expect(cardText(answer.card)).toContain("Approved by **Liam O'Neill**");
    const fromTeams = events.find((e) => e.type === 'run.decide' && e.actor === people.liam);

    // Both went through the bus to the one handler, done; nothing else decided on the run.
    expect(fromSlack).toMatchObject({ type: 'run.decide', outcome: 'done', stage: 'done' });
    expect(fromTeams).toMatchObject({ type: 'run.decide', outcome: 'done', stage: 'done' });
    expect(fromTeams!.handler).toBe(fromSlack.handler);
    expect(events.filter((e) => e.type === 'run.decide').map((e) => e.actor)).toEqual([NOAH.email, people.liam]);

    // What the click changed: both decisions stored and audited, the agent approved.
    const run = await roster.services.engine.get(asRunId(runId));
    expect(run.steps.approvals?.decisions?.map((d) => [d.by, d.decision])).toEqual([
      [NOAH.email, 'approve'],
      [people.liam, 'approve'],
    ]);
    await roster.services.outbox.idle();
    const decided = (await roster.services.audit.export({ agentId: asAgentId(agentId) }))
      .filter((e) => e.action === 'decision.approve')
      .map((e) => (e.actor.kind === 'person' ? e.actor.email : ''));
    expect(decided).toEqual([NOAH.email, people.liam]);
    await eventually(async () => (await roster.services.agents.get(asAgentId(agentId)))?.status === 'active');
    unobserve();
  }, 90_000);
});
