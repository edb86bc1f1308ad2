import { createSlackChannel } from '../../../src/channels/slack/index.js';
import { SlackDeliveries } from '../../../src/channels/slack/deliveries.js';
import { beginStopping, startTestRoster, type TestRoster } from '../../helpers/app.js';
import { DbProxy, type HeldAnswer } from '../../helpers/db-proxy.js';
import { FakeSlack } from '../../helpers/fake-slack.js';
import { postSlack, slashCommand } from '../../helpers/slack-requests.js';

/*
 * A Slack delivery is acknowledged before its delivery key is written (Slack wants its answer
 * within three seconds; the key may take longer on a loaded database). A shutdown that comes
 * between the two must neither lose the delivery silently (Slack does not send an acknowledged
 * delivery again, and Roster's process exits once stop() resolves) nor do it twice: the work is
 * done before stop() resolves, or the person is told to try again. The key's insert is held by a
 * proxy in front of the test database, so the window is as wide as the test wants it.
 */

const LIAM = 'U04K7R3D9SW'; // it-admin

describe('a Slack delivery whose key is still being written when Roster shuts down', () => {
  let slack: FakeSlack;
  let proxy: DbProxy;
  let roster: TestRoster | undefined;
  let held: HeldAnswer | undefined;

  beforeEach(async () => {
    slack = new FakeSlack();
    await slack.start();
    proxy = await DbProxy.start();
  });
  afterEach(async () => {
    held?.release();
    await roster?.stop();
    await slack.stop();
    await proxy.close();
    roster = undefined;
    held = undefined;
  });

  async function startRoster(shutdownTimeoutS: number): Promise<TestRoster> {
    roster = await startTestRoster({
      env: { ...slack.rosterEnv(), MONGODB_URI: proxy.uri, ROSTER_SHUTDOWN_TIMEOUT_S: String(shutdownTimeoutS) },
      channels: [createSlackChannel],
    });
    return roster;
  }

  /** Sends `/roster help` (answered at `responseId`) and resolves once Slack has its acknowledgement and the key's insert is held. */
  async function helpWithItsKeyHeld(app: TestRoster, responseId: string): Promise<HeldAnswer> {
    const triggerId = `trg_${responseId}`;
    held = proxy.hold(SlackDeliveries.keyOf({ trigger_id: triggerId }));
    const acked = await postSlack(app.baseUrl, slashCommand(LIAM, 'help', slack.responseUrl(responseId), triggerId));
    expect(acked.status).toBe(200);
    await held.arrived;
    return held;
  }

  const answersAt = (id: string) => slack.responses.filter((r) => r.id === id).map((r) => JSON.stringify(r.body));

  it('is done before the shutdown ends when its key is written within the grace', async () => {
    const app = await startRoster(60);
    const key = await helpWithItsKeyHeld(app, 'help-in-grace');

    // The shutdown has begun (Roster takes no more requests) and waits for the delivery.
    const { stopping, stopped } = await beginStopping(app);
    expect(stopped()).toBe(false);
    key.release();
    await stopping;
    roster = undefined;

    const answers = answersAt('help-in-grace');
    expect(answers).toHaveLength(1);
    expect(answers[0]).toContain('/roster');
    expect(answers[0]).not.toContain('try again');
  });

  it('is answered with "try again", and not done, when its key is still unwritten as the grace ends', async () => {
    const app = await startRoster(2); // grace: 1 s
    const key = await helpWithItsKeyHeld(app, 'help-past-grace');

    await app.stop();
    roster = undefined;

    const answers = answersAt('help-past-grace');
    expect(answers).toHaveLength(1);
    expect(answers[0]).toContain('try again');
    key.release();
  });
});
