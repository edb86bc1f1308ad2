import { onBothPlatforms, type TestRoster } from '../helpers/app.js';
import { FakeConnector } from '../helpers/fake-connector.js';
import type { FakeSlack } from '../helpers/fake-slack.js';
import { agentRecord, eventually } from '../helpers/harness.js';
import { buttonClick, interaction, postSlack, slashCommand, viewSubmission } from '../helpers/slack-requests.js';
import { actionElements } from '../helpers/slack-blocks.js';
import { button, cardText, inputIds } from './teams/card-reading.js';
import { type TeamsClient, teamsUser } from './teams/teams-client.js';

/*
 * A knowledge note has a form, not only typed words: **Add note…** on an agent's profile opens a
 * Slack modal (kind and text), and `note <agent>` typed without words shows the same form as a
 * Teams card; each submit stores the note with its kind on the profile and in the audit trail.
 */

const PRIYA = { id: 'U04E6T1V5GA', email: 'priya.raman@brightwater.example' }; // sponsor; Slack
const SOFIA = 'sofia.alvarez@brightwater.example'; // sponsor; Teams
const DANIEL = { id: 'U05D9W4H7LE', email: 'daniel.okafor@brightwater.example' }; // no business with the agent

describe('the knowledge-note and new-version forms in Slack and Teams', () => {
  let slack: FakeSlack;
  let connector: FakeConnector;
  let roster: TestRoster;
  let client: TeamsClient;
  let stop: () => Promise<void>;
  beforeAll(async () => {
    ({ slack, connector, roster, teams: client, stop } = await onBothPlatforms());
  });
  afterAll(() => stop?.());

  it('Add note… on the profile (Slack modal) and `note <agent>` (Teams card) record notes of the chosen kind', async () => {
    const agent = agentRecord({ name: 'Note Taker', sponsors: [PRIYA.email, SOFIA] });
    await roster.services.agents.insert(agent);

    // Slack: the profile shows Add note… to a sponsor; the click opens the form as a modal.
    await postSlack(roster.baseUrl, slashCommand(PRIYA.id, `show ${agent.id}`, slack.responseUrl('show')));
    const profile = await slack.waitForResponse('show');
    const add = actionElements(profile.body.blocks).find((b) => b.action_id === 'agent_note');
    expect(add).toBeDefined();
    await postSlack(roster.baseUrl, interaction(buttonClick(PRIYA.id, 'agent_note', String(add!.value))));
    const opened = await slack.waitFor('views.open', (a) => JSON.stringify(a.view).includes('agent_note'));
    const modal = opened.args.view as { callback_id: string; private_metadata: string; blocks: unknown };
    expect(actionElements(modal.blocks).map((e) => e.action_id)).toEqual(['kind', 'text']);
    // Nothing typed: the error comes back in the acknowledgement and nothing is stored.
    const empty = await postSlack(roster.baseUrl, interaction(viewSubmission(PRIYA.id, modal, {})));
    expect(JSON.parse(empty.text)).toMatchObject({ response_action: 'errors' });
    expect((await roster.services.agents.get(agent.id))?.knowledgeNotes).toEqual([]);
    const saved = await postSlack(
      roster.baseUrl,
      interaction(
        viewSubmission(PRIYA.id, modal, {
          kind: { kind: { type: 'static_select', selected_option: { value: 'high-value-interaction' } } },
          text: { text: { type: 'plain_text_input', value: 'Talked a customer out of cancelling by finding a lost parcel.' } },
        }),
      ),
    );
    expect(saved.status).toBe(200);
    await eventually(async () => ((await roster.services.agents.get(agent.id))?.knowledgeNotes.length ?? 0) === 1);

    // Someone with no business with the agent gets no form, and is not even told the agent exists.
    await postSlack(roster.baseUrl, slashCommand(DANIEL.id, `note ${agent.id}`, slack.responseUrl('daniel')));
    const refused = JSON.stringify((await slack.waitForResponse('daniel')).body);
    expect(refused).not.toContain('agent_note');
    expect(refused).toContain("couldn't find the agent");

    // Teams: `note <agent>` without words shows the form; its submit stores the note.
    const sofia = teamsUser(roster.chat.person(SOFIA)!);
    await client.install(sofia);
    await client.message(sofia, `note ${agent.id}`);
    const form = await eventually(() =>
      connector
        .posts(sofia.conversationId)
        .map((p) => FakeConnector.card(p))
        .find((c) => cardText(c).includes('Add a knowledge note')),
    );
    expect(inputIds(form)).toEqual(['kind', 'text']);
    const submit = button(form, 'prompt_submit');
    const done = await client.execute(sofia, 'prompt_submit', {
      ...submit.data,
      kind: 'failure-mode',
      text: 'Quotes the old returns window (30 days) for marketplace orders.',
    });
    expect(done.status).toBe(200);
    expect(cardText(done.card)).toContain('Noted on Note Taker');

    const notes = (await roster.services.agents.get(agent.id))!.knowledgeNotes;
    expect(notes.map((n) => [n.kind, n.text])).toEqual([
      ['high-value-interaction', 'Talked a customer out of cancelling by finding a lost parcel.'],
      ['failure-mode', 'Quotes the old returns window (30 days) for marketplace orders.'],
    ]);
    const authors = (await roster.services.audit.export({ agentId: agent.id }))
      .filter((e) => e.action.startsWith('knowledge'))
      .map((e) => (e.actor as { email?: string }).email);
    expect(authors).toEqual([PRIYA.email, SOFIA]);
  }, 60_000);

  it('Propose version… on the profile (Slack modal) and `update <agent>` (Teams card) send a new version to approval', async () => {
    const agent = agentRecord({ name: 'Version Taker', sponsors: [PRIYA.email, SOFIA] });
    await roster.services.agents.insert(agent);

    await postSlack(roster.baseUrl, slashCommand(PRIYA.id, `show ${agent.id}`, slack.responseUrl('show-v')));
    const profile = await slack.waitForResponse('show-v');
    const propose = actionElements(profile.body.blocks).find((b) => b.action_id === 'version_propose');
    expect(propose).toBeDefined();
    await postSlack(roster.baseUrl, interaction(buttonClick(PRIYA.id, 'version_propose', String(propose!.value))));
    const opened = await slack.waitFor('views.open', (a) => JSON.stringify(a.view).includes('version_propose'));
    const modal = opened.args.view as { callback_id: string; private_metadata: string; blocks: unknown };
    expect(actionElements(modal.blocks).map((e) => e.action_id)).toEqual(['version', 'text', 'metrics']);
    const field = (name: string, value: string) => ({ [name]: { [name]: { type: 'plain_text_input', value } } });
    // Results that are not results words: the field says how to write them, nothing goes to approval.
    const unreadable = await postSlack(
      roster.baseUrl,
      interaction(
        viewSubmission(PRIYA.id, modal, {
          ...field('version', '1.1.0'),
          ...field('text', 'Answers refund questions in Spanish too.'),
          ...field('metrics', 'acc=0.95 quick'),
        }),
      ),
    );
    expect(JSON.parse(unreadable.text)).toMatchObject({
      response_action: 'errors',
      errors: { metrics: 'Use acc=… p95=… cost=… fit=all.' },
    });
    expect(await roster.services.runs.list({ agentId: agent.id, flowId: 'retraining-promotion' })).toEqual([]);
    // Results that miss the role's thresholds: refused with the numbers, nothing goes to approval.
    const refused = await postSlack(
      roster.baseUrl,
      interaction(
        viewSubmission(PRIYA.id, modal, {
          ...field('version', '1.1.0'),
          ...field('text', 'Answers refund questions in Spanish too.'),
          ...field('metrics', 'acc=0.5 p95=3000 cost=0.02 fit=all'),
        }),
      ),
    );
    expect(refused.text).toContain('refused');
    expect(await roster.services.runs.list({ agentId: agent.id, flowId: 'retraining-promotion' })).toEqual([]);
    const sent = await postSlack(
      roster.baseUrl,
      interaction(
        viewSubmission(PRIYA.id, modal, {
          ...field('version', '1.2.0'),
          ...field('text', 'Answers refund questions in Spanish too.'),
          ...field('metrics', 'acc=0.95 p95=3000 cost=0.02 fit=all'),
        }),
      ),
    );
    expect(sent.status).toBe(200);
    const [run] = await eventually(async () => {
      const runs = await roster.services.runs.list({ agentId: agent.id, flowId: 'retraining-promotion' });
      return runs.length ? runs : undefined;
    });
    expect(run!.context).toMatchObject({ version: '1.2.0' });
    expect(run!.requester).toBe(PRIYA.email);

    // Teams: `update <agent>` without a version shows the same form as a card.
    const sofia = teamsUser(roster.chat.person(SOFIA)!);
    await client.install(sofia);
    await client.message(sofia, `update ${agent.id}`);
    const form = await eventually(() =>
      connector
        .posts(sofia.conversationId)
        .map((p) => FakeConnector.card(p))
        .find((c) => cardText(c).includes('Propose a new version')),
    );
    expect(inputIds(form)).toEqual(['version', 'text', 'metrics']);
    const done = await client.execute(sofia, 'prompt_submit', {
      ...button(form, 'prompt_submit').data,
      version: '1.3.0',
      text: 'Shorter answers for chat.',
      metrics: 'acc=0.96 p95=2500 cost=0.02 fit=all',
    });
    expect(done.status).toBe(200);
    await eventually(async () =>
      (await roster.services.runs.list({ agentId: agent.id, flowId: 'retraining-promotion' })).some(
        (r) => r.context.version === '1.3.0' && r.requester === SOFIA,
      ),
    );
  }, 60_000);
});
