import { createSlackChannel } from '../../../src/channels/slack/index.js';
import { beginStopping, startTestRoster, type TestRoster } from '../../helpers/app.js';
import { FakeSlack } from '../../helpers/fake-slack.js';
import { eventually, people } from '../../helpers/harness.js';
import { buttonClick, interaction, postSlack, viewSubmission } from '../../helpers/slack-requests.js';

/*
 * A modal submit whose form cannot be read and checked within the acknowledgement budget is
 * acknowledged first (the modal closes) and worked on afterwards. A shutdown that comes while its
 * form is still being read must neither lose it silently (Slack sends nothing again, and the
 * process exits once stop() resolves) nor do it behind the person's back: the request is sent
 * before stop() resolves, or the person is told to try again. The form's reading is held by
 * Slack's users.info (a sponsor Roster has not yet seen by this Slack id), released by the test.
 */

const LIAM = 'U04K7R3D9SW'; // it-admin, engineering: the requester
const TOM_IN_SLACK = 'U0TOMSHUT1'; // Tom is in the directory without a Slack id: his e-mail comes from users.info

type View = Record<string, unknown>;

describe('a slow Slack modal submit when Roster shuts down', () => {
  let slack: FakeSlack;
  let roster: TestRoster | undefined;
  let release: (() => void) | undefined;

  beforeEach(async () => {
    slack = new FakeSlack();
    await slack.start();
    slack.emails.set(TOM_IN_SLACK, people.tom);
  });
  afterEach(async () => {
    release?.();
    await roster?.stop();
    await slack.stop();
    roster = undefined;
    release = undefined;
  });

  async function startRoster(shutdownTimeoutS: number): Promise<TestRoster> {
    roster = await startTestRoster({
      env: { ...slack.rosterEnv(), ROSTER_SHUTDOWN_TIMEOUT_S: String(shutdownTimeoutS) },
      channels: [(deps) => createSlackChannel(deps, { submitAckBudgetMs: 300 })],
    });
    return roster;
  }

  /** Submits an agent request naming Tom as a sponsor, and resolves once Slack has its bare acknowledgement while Tom's look-up is held. */
  async function submitWithSponsorLookUpHeld(app: TestRoster, name: string): Promise<void> {
    const from = slack.calls.length;
    expect(
      (await postSlack(app.baseUrl, interaction(buttonClick(LIAM, 'catalog_request', 'kb-answerer', slack.responseUrl('open'))))).status,
    ).toBe(200);
    const opened = await eventually(() =>
      slack.calls.slice(from).find((c) => c.method === 'views.open' && (c.args.view as View).callback_id === 'agent_request_submit'),
    );
    release = slack.hold('users.info');
    const values = {
      agent_name: { agent_name: { type: 'plain_text_input', value: name } },
      purpose: { purpose: { type: 'plain_text_input', value: 'Answers engineering how-to questions from the handbook.' } },
      business_unit: { business_unit: { type: 'static_select', selected_option: { value: 'engineering' } } },
      sponsors: { sponsors: { type: 'multi_users_select', selected_users: [LIAM, TOM_IN_SLACK] } },
      justification: { justification: { type: 'plain_text_input', value: 'Saves the platform team hours each week.' } },
    };
    const answer = await postSlack(app.baseUrl, interaction(viewSubmission(LIAM, opened.args.view as View, values)));
    // The modal closed with a bare acknowledgement while Tom's look-up is still unanswered.
    expect(answer).toEqual({ status: 200, text: '' });
    await slack.waitFor('users.info', (a) => a.user === TOM_IN_SLACK);
    expect(slack.held).toBe(1);
  }

  const messagesToLiam = (words: string) =>
    slack.calls.filter((c) => c.method === 'chat.postMessage' && c.args.channel === LIAM && JSON.stringify(c.args.blocks).includes(words));

  it('is sent before the shutdown ends when its form is read within the grace', async () => {
    const app = await startRoster(60);
    await submitWithSponsorLookUpHeld(app, 'Shutdown Grace Helper');

    // The shutdown has begun (Roster takes no more requests) and waits for the submit.
    const { stopping, stopped } = await beginStopping(app);
    expect(stopped()).toBe(false);
    release!();
    await stopping;
    roster = undefined;

    expect(messagesToLiam('Shutdown Grace Helper').length).toBeGreaterThan(0);
    expect(messagesToLiam('try again')).toEqual([]);
  });

  it('is answered with "try again", and not sent, when its form is still being read as the grace ends', async () => {
    const app = await startRoster(2); // grace: 1 s
    await submitWithSponsorLookUpHeld(app, 'Shutdown Late Helper');

    await app.stop();
    roster = undefined;

    expect(messagesToLiam('try again')).toHaveLength(1);
    expect(messagesToLiam('Shutdown Late Helper')).toEqual([]);
  });
});
