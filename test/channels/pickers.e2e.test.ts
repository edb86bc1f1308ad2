import { onBothPlatforms, type TestRoster } from '../helpers/app.js';
import { FakeConnector } from '../helpers/fake-connector.js';
import type { FakeSlack } from '../helpers/fake-slack.js';
import { agentRecord, eventually, people } from '../helpers/harness.js';
import { blockSuggestion, interaction, postSlack, slashCommand, viewSubmission } from '../helpers/slack-requests.js';
import { actionElements } from '../helpers/slack-blocks.js';
import { button, cardText } from './teams/card-reading.js';
import { type TeamsClient, type TeamsUser, teamsUser } from './teams/teams-client.js';
import type { AgentRecord } from '../../src/core/agents.js';

/*
 * Issue 22 item 4, "pick, don't type": a form that names an agent offers exactly the agents the
 * person may act on with it (never a stranger's, not even one they may see), as a list or, past
 * what a list holds, as a search as they type; people are picked from the directory; the access
 * form's scopes show their risk and longest grant. A tampered choice is refused with a clear
 * message and changes nothing. Through the real endpoints: Bolt's receiver fed signed requests
 * (fake Slack Web API), the Agents SDK fed Teams activities (fake Bot Connector).
 */

const PRIYA = { id: 'U04E6T1V5GA', email: 'priya.raman@brightwater.example' }; // Slack; approver:customer-support
const SOFIA = { id: 'U04G8Q2Z6DM', email: 'sofia.alvarez@brightwater.example' }; // Slack and Teams; people-ops
const TOM = people.tom; // Teams; requester, customer-support
const DANIEL = people.daniel; // finance; sponsors the strangers' agents
const NOAH = 'noah.fischer@brightwater.example';

type Modal = { callback_id: string; private_metadata: string; blocks: unknown };

/** The Input.ChoiceSet with this id on a card. */
function choiceSet(card: unknown, id: string): Record<string, unknown> {
  let found: Record<string, unknown> | undefined;
  const walk = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      const obj = node as Record<string, unknown>;
      if (obj.type === 'Input.ChoiceSet' && obj.id === id) found = obj;
      Object.values(obj).forEach(walk);
    }
  };
  walk(card);
  if (!found) throw new Error(`no choice set "${id}" on the card`);
  return found;
}

const choiceValues = (set: Record<string, unknown>) => ((set.choices ?? []) as Array<{ value: string }>).map((c) => c.value);
const choiceTitles = (set: Record<string, unknown>) => ((set.choices ?? []) as Array<{ title: string }>).map((c) => c.title);

