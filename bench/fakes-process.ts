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
  /** Calls received so far (Slack Web API methods, Bot Connector requests). */
  counts: () => ({ slack: slack.calls.length, connector: connector.history.length }),
  async stop() {
    await slack.stop();
    await connector.close();
  },
});
