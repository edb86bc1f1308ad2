import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { WebClient } from '@slack/web-api';
import { SlackIdentity } from '../../../src/channels/slack/identity.js';
import { slackNotification, SlackNotifier } from '../../../src/channels/slack/notifier.js';
import { findPersonByEmail } from '../../../src/config/directory.js';
import { loadOrgConfig } from '../../../src/config/org-config.js';
import { readerTime } from '../../../src/channels/reader-time.js';
import type { OutgoingCard } from '../../../src/core/notifications.js';
import { people, SHIPPED_CONFIG } from '../../helpers/harness.js';
import { silentLogger } from '../../helpers/logger.js';

/*
 * The bytes the notifier's Web API calls put on the wire, compared with those of the same call
 * made with the rendered blocks as objects (how the client is usually called). A plain server on
 * loopback keeps each request body as it came.
 */
describe('Slack notifier on the wire', () => {
  const bodies: Array<{ method: string; body: string }> = [];
  let server: http.Server;
  let apiUrl: string;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const method = (req.url ?? '').replace(/^\/api\//, '');
        bodies.push({ method, body: Buffer.concat(chunks).toString() });
        const answer =
          method === 'users.info'
            ? { ok: true, user: { id: 'U1', tz: 'Europe/Dublin' } }
            : { ok: true, channel: 'D04K7R3D9SW', ts: '1700000000.000100', message: {} };
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('posts and updates a review card with the very request body the blocks as objects would make', async () => {
    const org = loadOrgConfig(SHIPPED_CONFIG);
    const person = findPersonByEmail(org, people.liam)!;
    expect(person.slackUserId).toBeDefined();
    const client = new WebClient('xoxb-test-token', { slackApiUrl: apiUrl });
    const notifier = new SlackNotifier(client, new SlackIdentity(org, client, silentLogger()), org);
    const sample = JSON.parse(readFileSync(path.join('cards', 'samples', 'checkin.json'), 'utf8')) as OutgoingCard;

    const ref = await notifier.send(person, sample);
    await notifier.update(ref!, sample);
    const sent = bodies.filter((b) => b.method !== 'users.info');
    expect(sent.map((b) => b.method)).toEqual(['chat.postMessage', 'chat.update']);

    // The same calls, the blocks given as the objects the renderer made.
    bodies.length = 0;
    const posted = slackNotification(sample, readerTime(org, person, 'Europe/Dublin'));
    await client.chat.postMessage({ channel: person.slackUserId!, blocks: posted.blocks as never, text: posted.text, unfurl_links: false });
    const updated = slackNotification(sample, readerTime(org, undefined, 'Europe/Dublin'));
    await client.chat.update({ channel: 'D04K7R3D9SW', ts: '1700000000.000100', blocks: updated.blocks as never, text: updated.text });
    expect(bodies.map((b) => b.body)).toEqual(sent.map((b) => b.body));
    // And the blocks arrive as Slack reads them: a JSON array of block objects.
    const blocks = JSON.parse(new URLSearchParams(sent[0]!.body).get('blocks')!) as Array<{ type: string }>;
    expect(blocks.length).toBeGreaterThan(0);
    expect(blocks.every((b) => typeof b.type === 'string')).toBe(true);
  });
});
