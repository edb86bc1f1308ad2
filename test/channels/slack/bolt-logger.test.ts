import bolt from '@slack/bolt';
import { WebClient } from '@slack/web-api';
import { boltLogger } from '../../../src/channels/slack/index.js';
import { FakeSlack } from '../../helpers/fake-slack.js';
import { eventually } from '../../helpers/harness.js';
import { memoryLogger } from '../../helpers/logger.js';

/*
 * Slack's libraries log whole payloads at debug level: the Web API client each request body and
 * result, Socket Mode each raw incoming message and the data of each acknowledgement. Roster sends
 * one-time keys in messages and people type secrets into forms (an evaluation endpoint's secret),
 * so with LOG_LEVEL=debug those lines would put them in the log. Driven here through the libraries
 * themselves (a real WebClient against the fake Web API on loopback, Bolt's Socket Mode receiver
 * fed a message as Slack's WebSocket delivers it), with Roster's logger underneath.
 */

const { LogLevel, SocketModeReceiver } = bolt;

/** A secret a person typed into a form: nothing about it looks like a credential. */
const TYPED = 'hunter2-endpoint-password-7f3a9c';
/** A one-time agent key, as Roster issues them. */
const AGENT_KEY = `rst_agt12345_${'k'.repeat(40)}`;

describe("Slack's libraries log through Roster's logger without payloads", () => {
  let slack: FakeSlack;
  beforeAll(async () => {
    slack = new FakeSlack();
    await slack.start();
  });
  afterAll(async () => {
    await slack?.stop();
  });

  it('the Web API client: what a message says is not logged, while its debug trail (the call made) is', async () => {
    const logged = memoryLogger('debug');
    const client = new WebClient('xoxb-test-token', {
      slackApiUrl: slack.apiUrl,
      logger: boltLogger(logged.log),
      logLevel: LogLevel.DEBUG,
    });
    await client.chat.postMessage({ channel: 'U04M9X1G3JT', text: `Your key ${AGENT_KEY}; endpoint secret ${TYPED}` });
    expect(slack.calls.some((c) => JSON.stringify(c.args).includes(TYPED))).toBe(true);
    const text = JSON.stringify(logged.lines());
    expect(text).not.toContain(TYPED);
    expect(text).not.toContain(AGENT_KEY);
    expect(logged.lines().map((l) => l.msg)).toEqual(expect.arrayContaining(["apiCall('chat.postMessage') start"]));
  });

  it('with debug off, a debug line is not put together at all (the Web API client logs each request body)', () => {
    let written = 0;
    const body = {
      toString: () => {
        written += 1;
        return 'http request body: {"blocks":[]}';
      },
    };
    const quiet = memoryLogger('info');
    boltLogger(quiet.log).debug(body);
    expect(written).toBe(0);
    const loud = memoryLogger('debug');
    boltLogger(loud.log).debug(body);
    expect(written).toBe(1);
  });

  it('Socket Mode: a submitted form, an unreadable message and the acknowledgement are not logged; the error is, scrubbed', async () => {
    const logged = memoryLogger('debug');
    const receiver = new SocketModeReceiver({
      appToken: 'xapp-1-A0TEST-1-abcdef',
      logger: boltLogger(logged.log),
      logLevel: LogLevel.DEBUG,
    });
    let handled = false;
    await receiver.init({
      // As Roster's listeners answer a form: field errors in the acknowledgement (which quote nothing secret here, but may).
      processEvent: async (event: { ack: (body: unknown) => Promise<void> }) => {
        try {
          await event.ack({ response_action: 'errors', errors: { secret: `not accepted: ${TYPED}` } });
        } finally {
          handled = true;
        }
      },
    } as never);
    const socket = (receiver as unknown as { client: { onWebSocketMessage(data: string, binary: boolean): Promise<void> } }).client;
    const envelope = {
      envelope_id: 'env-1',
      type: 'interactive',
      accepts_response_payload: false,
      payload: {
        type: 'view_submission',
        user: { id: 'U04M9X1G3JT' },
        view: { callback_id: 'prompt', state: { values: { secret: { secret: { type: 'plain_text_input', value: TYPED } } } } },
      },
    };
    await socket.onWebSocketMessage(JSON.stringify(envelope), false);
    await socket.onWebSocketMessage(`{"envelope_id": "env-2", "payload": "${TYPED}"`, false);
    await eventually(() => handled, 10_000);
    // The acknowledgement could not be sent (no socket here): Bolt reports it as an error, which is kept.
    await eventually(() => logged.lines().some((l) => l.level === 50), 10_000);
    const text = JSON.stringify(logged.lines());
    expect(text).not.toContain(TYPED);
    boltLogger(logged.log).warn('http request failed', `socket hang up while sending ${AGENT_KEY}`);
    const warned = logged.lines().at(-1)!;
    expect(warned).toMatchObject({ level: 40, msg: 'http request failed socket hang up while sending [redacted]' });
  });
});
