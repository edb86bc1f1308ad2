import { startTeamsTestRoster, type TeamsTestRoster } from '../../helpers/app.js';
import { FakeConnector } from '../../helpers/fake-connector.js';
import { loadOrgConfig } from '../../../src/config/org-config.js';
import { agentRecord, eventually, passingEvaluation, people, SHIPPED_CONFIG } from '../../helpers/harness.js';
import { button, cardText, cardVerbs, inputIds } from './card-reading.js';
import { teamsUser } from './teams-client.js';
import { commandsOf } from '../../helpers/commands.js';
import { asAgentId } from '../../helpers/ids.js';

/*
 * Teams fidelity, through the Agents SDK fed activities as Teams sends them and a fake Bot
 * Connector: the access form is answered (its Action.Execute verb is routed), and more below.
 */

const NOAH = 'noah.fischer@brightwater.example'; // approver:engineering, sponsor of the agents here

describe('Teams fidelity', () => {
  let t: TeamsTestRoster;
  beforeAll(async () => {
    t = await startTeamsTestRoster();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('access with arguments missing answers with the access form, and its Send request (access_request_submit) starts the request', async () => {
    const { roster, connector, client } = t;
    await roster.services.agents.insert(
      agentRecord({
        id: asAgentId('agt_acc0000form0001'),
        name: 'Form Helper',
        catalogRoleId: 'kb-answerer',
        sponsors: [NOAH],
        businessUnit: 'engineering',
      }),
    );
    const sponsor = teamsUser(roster.chat.person(NOAH)!);
    await client.install(sponsor);
    connector.reset();

    expect((await client.message(sponsor, 'access "Form Helper"')).status).toBe(200);
    const form = connector
      .posts(sponsor.conversationId)
      .map((p) => FakeConnector.card(p))
      .find((c) => cardVerbs(c).includes('access_request_submit'));
    expect(form).toBeDefined();
    expect(inputIds(form)).toEqual(['target', 'duration', 'reason']);
    const choices = JSON.stringify(form).match(/"value":"(agt_acc0000form0001:[^"]+)"/);
    expect(choices).not.toBeNull();
    const targetId = choices![1]!;

    // A reason too short comes back on the form, with what was typed kept.
    const again = await client.execute(sponsor, 'access_request_submit', {
      ...button(form, 'access_request_submit').data,
      target: targetId,
      reason: 'x',
    });
    expect(again.status).toBe(200);
    expect(cardVerbs(again.card)).toContain('access_request_submit');
    expect(cardText(again.card)).toContain('Say why the agent needs this access');
    expect(await roster.services.grants.list({ agentIds: [asAgentId('agt_acc0000form0001')] })).toEqual([]);

    const sent = await client.execute(sponsor, 'access_request_submit', {
      ...button(form, 'access_request_submit').data,
      target: targetId,
      duration: '8h',
      reason: 'Answers on-call questions from the runbooks.',
    });
    expect(sent.status).toBe(200);
    expect(cardText(sent.card)).not.toContain('no longer works');
    const [grant] = await roster.services.grants.list({ agentIds: [asAgentId('agt_acc0000form0001')] });
    expect(grant).toMatchObject({ agentId: 'agt_acc0000form0001', scope: targetId.slice(targetId.indexOf(':') + 1), requestedBy: NOAH });
  }, 60_000);

  it('quoted agent names work in Teams messages: show "…" and show “…”', async () => {
    const { roster, connector, client } = t;
    await roster.services.agents.insert(
      agentRecord({
        id: asAgentId('agt_quote0000name01'),
        name: 'Refund Triage',
        catalogRoleId: 'kb-answerer',
        sponsors: [NOAH],
        businessUnit: 'engineering',
      }),
    );
    const sponsor = teamsUser(roster.chat.person(NOAH)!);
    await client.install(sponsor);
    for (const text of ['show "Refund Triage"', 'show “Refund Triage”']) {
      connector.reset();
      expect((await client.message(sponsor, text)).status).toBe(200);
      const shown = connector.posts(sponsor.conversationId).map((p) => cardText(FakeConnector.card(p)));
      expect(shown.join('\n')).toContain('agt_quote0000name01');
    }
  }, 60_000);

  it("approval cards refresh for the approvers' Teams user ids (from.id), leaving out those Roster never heard from", async () => {
    const { roster, connector, client } = t;
    const org = loadOrgConfig(SHIPPED_CONFIG);
    // Teams user ids are opaque (`29:1…`), unrelated to the Entra object id: the card must name these.
    const noah = { ...teamsUser(roster.chat.person(NOAH)!), id: '29:1nOaHfIsChErOpAqUeTeAmSuSeRiD' };
    const liam = { ...teamsUser(roster.chat.person(people.liam)!), id: '29:1lIaMoNeIlLoPaQuEtEaMsUsErId' };
    const aisha = teamsUser(roster.chat.person(people.aisha)!); // never wrote to Roster in Teams
    for (const u of [noah, liam]) expect((await client.install(u)).status).toBe(200);
    connector.reset();

    const { run, agentId } = await commandsOf(roster.services).requestAgent(people.grace, {
      roleId: 'kb-answerer',
      name: 'Refresh Ids',
      purpose: 'Answers how-to questions from the wiki.',
      businessUnit: 'engineering',
      sponsors: [people.grace],
      justification: 'Fewer interruptions.',
    });
    await commandsOf(roster.services).submitEvaluation(people.liam, agentId, passingEvaluation(org, 'kb-answerer'));
    const cardTo = (u: typeof noah) =>
      eventually(async () =>
        connector
          .posts(u.conversationId)
          .map((p) => FakeConnector.card(p))
          .find((c) => cardText(c).includes('Approve Refresh Ids (')),
      );
    for (const u of [noah, liam]) {
      const card = await cardTo(u);
      const refresh = card!.refresh as { action: { verb: string; data: Record<string, unknown> }; userIds: string[] };
      expect(refresh.action.verb).toBe('approval_refresh');
      expect([...refresh.userIds].sort()).toEqual([noah.id, liam.id].sort());
    }

    // Teams' automatic refresh for Liam: his own view, and the refreshed card still names the Teams ids.
    const card = (await cardTo(liam))!;
    const refreshed = await client.execute(liam, 'approval_refresh', button(card, 'approval_approve').data!, { trigger: 'automatic' });
    expect(cardVerbs(refreshed.card)).toEqual(['approval_approve', 'approval_deny']);
    expect([...(refreshed.card!.refresh as { userIds: string[] }).userIds].sort()).toEqual([noah.id, liam.id].sort());

    // Aisha was left out of the refresh; the card still works for her by Action.Execute.
    const decided = await client.execute(aisha, 'approval_approve', button(card, 'approval_approve').data!);
    expect(decided.status).toBe(200);
    expect(cardVerbs(decided.card)).toEqual([]);
    await eventually(async () => (await roster.services.runs.get(run.id))?.steps.approvals?.decisions?.some((d) => d.by === people.aisha));
  }, 60_000);
});
