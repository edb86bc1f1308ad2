import { createSlackChannel } from '../../src/channels/slack/index.js';
import { connectorRetryVerdict, retryAfterMs } from '../../src/channels/retry.js';
import type { Channel } from '../../src/channels/port.js';
import type { Person } from '../../src/config/schemas.js';
import { loadOrgConfig } from '../../src/config/org-config.js';
import { SHIPPED_CONFIG } from '../helpers/harness.js';
import { FakeConnector } from '../helpers/fake-connector.js';
import { FakeSlack } from '../helpers/fake-slack.js';
import { startTeamsTestRoster, startTestRoster, type TeamsTestRoster } from '../helpers/app.js';
import { teamsUser } from './teams/teams-client.js';

const PRIYA = 'priya.raman@brightwater.example'; // on Slack and Teams

const notice = (title: string) => ({ kind: 'notice', data: { level: 'info', title, text: 'Delivered despite a throttled platform.' } });

const personOf = (email: string): Person => loadOrgConfig(SHIPPED_CONFIG).people.find((p) => p.email === email)!;

describe('sends retry on 429 and 5xx, honouring Retry-After', () => {
  it('Slack: a 429 with Retry-After 1 is waited for and the card is posted once; a 503 on chat.update is retried', async () => {
    const slack = new FakeSlack();
    await slack.start();
    const roster = await startTestRoster({ env: slack.rosterEnv(), channels: [createSlackChannel] });
    try {
      const channel = roster.channels.find((c: Channel) => c.name === 'slack')!;
      const priya = personOf(PRIYA);
      slack.answerHttpNext('chat.postMessage', 429, '1');
      const started = Date.now();
      const ref = await channel.notifier.send(priya, notice('Throttled once'));
      const elapsed = Date.now() - started;
      expect(ref).toMatchObject({ channel: 'slack' });
      const posts = slack.of('chat.postMessage', (a) => a.channel === priya.slackUserId);
      expect(posts).toHaveLength(2);
      expect(JSON.stringify(posts[1]!.args.blocks)).toContain('Throttled once');
      expect(elapsed).toBeGreaterThanOrEqual(950);

      slack.answerHttpNext('chat.update', 503);
      await channel.notifier.update(ref!, notice('Updated after a 503'));
      const updates = slack.of('chat.update');
      expect(updates).toHaveLength(2);
      expect(JSON.stringify(updates[1]!.args.blocks)).toContain('Updated after a 503');
    } finally {
      await roster.stop();
      await slack.stop();
    }
  }, 60_000);

  describe('Teams (Bot Connector)', () => {
    let t: TeamsTestRoster;
    let priya: Person;
    beforeAll(async () => {
      t = await startTeamsTestRoster();
      priya = personOf(PRIYA);
      expect((await t.client.install(teamsUser(priya))).status).toBeLessThan(300);
    });
    afterAll(async () => {
      await t.stop();
    });
    const teams = () => t.roster.channels.find((c: Channel) => c.name === 'teams')!;

    it('a 429 with Retry-After 1 is waited for, then the card is posted; a 502 on the update is retried', async () => {
      const conversationId = teamsUser(priya).conversationId;
      t.connector.reset();
      t.connector.failNext('POST', 429, '1');
      const started = Date.now();
      const ref = await teams().notifier.send(priya, notice('Throttled by Teams'));
      expect(Date.now() - started).toBeGreaterThanOrEqual(950);
      expect(ref).toMatchObject({ channel: 'teams', conversationId });
      const posts = t.connector.posts(conversationId);
      expect(posts).toHaveLength(2);
      expect(JSON.stringify(FakeConnector.card(posts[1]))).toContain('Throttled by Teams');
      expect(posts[1]!.createdId).toBe(ref!.activityId);

      t.connector.failNext('PUT', 502);
      await teams().notifier.update(ref!, notice('Updated after a 502'));
      const puts = t.connector.puts(conversationId);
      expect(puts).toHaveLength(2);
      expect(JSON.stringify(FakeConnector.card(puts[1]))).toContain('Updated after a 502');
    }, 60_000);

    it('a 403 (the app was uninstalled) is not retried: it is thrown to the caller at once', async () => {
      const conversationId = teamsUser(priya).conversationId;
      t.connector.reset();
      t.connector.forbidden.add(conversationId);
      try {
        await expect(teams().notifier.send(priya, notice('Nobody there'))).rejects.toMatchObject({ status: 403 });
        expect(t.connector.posts(conversationId)).toHaveLength(1);
      } finally {
        t.connector.forbidden.delete(conversationId);
      }
    }, 30_000);
  });

  it('reads Retry-After as seconds or an HTTP date, and retries 429, 5xx and network errors only', () => {
    expect(retryAfterMs('2')).toBe(2000);
    expect(retryAfterMs(new Date(Date.UTC(2026, 0, 1, 0, 0, 5)).toUTCString(), Date.UTC(2026, 0, 1))).toBe(5000);
    expect(retryAfterMs('soon')).toBeUndefined();
    const headers = new Headers({ 'retry-after': '3' });
    expect(connectorRetryVerdict({ status: 429, response: { status: 429, headers } })).toEqual({ retry: true, afterMs: 3000 });
    expect(connectorRetryVerdict({ status: 503, response: { status: 503, headers: new Headers() } })).toEqual({ retry: true });
    expect(connectorRetryVerdict({ status: 404, response: { status: 404, headers: new Headers() } })).toEqual({ retry: false });
    expect(connectorRetryVerdict(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET' } }))).toEqual({ retry: true });
    expect(connectorRetryVerdict(new Error('bug'))).toEqual({ retry: false });
  });
});
