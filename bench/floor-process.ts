/*
 * The floors of `npm run bench`, in their own process (as Roster is in its own): what the same
 * request costs with the same framework doing nothing but answering.
 * - Slack: a bare Bolt app on an ExpressReceiver configured as Roster's (signature checked,
 *   `processBeforeResponse: false`), whose approve handler only acknowledges.
 * - Teams: a bare Microsoft 365 Agents SDK app (CloudAdapter + AgentApplication in anonymous
 *   mode, as Roster runs on loopback without credentials) answering the approve Action.Execute
 *   with a static Adaptive Card.
 * - Ingest: a bare Express endpoint that parses the same JSON body and stores the same raw-event
 *   documents with one unordered `insertMany`, no validation, no rollups.
 * - Agent API: a bare Express endpoint answering constant JSON.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import bolt from '@slack/bolt';
import { AgentApplication, CloudAdapter, type AuthConfiguration, type TurnState } from '@microsoft/agents-hosting';
import mongoose from 'mongoose';
import { SIGNING_SECRET } from '../test/helpers/slack-requests.js';
import { serveBench } from './ipc.js';

const servers: http.Server[] = [];
let database: mongoose.Connection | undefined;
/** Commands the ingest floor sent to the database (its connection's command monitoring). */
let floorCommands = 0;

async function listen(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const STATIC_CARD = {
  type: 'AdaptiveCard' as const,
  $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
  version: '1.5',
  body: [{ type: 'TextBlock', text: 'Approved', wrap: true }],
};

serveBench({
  async bolt(slackApiUrl: string) {
    const receiver = new bolt.ExpressReceiver({ signingSecret: SIGNING_SECRET, endpoints: '/slack/events', processBeforeResponse: false });
    // Bolt's start-up auth.test goes to the fake Slack Web API, as Roster's does: the bench talks to 127.0.0.1 only.
    const app = new bolt.App({
      token: 'xoxb-bench',
      receiver,
      deferInitialization: true,
      clientOptions: { slackApiUrl },
      logLevel: bolt.LogLevel.ERROR,
    });
    app.action('approval_approve', async ({ ack }) => {
      await ack();
    });
    await app.init();
    return `${await listen(receiver.app)}/slack/events`;
  },

  async agents() {
    const authConfig: AuthConfiguration = {
      connections: new Map([['serviceConnection', {}]]),
      connectionsMap: [{ serviceUrl: '*', connection: 'serviceConnection' }],
    };
    const adapter = new CloudAdapter(authConfig);
    const app = new AgentApplication<TurnState>({ adapter });
    app.adaptiveCards.actionExecute('approval_approve', async () => STATIC_CARD);
    const server = express();
    server.post('/api/messages', express.json({ limit: '1mb' }), (req, res) => {
      (req as unknown as { user: unknown }).user = { name: 'anonymous' };
      void adapter.process(req as never, res as never, (context) => app.run(context));
    });
    return `${await listen(server)}/api/messages`;
  },

  async ingest(uri: string, dbName: string) {
    database = await mongoose.createConnection(uri, { dbName, monitorCommands: true }).asPromise();
    database.getClient().on('commandStarted', () => (floorCommands += 1));
    const events = database.db!.collection('telemetry_events');
    const server = express();
    server.post('/api/v1/telemetry', express.json({ limit: '1mb', type: () => true }), (req, res) => {
      const receivedAt = new Date();
      const docs = (req.body as { events: Array<Record<string, unknown>> }).events.map((e) => ({
        _id: `${String(e.agentId)}:${String(e.eventId)}`,
        ...e,
        time: new Date(e.time as string),
        receivedAt,
      }));
      events.insertMany(docs as never[], { ordered: false }).then(
        () => res.json({ accepted: docs.length, duplicates: 0, rejected: [] }),
        (err: unknown) => res.status(500).json({ error: String(err) }),
      );
    });
    return `${await listen(server)}/api/v1/telemetry`;
  },

  /** The agent API's floor: an Express endpoint answering a constant introspection-like JSON. */
  async constant() {
    const server = express();
    server.post('/floor', (_req, res) => void res.json({ active: true, scope: 'kb:read', sub: 'agt_0000000000000000' }));
    return `${await listen(server)}/floor`;
  },

  /** The runtime approvals' floor: an Express endpoint parsing a JSON body and answering 201 with an `allowed` decision. */
  async created() {
    const server = express();
    server.post(
      '/floor',
      express.json(),
      (_req, res) => void res.status(201).json({ id: 'apr_0', status: 'allowed', reason: 'autonomous' }),
    );
    return `${await listen(server)}/floor`;
  },

  commands: () => floorCommands,

  async stop() {
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    await database?.dropDatabase().catch(() => undefined);
    await database?.close();
  },
});
