import { createSlackChannel } from '../../../src/channels/slack/index.js';
import { CHAT_SEND_EFFECT, type ChatSend } from '../../../src/core/chat-effects.js';
import { FakeSlack } from '../../helpers/fake-slack.js';
import { startTestRoster } from '../../helpers/app.js';

/*
 * Tom Becker has no Slack id in the directory: Slack finds him by e-mail (users.lookupByEmail).
 * A card to him is an outbox `chat.send` effect, performed here as its worker would.
 */
const TOM = 'tom.becker@brightwater.example';
const TOM_SLACK_ID = 'U07T0MBKR2X';

const send = (title: string): ChatSend => ({
  to: TOM,
  card: { kind: 'notice', data: { level: 'info', title, text: 'Reached by e-mail.' } },
});

describe('Slack: a person found by e-mail', () => {
  it('a failed look-up fails the send, so the outbox sends the card again; it is posted once when Slack answers', async () => {
    const slack = new FakeSlack();
    await slack.start();
    const roster = await startTestRoster({ env: slack.rosterEnv(), channels: [createSlackChannel] });
    try {
      slack.usersByEmail.set(TOM, TOM_SLACK_ID);
      slack.failNext('users.lookupByEmail', 'internal_error');
      const { outbox } = roster.services;
      const posts = () =>
        slack.of('chat.postMessage', (a) => a.channel === TOM_SLACK_ID && JSON.stringify(a).includes('Card after a failed look-up'));

      // Before: the failure counted as "not on Slack", the card was recorded as delivered to
      // nobody and, remembered for ten minutes, so did every card to Tom after it.
      await expect(outbox.performNow(CHAT_SEND_EFFECT, 'fx_lookup_retried', send('Card after a failed look-up'))).rejects.toThrow();
      expect(posts()).toHaveLength(0);

      await outbox.performNow(CHAT_SEND_EFFECT, 'fx_lookup_retried', send('Card after a failed look-up'));
      await outbox.performNow(CHAT_SEND_EFFECT, 'fx_lookup_retried', send('Card after a failed look-up'));
      expect(posts()).toHaveLength(1);
      expect(slack.of('users.lookupByEmail', (a) => a.email === TOM)).toHaveLength(2);
    } finally {
      await roster.stop();
      await slack.stop();
    }
  }, 60_000);

  it('Slack saying nobody has the address still means "not on Slack": the card is not retried', async () => {
    const slack = new FakeSlack();
    await slack.start();
    const roster = await startTestRoster({ env: slack.rosterEnv(), channels: [createSlackChannel] });
    try {
      await roster.services.outbox.performNow(CHAT_SEND_EFFECT, 'fx_lookup_nobody', send('Nobody on Slack'));
      expect(slack.of('users.lookupByEmail', (a) => a.email === TOM)).toHaveLength(1);
      expect(slack.of('chat.postMessage')).toHaveLength(0);
    } finally {
      await roster.stop();
      await slack.stop();
    }
  }, 60_000);
});
