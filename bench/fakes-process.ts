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

/** A clock shared by the bench's processes (ms since the epoch, sub-millisecond): when a card arrived here. */
const now = () => performance.timeOrigin + performance.now();
/** When the first card naming `Bench desk N` reached either fake (runtime-approvals bench), by N. */
const cardAt = new Map<number, number>();
const watch = (calls: unknown[]) => {
  const push = calls.push.bind(calls);
  calls.push = (...items: unknown[]) => {
    const t = now();
    for (const item of items) {
      const n = /Bench desk (\d+)\b/.exec(JSON.stringify(item))?.[1];
      if (n !== undefined && !cardAt.has(Number(n))) cardAt.set(Number(n), t);
    }
    return push(...items);
  };
};

/** Resolves when `ok()` holds (checked every 2 ms in this process, not over IPC), or rejects after `ms`. */
async function until(ok: () => boolean, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

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
  /** Starts stamping card arrivals (runtime-approvals bench): other benches do not pay for reading every call. */
  watchCards: () => {
    watch(slack.calls);
    watch(connector.calls);
  },
  /**
   * When the cards naming `Bench desk N` for each N of `desks` arrived (epoch ms, the clock of
   * `performance.timeOrigin + performance.now()`), once all of them have.
   */
  async cardTimes(desks: number[]) {
    await until(() => desks.every((n) => cardAt.has(n)), `the cards of ${desks.length} desks`);
    return desks.map((n) => cardAt.get(n)!);
  },
  /** Makes `users.info` know these people (Slack user id → e-mail), as the real Slack knows its workspace's members. */
  slackPeople: (people: Array<{ id: string; email: string }>) => {
    for (const p of people) slack.emails.set(p.id, p.email);
  },
  /** `chat.postMessage` calls received so far. */
  slackPosts: () => slack.of('chat.postMessage').length,
  /** Resolves once more than `count` `chat.postMessage` calls have arrived. */
  untilSlackPosts: (count: number) => until(() => slack.of('chat.postMessage').length > count, 'a Slack card'),
  /** Bot Connector activities posted to `conversationId` so far. */
  teamsPosts: (conversationId: string) => connector.posts(conversationId).length,
  async stop() {
    await slack.stop();
    await connector.close();
  },
});