describe('pickers in Slack and Teams: agents, people and scopes', () => {
  let slack: FakeSlack;
  let connector: FakeConnector;
  let roster: TestRoster;
  let client: TeamsClient;
  let stop: () => Promise<void>;
  // Priya (Slack) and Tom (Teams) each sponsor two agents; Daniel sponsors one in customer support
  // (which Priya, its unit's approver, may see but not act on) and one in finance (which nobody here sees).
  let priyas: AgentRecord[];
  let toms: AgentRecord[];
  let visibleStranger: AgentRecord;
  let hiddenStranger: AgentRecord;

  beforeAll(async () => {
    ({ slack, connector, roster, teams: client, stop } = await onBothPlatforms());
    priyas = [agentRecord({ name: 'Pick Alpha', sponsors: [PRIYA.email] }), agentRecord({ name: 'Pick Beta', sponsors: [PRIYA.email] })];
    toms = [agentRecord({ name: 'Pick Gamma', sponsors: [TOM] }), agentRecord({ name: 'Pick Delta', sponsors: [TOM] })];
    visibleStranger = agentRecord({ name: 'Pick Stranger', sponsors: [DANIEL] });
    hiddenStranger = agentRecord({ name: 'Pick Hidden', sponsors: [DANIEL], businessUnit: 'finance', catalogRoleId: 'support-assistant' });
    for (const agent of [...priyas, ...toms, visibleStranger, hiddenStranger]) await roster.services.agents.insert(agent);
  });
  afterAll(() => stop?.());

  const seen = new Set<unknown>();
  async function slackModal(userId: string, words: string, marker: string): Promise<Modal> {
    await postSlack(roster.baseUrl, slashCommand(userId, words, slack.responseUrl(`${userId}-${words}`)));
    const opened = await slack.waitFor('views.open', (a) => JSON.stringify(a.view).includes(marker) && !seen.has(a.view));
    seen.add(opened.args.view);
    return opened.args.view as Modal;
  }

  async function teamsCard(user: TeamsUser, words: string, text: string): Promise<Record<string, unknown>> {
    const before = connector.posts(user.conversationId).length;
    await client.message(user, words);
    return eventually(() =>
      connector
        .posts(user.conversationId)
        .slice(before)
        .map((p) => FakeConnector.card(p))
        .find((c) => c !== undefined && cardText(c).includes(text)),
    );
  }

  describe('Slack', () => {
    it('`note` alone opens the note form whose agent picker lists exactly the agents Priya may note; the pick is stored', async () => {
      const modal = await slackModal(PRIYA.id, 'note', 'agent_note');
      const picker = actionElements(modal.blocks).find((e) => e.action_id === 'agent')!;
      expect(picker.type).toBe('static_select');
      const options = picker.options as Array<{ value: string; text: { text: string } }>;
      expect(options.map((o) => o.value).sort()).toEqual(priyas.map((a) => a.id).sort());
      expect(options.map((o) => o.text.text)).toEqual(['Pick Alpha', 'Pick Beta']);
      expect(JSON.stringify(modal)).not.toContain(visibleStranger.id);
      expect(actionElements(modal.blocks).map((e) => e.action_id)).toEqual(['agent', 'kind', 'text']);

      const saved = await postSlack(
        roster.baseUrl,
        interaction(
          viewSubmission(PRIYA.id, modal, {
            agent: { agent: { type: 'static_select', selected_option: { value: priyas[1]!.id } } },
            kind: { kind: { type: 'static_select', selected_option: { value: 'failure-mode' } } },
            text: { text: { type: 'plain_text_input', value: 'Confuses parcel and letter tariffs.' } },
          }),
        ),
      );
      expect(saved.status).toBe(200);
      expect(saved.text).toBe('');
      await eventually(async () => ((await roster.services.agents.get(priyas[1]!.id))?.knowledgeNotes.length ?? 0) === 1);
      expect((await roster.services.agents.get(priyas[1]!.id))!.knowledgeNotes[0]).toMatchObject({
        kind: 'failure-mode',
        text: 'Confuses parcel and letter tariffs.',
        by: PRIYA.email,
      });
      const notice = await slack.waitFor(
        'chat.postMessage',
        (a) => a.channel === PRIYA.id && JSON.stringify(a.blocks).includes('Noted on Pick Beta'),
      );
      expect(JSON.stringify(notice.args.blocks)).toContain('Confuses parcel and letter tariffs.');
    });

    it("a tampered pick (a stranger's agent, one Priya may see, or none) is refused on the field and nothing is stored", async () => {
      const modal = await slackModal(PRIYA.id, 'note', 'agent_note');
      for (const tampered of [visibleStranger.id, hiddenStranger.id, 'agt_doesnotexist']) {
        const refused = await postSlack(
          roster.baseUrl,
          interaction(
            viewSubmission(PRIYA.id, modal, {
              agent: { agent: { type: 'static_select', selected_option: { value: tampered } } },
              kind: { kind: { type: 'static_select', selected_option: { value: 'note' } } },
              text: { text: { type: 'plain_text_input', value: 'Not mine to note.' } },
            }),
          ),
        );
        const answer = JSON.parse(refused.text) as { response_action: string; errors: Record<string, string> };
        expect(answer).toEqual({
          response_action: 'errors',
          errors: { agent: "Choose one of the agents offered: you can't add notes to that one." },
        });
        expect(refused.text).not.toContain('Pick Stranger');
        expect(refused.text).not.toContain('Pick Hidden');
      }
      const none = await postSlack(
        roster.baseUrl,
        interaction(viewSubmission(PRIYA.id, modal, { text: { text: { type: 'plain_text_input', value: 'x y z' } } })),
      );
      expect(JSON.parse(none.text)).toMatchObject({ response_action: 'errors', errors: { agent: 'Choose an agent.' } });
      expect((await roster.services.agents.get(visibleStranger.id))!.knowledgeNotes).toEqual([]);
      expect((await roster.services.agents.get(hiddenStranger.id))!.knowledgeNotes).toEqual([]);
    });

    it('`retrain <agent> postpone` without days opens the postpone form; days typed wrong (`abc`) are refused with the 1 to 90 days error', async () => {
      const modal = await slackModal(PRIYA.id, 'retrain "Pick Alpha" postpone', 'retrain_postpone');
      expect(JSON.stringify(modal)).toContain('Pick Alpha is due for retraining');
      expect(actionElements(modal.blocks).map((e) => e.action_id)).toEqual(['days', 'text']);

      const opened = slack.of('views.open').length;
      await postSlack(
        roster.baseUrl,
        slashCommand(PRIYA.id, 'retrain "Pick Alpha" postpone abc waiting for data', slack.responseUrl('postpone-abc')),
      );
      const answer = JSON.stringify((await slack.waitForResponse('postpone-abc')).body);
      expect(answer).toContain('Postpone by 1 to 90 days.');
      expect(slack.of('views.open')).toHaveLength(opened);
      expect(await roster.services.development.retraining(priyas[0]!.id)).toBeUndefined();
    });

    it("`access` alone offers Priya's agents with each scope's risk and longest grant; a pick is requested, a tampered one refused", async () => {
      const modal = await slackModal(PRIYA.id, 'access', 'access_request_submit');
      const select = actionElements(modal.blocks).find((e) => e.action_id === 'access_target')!;
      expect(select.type).toBe('static_select');
      const options = select.options as Array<{ value: string; text: { text: string }; description?: { text: string } }>;
      const agentsOffered = [...new Set(options.map((o) => o.value.slice(0, o.value.indexOf(':'))))].sort();
      expect(agentsOffered).toEqual(priyas.map((a) => a.id).sort());
      const crm = options.find((o) => o.value === `${priyas[0]!.id}:crm:read`)!;
      expect(crm.text.text).toBe('Pick Alpha · crm:read');
      // crm:read is medium risk and may be held 90 days; the role allows no access longer than its cap.
      expect(crm.description?.text).toBe('medium risk, up to 90 days');
      expect(options.every((o) => /^(low|medium|high) risk, up to \d+ (days|weeks?|hours?)$/.test(o.description?.text ?? ''))).toBe(true);

      const submit = (targetId: string) =>
        postSlack(
          roster.baseUrl,
          interaction(
            viewSubmission(PRIYA.id, modal, {
              access_target: { access_target: { type: 'static_select', selected_option: { value: targetId } } },
              duration: { duration: { type: 'plain_text_input', value: '' } },
              reason: { reason: { type: 'plain_text_input', value: 'Look up order history for replies.' } },
            }),
          ),
        );
      const stranger = await submit(`${visibleStranger.id}:crm:read`);
      expect(JSON.parse(stranger.text)).toEqual({
        response_action: 'errors',
        errors: { access_target: "Choose one of the agents offered: you can't request access for that one." },
      });
      const unknownScope = await submit(`${priyas[0]!.id}:crm:teleport`);
      expect(JSON.parse(unknownScope.text)).toEqual({
        response_action: 'errors',
        errors: { access_target: 'Roster knows no scope "crm:teleport": choose one of the scopes offered.' },
      });
      expect(await roster.services.grants.list({ agentIds: [visibleStranger.id, priyas[0]!.id] })).toEqual([]);

      const good = await submit(`${priyas[0]!.id}:crm:read`);
      expect(good.text).toBe('');
      const sent = await slack.waitFor(
        'chat.postMessage',
        (a) => a.channel === PRIYA.id && JSON.stringify(a.blocks).includes('Access requested: crm:read for Pick Alpha'),
      );
      expect(sent).toBeDefined();
      expect(await roster.services.grants.list({ agentIds: [priyas[0]!.id] })).toEqual([
        expect.objectContaining({ scope: 'crm:read', status: 'pending', requestedBy: PRIYA.email }),
      ]);
    });

    it('the request form picks sponsors with a multi users select; the ids become e-mails through users.info', async () => {
      const modal = await slackModal(PRIYA.id, 'request kb-answerer', 'agent_request_submit');
      const sponsors = actionElements(modal.blocks).find((e) => e.action_id === 'sponsors')!;
      expect(sponsors).toMatchObject({ type: 'multi_users_select', initial_users: [PRIYA.id] });
      // Noah is known to Slack by his e-mail only: Roster asks users.info who he is.
      slack.emails.set('U0NOAHPICK1', NOAH);
      const sent = await postSlack(
        roster.baseUrl,
        interaction(
          viewSubmission(PRIYA.id, modal, {
            agent_name: { agent_name: { type: 'plain_text_input', value: 'Picked Sponsors Helper' } },
            purpose: { purpose: { type: 'plain_text_input', value: 'Answers questions from the support handbook.' } },
            business_unit: { business_unit: { type: 'static_select', selected_option: { value: 'customer-support' } } },
            sponsors: { sponsors: { type: 'multi_users_select', selected_users: [PRIYA.id, 'U0NOAHPICK1'] } },
            justification: { justification: { type: 'plain_text_input', value: 'The team answers the same questions daily.' } },
          }),
        ),
      );
      expect(sent.text).toBe('');
      const agent = await eventually(async () =>
        (await roster.services.agents.list({ requestedBy: PRIYA.email })).find((a) => a.name === 'Picked Sponsors Helper'),
      );
      const named = [...agent.sponsors, ...(agent.proposedSponsors ?? []).map((p) => p.email)];
      expect(named).toEqual(expect.arrayContaining([PRIYA.email, NOAH]));
      expect(slack.of('users.info', (a) => a.user === 'U0NOAHPICK1').length).toBeGreaterThan(0);
    });
  });

  describe('Teams', () => {
    let tom: TeamsUser;
    beforeAll(async () => {
      tom = teamsUser(roster.chat.person(TOM)!);
      await client.install(tom);
    });

    it('`note` alone shows the note card whose agent choice set lists exactly the agents Tom may note; the pick is stored', async () => {
      const card = await teamsCard(tom, 'note', 'Add a knowledge note');
      const picker = choiceSet(card, 'agent');
      expect(choiceValues(picker).sort()).toEqual(toms.map((a) => a.id).sort());
      expect(choiceTitles(picker)).toEqual(['Pick Delta', 'Pick Gamma']);
      expect(picker.style).toBe('filtered');
      expect(JSON.stringify(card)).not.toContain(visibleStranger.id);

      const done = await client.execute(tom, 'prompt_submit', {
        ...button(card, 'prompt_submit').data,
        agent: toms[0]!.id,
        kind: 'high-value-interaction',
        text: 'Found a lost parcel and saved the order.',
      });
      expect(done.status).toBe(200);
      expect(cardText(done.card)).toContain('Noted on Pick Gamma');
      expect((await roster.services.agents.get(toms[0]!.id))!.knowledgeNotes).toEqual([
        expect.objectContaining({ kind: 'high-value-interaction', text: 'Found a lost parcel and saved the order.', by: TOM }),
      ]);
    });

    it('a tampered pick is refused on the card with the picker again, naming no agent, and nothing is stored', async () => {
      const card = await teamsCard(tom, 'note', 'Add a knowledge note');
      const again = await client.execute(tom, 'prompt_submit', {
        ...button(card, 'prompt_submit').data,
        agent: hiddenStranger.id,
        kind: 'note',
        text: 'Not mine to note.',
      });
      expect(again.status).toBe(200);
      expect(cardText(again.card)).toContain("Choose one of the agents offered: you can't add notes to that one.");
      expect(choiceValues(choiceSet(again.card, 'agent')).sort()).toEqual(toms.map((a) => a.id).sort());
      expect(JSON.stringify(again.card)).not.toContain('Pick Hidden');
      expect((await roster.services.agents.get(hiddenStranger.id))!.knowledgeNotes).toEqual([]);
    });

    it("`access` alone offers Tom's agent and scope pairs with risk and longest grant; a pick is requested, a tampered one refused", async () => {
      const card = await teamsCard(tom, 'access', 'Request access');
      const target = choiceSet(card, 'target');
      const values = choiceValues(target);
      expect([...new Set(values.map((v) => v.slice(0, v.indexOf(':'))))].sort()).toEqual(toms.map((a) => a.id).sort());
      expect(choiceTitles(target)).toContainEqual('Pick Gamma · tickets:reply — medium risk, up to 90 days');
      const data = button(card, 'access_request_submit').data;

      const unknown = await client.execute(tom, 'access_request_submit', {
        ...data,
        target: `${toms[0]!.id}:tickets:burn`,
        reason: 'Replies to tickets.',
      });
      expect(cardText(unknown.card)).toContain('Roster knows no scope "tickets:burn": choose one of the scopes offered.');
      const stranger = await client.execute(tom, 'access_request_submit', {
        ...data,
        target: `${visibleStranger.id}:tickets:reply`,
        reason: 'Replies to tickets.',
      });
      expect(cardText(stranger.card)).toContain("Choose one of the agents offered: you can't request access for that one.");
      expect(JSON.stringify(stranger.card)).not.toContain(`${visibleStranger.id}:`);
      expect(await roster.services.grants.list({ agentIds: [visibleStranger.id, toms[0]!.id] })).toEqual([]);

      const sent = await client.execute(tom, 'access_request_submit', {
        ...data,
        target: `${toms[0]!.id}:tickets:reply`,
        duration: '8h',
        reason: 'Replies to tickets.',
      });
      expect(cardText(sent.card)).toContain('Access requested: tickets:reply for Pick Gamma, 8 hours');
      expect(await roster.services.grants.list({ agentIds: [toms[0]!.id] })).toEqual([
        expect.objectContaining({ scope: 'tickets:reply', status: 'pending', requestedBy: TOM }),
      ]);
    });

    it('the directory search answers people pickers (active people by name or e-mail) and the agent and access searches only with what Tom may pick', async () => {
      const people = await client.search(tom, 'people', 'noah');
      expect(people.status).toBe(200);
      expect(people.body).toEqual({
        type: 'application/vnd.microsoft.search.searchResponse',
        value: { results: [{ title: `Noah Fischer (${NOAH})`, value: NOAH }] },
      });
      const byMail = (await client.search(tom, 'people', 'fischer@brightwater')).body as { value: { results: Array<{ value: string }> } };
      expect(byMail.value.results.map((r) => r.value)).toEqual([NOAH]);
      const nobody = (await client.search(tom, 'people', 'zzz-nobody')).body as { value: { results: unknown[] } };
      expect(nobody.value.results).toEqual([]);

      const agents = (await client.search(tom, 'agents:note', 'Pick')).body as { value: { results: Array<{ value: string }> } };
      expect(agents.value.results.map((r) => r.value).sort()).toEqual(toms.map((a) => a.id).sort());
      // Pick Gamma already waits for tickets:reply (requested above): only Pick Delta's pair is offered.
      const pairs = (await client.search(tom, 'access', 'tickets:reply')).body as {
        value: { results: Array<{ value: string; title: string }> };
      };
      expect(pairs.value.results).toEqual([
        { value: `${toms[1]!.id}:tickets:reply`, title: 'Pick Delta · tickets:reply — medium risk, up to 90 days' },
      ]);

      const malformed = await client.post({ ...client.base(tom, 'invoke'), name: 'application/search', value: { queryText: 'x' } });
      expect(malformed.status).toBe(400);
    });

    it("the request form picks sponsors from the directory; the picked e-mails are the request's sponsors", async () => {
      const card = await teamsCard(tom, 'request kb-answerer', 'Request an agent');
      const sponsors = choiceSet(card, 'sponsorEmails');
      expect(sponsors).toMatchObject({
        isMultiSelect: true,
        style: 'filtered',
        value: TOM,
        'choices.data': { type: 'Data.Query', dataset: 'people' },
      });
      expect(sponsors.choices).toEqual([{ title: 'Tom Becker', value: TOM }]);
      const sent = await client.execute(tom, 'agent_request_submit', {
        ...button(card, 'agent_request_submit').data,
        agentName: 'Teams Picked Helper',
        purpose: 'Answers questions from the support handbook.',
        businessUnit: 'customer-support',
        sponsorEmails: `${TOM},${NOAH}`,
        justification: 'The team answers the same questions daily.',
      });
      expect(cardText(sent.card)).toContain('Request sent: Teams Picked Helper');
      const agent = (await roster.services.agents.list({ requestedBy: TOM })).find((a) => a.name === 'Teams Picked Helper')!;
      expect([...agent.sponsors, ...(agent.proposedSponsors ?? []).map((p) => p.email)]).toEqual(expect.arrayContaining([TOM, NOAH]));
    });
  });

  describe('past what a list holds', () => {
    let fleet: AgentRecord[];
    beforeAll(async () => {
      fleet = Array.from({ length: 101 }, (_, i) =>
        agentRecord({ name: `Fleet ${String(i).padStart(3, '0')}`, sponsors: [SOFIA.email], businessUnit: 'people-ops' }),
      );
      for (const agent of fleet) await roster.services.agents.insert(agent);
      await roster.services.agents.insert(agentRecord({ name: 'Fleet Stranger', sponsors: [DANIEL], businessUnit: 'people-ops' }));
    });

    it('Slack: the agent picker is an external select answered by block_suggestion with only her agents; the pick is stored', async () => {
      const modal = await slackModal(SOFIA.id, 'note', 'agent_note');
      const picker = actionElements(modal.blocks).find((e) => e.action_id === 'agent')!;
      expect(picker).toMatchObject({ type: 'external_select', min_query_length: 0 });
      expect(picker.options).toBeUndefined();

      const suggest = async (value: string) => {
        const res = await postSlack(roster.baseUrl, interaction(blockSuggestion(SOFIA.id, modal, 'agent', value)));
        expect(res.status).toBe(200);
        return (JSON.parse(res.text) as { options: Array<{ value: string; text: { text: string } }> }).options;
      };
      const seven = await suggest('Fleet 07');
      expect(seven.map((o) => o.text.text)).toEqual([
        'Fleet 070',
        'Fleet 071',
        'Fleet 072',
        'Fleet 073',
        'Fleet 074',
        'Fleet 075',
        'Fleet 076',
        'Fleet 077',
        'Fleet 078',
        'Fleet 079',
      ]);
      expect(await suggest('Stranger')).toEqual([]);
      const all = await suggest('');
      expect(all).toHaveLength(50);
      expect(all.every((o) => fleet.some((a) => a.id === o.value))).toBe(true);

      const picked = fleet[72]!;
      const saved = await postSlack(
        roster.baseUrl,
        interaction(
          viewSubmission(SOFIA.id, modal, {
            agent: {
              agent: { type: 'external_select', selected_option: { value: picked.id, text: { type: 'plain_text', text: picked.name } } },
            },
            kind: { kind: { type: 'static_select', selected_option: { value: 'note' } } },
            text: { text: { type: 'plain_text_input', value: 'Runs the quarterly survey.' } },
          }),
        ),
      );
      expect(saved.text).toBe('');
      await eventually(async () => ((await roster.services.agents.get(picked.id))?.knowledgeNotes.length ?? 0) === 1);
    });

    it('Slack and Teams: the access form searches its pairs by agent name or scope; a searched pair is requested', async () => {
      const modal = await slackModal(SOFIA.id, 'access', 'access_request_submit');
      const select = actionElements(modal.blocks).find((e) => e.action_id === 'access_target')!;
      expect(select).toMatchObject({ type: 'external_select', min_query_length: 0 });
      const suggest = async (value: string) =>
        (
          JSON.parse((await postSlack(roster.baseUrl, interaction(blockSuggestion(SOFIA.id, modal, 'access_target', value)))).text) as {
            options: Array<{ value: string; text: { text: string }; description: { text: string } }>;
          }
        ).options;
      const byName = await suggest('Fleet 050');
      expect(byName.map((o) => o.text.text)).toEqual([
        'Fleet 050 · kb:read',
        'Fleet 050 · tickets:read',
        'Fleet 050 · tickets:reply',
        'Fleet 050 · crm:read',
      ]);
      expect(byName.map((o) => o.description.text)).toEqual([
        expect.stringMatching(/^low risk, up to \d+ days$/),
        'medium risk, up to 90 days',
        'medium risk, up to 90 days',
        'medium risk, up to 90 days',
      ]);
      const byScope = await suggest('crm:read');
      expect(byScope.length).toBeGreaterThan(0);
      expect(byScope.every((o) => o.value.endsWith(':crm:read') && fleet.some((a) => o.value.startsWith(`${a.id}:`)))).toBe(true);
      expect(await suggest('Stranger')).toEqual([]);

      const picked = `${fleet[50]!.id}:crm:read`;
      const sent = await postSlack(
        roster.baseUrl,
        interaction(
          viewSubmission(SOFIA.id, modal, {
            access_target: {
              access_target: {
                type: 'external_select',
                selected_option: { value: picked, text: { type: 'plain_text', text: 'Fleet 050 · crm:read' } },
              },
            },
            duration: { duration: { type: 'plain_text_input', value: '7d' } },
            reason: { reason: { type: 'plain_text_input', value: 'Survey answers need contacts.' } },
          }),
        ),
      );
      expect(sent.text).toBe('');
      await eventually(async () =>
        (await roster.services.grants.list({ agentIds: [fleet[50]!.id] })).some((g) => g.scope === 'crm:read' && g.status === 'pending'),
      );

      const sofia = teamsUser(roster.chat.person(SOFIA.email)!);
      await client.install(sofia);
      const card = await teamsCard(sofia, 'access', 'Request access');
      expect(choiceSet(card, 'target')).toMatchObject({
        style: 'filtered',
        choices: [],
        'choices.data': { type: 'Data.Query', dataset: 'access' },
      });
    });

    it('Teams: the agent choice set searches with Data.Query; the search answers only her agents', async () => {
      const sofia = teamsUser(roster.chat.person(SOFIA.email)!);
      await client.install(sofia);
      const card = await teamsCard(sofia, 'note', 'Add a knowledge note');
      const picker = choiceSet(card, 'agent');
      expect(picker).toMatchObject({ style: 'filtered', 'choices.data': { type: 'Data.Query', dataset: 'agents:note' } });
      expect(picker.choices).toEqual([]);
      const found = (await client.search(sofia, 'agents:note', 'Fleet 10')).body as { value: { results: Array<{ title: string }> } };
      expect(found.value.results.map((r) => r.title)).toEqual(['Fleet 100']);
      const stranger = (await client.search(sofia, 'agents:note', 'Stranger')).body as { value: { results: unknown[] } };
      expect(stranger.value.results).toEqual([]);
      const page = (await client.search(sofia, 'agents:note', 'Fleet', { skip: 15, top: 15 })).body as {
        value: { results: Array<{ title: string }> };
      };
      expect(page.value.results.map((r) => r.title)[0]).toBe('Fleet 015');
    });
  });
});

