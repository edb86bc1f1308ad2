import { createSlackChannel } from '../../../src/channels/slack/index.js';
import { startTestRoster, type TestRoster } from '../../helpers/app.js';
import { FakeSlack } from '../../helpers/fake-slack.js';
import { eventually, people } from '../../helpers/harness.js';
import { actionElements } from '../../helpers/slack-blocks.js';
import { buttonClick, interaction, postSlack, viewSubmission } from '../../helpers/slack-requests.js';
import { asAgentId } from '../../helpers/ids.js';

/*
 * Slack waits three seconds for a modal submit's answer (Bolt answers 404 itself at 3001 ms, and
 * the person sees an error in the modal). A submit whose form cannot be read and checked within the
 * listener's budget is acknowledged without them: the modal closes, and what the submit leads to
 * comes as a message once the work is done. Here the budget is 300 ms and the form's reading is held
 * by Slack's users.info (a sponsor Roster has not yet seen by this Slack id) until the test releases
 * it. Driven through Bolt's receiver with signed deliveries, against a fake Slack Web API.
 */

const LIAM = { id: 'U04K7R3D9SW', email: 'liam.oneill@brightwater.example' }; // it-admin, engineering: the requester
const TOM_IN_SLACK = 'U0TOMSLOW1'; // Tom is in the directory without a Slack id: his e-mail comes from users.info
// Users users.info knows nothing of, one per test (Roster remembers a look-up, failed or not, for ten minutes).
const STRANGER = 'U0NOBODY01';
const OTHER_STRANGER = 'U0NOBODY02';
const THIRD_STRANGER = 'U0NOBODY03';
const AISHA = 'U04L2V8F5HY'; // it-admin, on call: paged for a shadow agent

type Post = { args: Record<string, unknown> };
type View = Record<string, unknown>;

