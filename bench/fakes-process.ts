/*
 * The remote services Roster calls during `npm run bench`, in their own process: the fake Slack
 * Web API and the fake Bot Connector of the tests, on 127.0.0.1. Kept apart from the load
 * generator so that answering Roster's post-ack calls never delays the timing of an ack.
 */
import { FakeConnector } from '../test/helpers/fake-connector.js';
import { FakeSlack } from '../test/helpers/fake-slack.js';
import { serveBench } from './ipc.js';

const slack = new FakeSlack();
await slack.start();
const connector = await FakeConnector.start();

serveBench({
  urls: () => ({ slackEnv: slack.rosterEnv(), slackApiUrl: slack.apiUrl, serviceUrl: connector.serviceUrl }),
  /**
   * The texts of the Slack messages posted to `channel` (a person's DM: their user id) from call
   * number `since` on: what a clicker was told when a click did not decide (a refusal, an error).
   */
  postedTo: (channel: string, since = 0) =>
    slack.calls
      .slice(since)
      .filter((c) => c.method === 'chat.postMessage' && c.args.channel === channel)
      .map((c) => String(c.args.text ?? '')),
  /** Calls received so far (Slack Web API methods, Bot Connector requests). */
  counts: () => ({ slack: slack.calls.length, connector: connector.history.length }),
  async stop() {
    await slack.stop();
    await connector.close();
  },
});