describe('picker searches have their own rate limit', () => {
  let slack: FakeSlack;
  let roster: TestRoster;
  let client: TeamsClient;
  let stop: () => Promise<void>;
  const minute = { text: '1m', ms: 60_000 };
  beforeAll(async () => {
    ({
      slack,
      roster,
      teams: client,
      stop,
    } = await onBothPlatforms({
      settings: {
        rateLimits: {
          chat: { requests: 30, per: minute },
          telemetry: { requests: 600, per: minute },
          anonymous: { requests: 600, per: minute },
          search: { requests: 3, per: minute },
        },
      },
    }));
    for (let i = 0; i < 101; i++)
      await roster.services.agents.insert(
        agentRecord({ name: `Limit ${String(i).padStart(3, '0')}`, sponsors: [SOFIA.email], businessUnit: 'people-ops' }),
      );
  });
  afterAll(() => stop?.());

  it('Slack: past the limit a block_suggestion gets no options; Teams: a search is answered 429; clicks are unaffected', async () => {
    await postSlack(roster.baseUrl, slashCommand(SOFIA.id, 'note', slack.responseUrl('limit')));
    const modal = (await slack.waitFor('views.open', (a) => JSON.stringify(a.view).includes('agent_note'))).args.view as Modal;
    const suggest = async () =>
      (
        JSON.parse((await postSlack(roster.baseUrl, interaction(blockSuggestion(SOFIA.id, modal, 'agent', 'Limit 00')))).text) as {
          options: unknown[];
        }
      ).options;
    for (let i = 0; i < 3; i++) expect(await suggest()).toHaveLength(10);
    expect(await suggest()).toEqual([]);

    const sofia = teamsUser(roster.chat.person(SOFIA.email)!);
    await client.install(sofia);
    for (let i = 0; i < 3; i++) expect((await client.search(sofia, 'people', 'noah')).status).toBe(200);
    const limited = await client.search(sofia, 'people', 'noah');
    expect(limited).toEqual({ status: 429, body: { error: 'rate_limited', message: 'Too many searches: slow down a little.' } });
    // The person's other chat traffic is counted apart: a command is still answered.
    const help = await client.message(sofia, 'help');
    expect(help.status).toBe(200);
  });
});