describe('a Slack modal submit that outlasts the acknowledgement budget', () => {
  let slack: FakeSlack;
  let roster: TestRoster;

  beforeAll(async () => {
    slack = new FakeSlack();
    await slack.start();
    slack.emails.set(TOM_IN_SLACK, people.tom);
    roster = await startTestRoster({
      env: slack.rosterEnv(),
      channels: [(deps) => createSlackChannel(deps, { submitAckBudgetMs: 300 })],
    });
  });
  afterAll(async () => {
    await roster?.stop();
    await slack?.stop();
  });

  /** The modal a button of Liam's opens. */
  async function modalFrom(actionId: string, value: string, callbackId: string): Promise<View> {
    const from = slack.calls.length;
    const clicked = await postSlack(roster.baseUrl, interaction(buttonClick(LIAM.id, actionId, value, slack.responseUrl(`open-${value}`))));
    expect(clicked.status).toBe(200);
    const opened = await eventually(() =>
      slack.calls.slice(from).find((c) => c.method === 'views.open' && (c.args.view as View).callback_id === callbackId),
    );
    return opened.args.view as View;
  }

  /**
   * Submits `values` while users.info is held, and returns Slack's answer, which must come while
   * the look-up of `slowUser` is still unanswered; users.info is released afterwards.
   */
  async function submitWhileUsersInfoHeld(
    view: View,
    values: Record<string, Record<string, unknown>>,
    slowUser: string,
    submitter: string = LIAM.id,
  ) {
    const release = slack.hold('users.info');
    let answer: { status: number; text: string } | undefined;
    const answered = postSlack(roster.baseUrl, interaction(viewSubmission(submitter, view, values))).then((res) => (answer = res));
    try {
      await slack.waitFor('users.info', (a) => a.user === slowUser);
      const res = await eventually(() => answer, 15_000);
      // Answered while the form still could not be read: the look-up is held.
      expect(slack.held).toBe(1);
      return res;
    } finally {
      release();
      await answered;
    }
  }

  const messagesTo = (userId: string, from: number, words: string): Post[] =>
    slack.calls
      .slice(from)
      .filter((c) => c.method === 'chat.postMessage' && c.args.channel === userId && JSON.stringify(c.args.blocks).includes(words));

  const requestValues = (name: string, sponsors: string[]) => ({
    agent_name: { agent_name: { type: 'plain_text_input', value: name } },
    purpose: { purpose: { type: 'plain_text_input', value: 'Answers engineering how-to questions from the handbook.' } },
    business_unit: { business_unit: { type: 'static_select', selected_option: { value: 'engineering' } } },
    sponsors: { sponsors: { type: 'multi_users_select', selected_users: sponsors } },
    justification: { justification: { type: 'plain_text_input', value: 'Saves the platform team hours each week.' } },
  });

  it('a request whose sponsor is slow to look up is acknowledged in time; the request is sent once the sponsor is known', async () => {
    const view = await modalFrom('catalog_request', 'kb-answerer', 'agent_request_submit');
    const from = slack.calls.length;
    const answer = await submitWhileUsersInfoHeld(view, requestValues('Slow Sponsor Helper', [LIAM.id, TOM_IN_SLACK]), TOM_IN_SLACK);
    // The modal closes: a bare 200, no errors left on it (Bolt's own timeout would have answered 404).
    expect(answer).toEqual({ status: 200, text: '' });

    const agent = await eventually(async () =>
      (await roster.services.agents.list({ requestedBy: LIAM.email })).find((a) => a.name === 'Slow Sponsor Helper'),
    );
    const run = await eventually(async () => roster.services.runs.get(agent.requestRunId));
    expect(run.context).toMatchObject({ sponsors: [LIAM.email, people.tom] });
    await eventually(() => messagesTo(LIAM.id, from, 'Slow Sponsor Helper').length > 0);
    expect(messagesTo(LIAM.id, from, 'not sent')).toEqual([]);
  });

  it('a request refused once the slow look-up is done tells the person why in a message, and nothing is requested', async () => {
    const view = await modalFrom('catalog_request', 'kb-answerer', 'agent_request_submit');
    const from = slack.calls.length;
    const answer = await submitWhileUsersInfoHeld(view, requestValues('Unknown Sponsor Helper', [LIAM.id, STRANGER]), STRANGER);
    expect(answer).toEqual({ status: 200, text: '' });

    // The field error the acknowledgement could not carry comes as the refusal notice.
    const [refusal] = await eventually(() => {
      const found = messagesTo(LIAM.id, from, 'Your request was not sent');
      return found.length > 0 ? found : undefined;
    });
    expect(JSON.stringify(refusal!.args.blocks)).toContain(`Not in the directory: slack:${STRANGER.toLowerCase()}`);
    expect((await roster.services.agents.list({ requestedBy: LIAM.email })).map((a) => a.name)).not.toContain('Unknown Sponsor Helper');
  });

  it('a find whose work (no quick check) outlasts the budget is acknowledged in time; its field error comes as a message', async () => {
    const view = await modalFrom('find_open', '{}', 'find_submit');
    const from = slack.calls.length;
    const answer = await submitWhileUsersInfoHeld(
      view,
      {
        find_sponsor: { find_sponsor: { type: 'users_select', selected_user: OTHER_STRANGER } },
      },
      OTHER_STRANGER,
    );
    expect(answer).toEqual({ status: 200, text: '' });

    const [refusal] = await eventually(() => {
      const found = messagesTo(LIAM.id, from, 'That was not done');
      return found.length > 0 ? found : undefined;
    });
    expect(JSON.stringify(refusal!.args.blocks)).toContain('Filter `sponsor`: nobody in the directory');
    expect(slack.calls.slice(from).filter((c) => c.method === 'views.publish')).toEqual([]);
  });

  it('a prompt whose next form comes too late for the acknowledgement points the person back to the button', async () => {
    await roster.services.supervision.alerts.raise({
      kind: 'shadow',
      agentId: asAgentId('agt_5ade5ade5ade0b0d'),
      severity: 'critical',
      summary: 'Telemetry arrived for agt_5ade5ade5ade0b0d, which is not registered in Roster.',
      details: { agentName: 'Late Register' },
    });
    const page = await slack.waitFor(
      'chat.postMessage',
      (a) =>
        a.channel === AISHA &&
        JSON.stringify(a.blocks).includes('agt_5ade5ade5ade0b0d') &&
        JSON.stringify(a.blocks).includes('alert_register'),
      30_000,
    );
    const register = actionElements(page.args.blocks).find((b) => b.action_id === 'alert_register')!;
    const from = slack.calls.length;
    expect((await postSlack(roster.baseUrl, interaction(buttonClick(AISHA, 'alert_register', String(register.value))))).status).toBe(200);
    const opened = await eventually(() =>
      slack.calls.slice(from).find((c) => c.method === 'views.open' && JSON.stringify(c.args.view).includes('alert_register')),
    );
    // "Register agent" leads to the request form, which only the acknowledgement can open. Its
    // work asks Slack nothing, so the submit carries a person pick as well (a prompt's user input,
    // read before the work), whose users.info look-up is held past the budget.
    const answer = await submitWhileUsersInfoHeld(
      opened.args.view as View,
      {
        role: { role: { type: 'static_select', selected_option: { value: 'support-assistant' } } },
        sponsor: { sponsor: { type: 'users_select', selected_user: THIRD_STRANGER } },
      },
      THIRD_STRANGER,
      AISHA,
    );
    // The modal closes instead of turning into the request form.
    expect(answer).toEqual({ status: 200, text: '' });

    const [pointer] = await eventually(() => {
      const found = messagesTo(AISHA, from, 'One more step');
      return found.length > 0 ? found : undefined;
    });
    expect(JSON.stringify(pointer!.args.blocks)).toContain('Click the button again');
    expect(slack.calls.slice(from).filter((c) => c.method === 'views.update' || c.method === 'views.push')).toEqual([]);
    expect(await roster.services.agents.get(asAgentId('agt_5ade5ade5ade0b0d'))).toBeUndefined();
  });
});
