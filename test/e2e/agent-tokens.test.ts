import * as oauth from 'oauth4webapi';
import { createSlackChannel } from '../../src/channels/slack/index.js';
import { createTeamsChannel } from '../../src/channels/teams/index.js';
import { sha256 } from '../../src/core/agents.js';
import { startToolGateway } from '../../examples/tool-gateway/gateway.js';
import { startTestRoster } from '../helpers/app.js';
import { freePort } from '../helpers/browser.js';
import { FakeConnector } from '../helpers/fake-connector.js';
import { FakeSlack } from '../helpers/fake-slack.js';
import { eventually, SHIPPED_CONFIG } from '../helpers/harness.js';
import { loadOrgConfig } from '../../src/config/org-config.js';
import { actionElements } from '../helpers/slack-blocks.js';
import { approvalCardsTo, approveValueOf, requestAgentInSlack, submitPassingEvaluationInSlack } from '../helpers/slack-journeys.js';
import { buttonClick, interaction, postSlack, slashCommand } from '../helpers/slack-requests.js';
import { button, cardVerbs } from '../channels/teams/card-reading.js';
import { TeamsClient, teamsUser, type TeamsUser } from '../channels/teams/teams-client.js';
import { discover, insecure } from '../api/support.js';
import { newWebhookSecret, WebhookReceiver, webhookConfigFor } from '../helpers/webhook-receiver.js';
import { shippedConfigWith } from '../helpers/config-copy.js';
import { asRunId } from '../helpers/ids.js';

/*
 * "When I revoke access in Roster, does the agent lose it?": an agent requested and approved in
 * Slack gets tokens from Roster with a standard OAuth client (oauth4webapi) and calls the example
 * tool gateway (examples/tool-gateway), which trusts only Roster's tokens (jose, JWKS found via
 * RFC 8414). Access approved in Teams shows up in the next token (crm:read, then crm:write, with
 * which the agent writes to the CRM); revoked in Slack, it is gone from the next token,
 * introspection says the old one is inactive at once, and the gateway, verifying offline, refuses
 * the old token's write within the bound Roster states (the token lifetime); suspended from an
 * alert, the agent gets invalid_client and the gateway refuses it once its last token expires.
 * The shipped catalog keeps customer records away from support assistants (crm:write is forbidden
 * there); this organisation's catalog lets them ask for it, as the story needs.
 * Meanwhile a SIEM subscribed to every event hears each of these decisions as a signed webhook,
 * verified with the standardwebhooks package and parsed with the cloudevents package.
 */

const HIROSHI = { id: 'U04F3N6B8CJ', email: 'hiroshi.tanaka@brightwater.example' }; // customer-support, data-owner:crm: requester and sponsor
const SOFIA = { id: 'U04G8Q2Z6DM', email: 'sofia.alvarez@brightwater.example' }; // second sponsor; prefers Teams
const LIAM_SLACK_ID = 'U04K7R3D9SW'; // it-admin: types the evaluation results in, with a reason
const GATEWAY_CLIENT = { id: 'crm-gateway', secret: 'gw-e2e-secret-4f1a9c' };
const TOKEN_LIFETIME_S = 4;

const textOf = (value: unknown) => JSON.stringify(value);

describe('agent tokens end to end: Slack and Teams decisions reach a gateway that trusts only Roster', () => {
  let slack: FakeSlack;
  let connector: FakeConnector;
  let roster: Awaited<ReturnType<typeof startTestRoster>>;
  let gateway: Awaited<ReturnType<typeof startToolGateway>>;
  let teams: TeamsClient;
  let resource: string;
  let siem: WebhookReceiver;

  beforeAll(async () => {
    slack = new FakeSlack();
    await slack.start();
    siem = new WebhookReceiver(newWebhookSecret());
    await siem.start();
    const webhooks = webhookConfigFor(
      [
        'enabled: true',
        'subscriptions:',
        '  - id: siem',
        `    url: ${siem.url}`,
        "    events: ['*']",
        '    secretEnv: ROSTER_TEST_SIEM_SECRET',
        '    owner: liam.oneill@brightwater.example',
        '',
      ].join('\n'),
      { ROSTER_TEST_SIEM_SECRET: siem.secret },
    );
    connector = await FakeConnector.start();
    const gatewayPort = await freePort();
    resource = `http://127.0.0.1:${gatewayPort}/`;
    roster = await startTestRoster({
      env: {
        ...slack.rosterEnv(),
        ROSTER_OAUTH_RESOURCES: resource,
        ROSTER_OAUTH_INTROSPECTION_CLIENTS: `${GATEWAY_CLIENT.id}:${sha256(GATEWAY_CLIENT.secret)}`,
        ROSTER_OAUTH_TOKEN_LIFETIME_S: String(TOKEN_LIFETIME_S),
      },
      channels: [createSlackChannel, createTeamsChannel],
      configDir: shippedConfigWith('roster-agent-tokens-', {
        'support-assistant': [
          [['allowedScopes'], ['tickets:reply', 'crm:read', 'crm:write']],
          [
            ['forbiddenScopes'],
            [
              { scope: 'finance:payments:approve', reason: 'Refunds and payments are approved by Finance, never by a support agent.' },
              'hris:employee:read',
            ],
          ],
        ],
      }),
      ...(webhooks ? { webhooks } : {}),
    });
    gateway = await startToolGateway({ issuer: roster.baseUrl, resource, port: gatewayPort });
    teams = new TeamsClient(roster.baseUrl, connector.serviceUrl);
  });
  afterAll(async () => {
    await gateway?.close();
    await roster?.stop();
    await connector?.close();
    await slack?.stop();
    await siem?.stop();
  });

  /** Approves a run card by card, in Slack or Teams (where each approver's card went), until it completes. */
  async function approveRun(runId: string, exclude: string[] = []): Promise<string[]> {
    const approvedIn: string[] = [];
    const clicked = new Set<string>(exclude);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const run = await roster.services.runs.get(asRunId(runId));
      if (Date.now() > deadline)
        throw new Error(`run ${runId} still ${run?.status}, waiting for ${run?.waitingFor.join(', ')}; clicked ${[...clicked].join(', ')}`);
      if (run?.status === 'completed') return approvedIn;
      if (run && !['waiting', 'running'].includes(run.status)) throw new Error(`run ${runId} ended ${run.status}`);
      const next = run?.waitingFor.find((email) => !clicked.has(email));
      if (!run || run.status !== 'waiting' || !next) {
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      const person = roster.chat.person(next)!;
      const decisions = () => Object.values(run.steps).flatMap((s) => s.decisions ?? []).length;
      const before = decisions();
      const teamsCard = person.teamsAadObjectId
        ? connector
            .posts(teamsUser(person).conversationId)
            .map((p) => ({ p, card: FakeConnector.card(p) }))
            .find(({ card }) => cardVerbs(card).includes('approval_approve') && textOf(card).includes(runId))
        : undefined;
      const slackCard = person.slackUserId ? approvalCardsTo(slack, person.slackUserId, runId)[0] : undefined;
      if (teamsCard) {
        const res = await teams.execute(teamsUser(person), 'approval_approve', button(teamsCard.card, 'approval_approve').data!, {
          replyToId: teamsCard.p.createdId!,
        });
        expect(res.status).toBe(200);
        approvedIn.push(`teams:${next}`);
      } else if (slackCard) {
        const click = interaction(
          buttonClick(person.slackUserId!, 'approval_approve', approveValueOf(slackCard), slack.responseUrl(`ok-${next}`)),
        );
        expect((await postSlack(roster.baseUrl, click)).status).toBe(200);
        approvedIn.push(`slack:${next}`);
      } else {
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      clicked.add(next);
      await eventually(async () => {
        const now = await roster.services.runs.get(asRunId(runId));
        return now && (now.status !== 'waiting' || Object.values(now.steps).flatMap((s) => s.decisions ?? []).length > before);
      }, 20_000);
    }
  }

  it('tokens follow approvals, revocation and suspension, as the gateway and introspection see them', async () => {
    // Teams users are installed so Roster can reach them proactively.
    const sofia: TeamsUser = teamsUser(roster.chat.person(SOFIA.email)!);
    expect((await teams.install(sofia)).status).toBe(200);

    // 1. Hiroshi requests a support assistant in Slack; evaluation passes; the approvers approve.
    await requestAgentInSlack(roster.baseUrl, slack, {
      userId: HIROSHI.id,
      roleId: 'support-assistant',
      name: 'CRM Helper',
      businessUnit: 'customer-support',
      sponsorIds: [HIROSHI.id, SOFIA.id],
    });
    const requested = await eventually(async () =>
      (await roster.services.agents.list({ requestedBy: HIROSHI.email })).find((a) => a.name === 'CRM Helper'),
    );
    // Hiroshi named Sofia: she counts as a sponsor once she accepts, here on the card she got in Teams (issue 15, item 3).
    const ask = await eventually(() =>
      connector
        .posts(sofia.conversationId)
        .map((p) => FakeConnector.card(p))
        .find((c) => cardVerbs(c).includes('sponsor_confirm')),
    );
    expect((await teams.execute(sofia, 'sponsor_confirm', button(ask, 'sponsor_confirm').data!)).status).toBe(200);
    await eventually(async () => (await roster.services.agents.get(requested.id))?.sponsors.includes(SOFIA.email));
    await eventually(async () => (await roster.services.runs.get(requested.requestRunId))?.steps.evaluation?.status === 'waiting');
    await submitPassingEvaluationInSlack(roster.baseUrl, slack, LIAM_SLACK_ID, 'CRM Helper');
    await approveRun(requested.requestRunId);
    const keyMessage = await slack.waitFor(
      'chat.postMessage',
      (a) => a.channel === HIROSHI.id && textOf(a).includes('Telemetry key for CRM Helper'),
    );
    const key = /rst_[0-9a-f]{8}_[A-Za-z0-9_-]+/.exec(textOf(keyMessage.args))![0];
    const agentId = requested.id;
    expect((await roster.services.agents.get(agentId))?.status).toBe('active');

    // 2. The agent gets a token for the gateway with oauth4webapi and reads tickets; customers need crm:read.
    const as = await discover(roster.baseUrl);
    const client = { client_id: agentId };
    const auth = oauth.ClientSecretBasic(key);
    const tokenFor = async () =>
      oauth.processClientCredentialsResponse(
        as,
        client,
        await oauth.clientCredentialsGrantRequest(as, client, auth, { resource }, insecure),
      );
    const crm = (token: string, path: string) => fetch(`${gateway.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
    const first = await tokenFor();
    expect(first.scope).toBe('kb:read tickets:read');
    const tickets = await crm(first.access_token, '/crm/tickets');
    expect(tickets.status).toBe(200);
    expect(await tickets.json()).toMatchObject({
      agent: agentId,
      tickets: expect.arrayContaining([expect.objectContaining({ id: 'T-1001' })]),
    });
    const refused = await crm(first.access_token, '/crm/customers/C-42');
    expect(refused.status).toBe(403);
    expect(refused.headers.get('www-authenticate')).toContain('insufficient_scope');
    expect((await fetch(`${gateway.url}/crm/tickets`, { headers: { authorization: 'Bearer forged.token.here' } })).status).toBe(401);

    // 3. crm:read is requested in Slack and approved by the other sponsor in Teams (IT stands in for the data owner, who asked).
    await postSlack(
      roster.baseUrl,
      slashCommand(HIROSHI.id, 'access CRM Helper crm:read 30d look up customer accounts', slack.responseUrl('crm')),
    );
    const pending = await eventually(async () =>
      (await roster.services.grants.listForAgent(agentId)).find((g) => g.scope === 'crm:read' && g.status === 'pending'),
    );
    const accessRun = await eventually(async () => (await roster.services.runs.list({ agentId, flowId: 'access-request' }))[0]);
    const approvedIn = await approveRun(accessRun.id);
    expect(approvedIn).toContain(`teams:${SOFIA.email}`);
    expect((await roster.services.grants.get(pending.id))?.status).toBe('active');

    const second = await tokenFor();
    expect(second.scope).toBe('crm:read kb:read tickets:read');
    const customer = await crm(second.access_token, '/crm/customers/C-42');
    expect(customer.status).toBe(200);
    expect(await customer.json()).toMatchObject({ customer: { name: 'Ada Lovelace' } });

    // 3b. crm:write is requested in Slack and approved in Teams too: the next token holds it and the agent writes a note.
    await postSlack(
      roster.baseUrl,
      slashCommand(HIROSHI.id, 'access CRM Helper crm:write 30d add notes to customer accounts', slack.responseUrl('crm-write')),
    );
    const writeGrant = await eventually(async () =>
      (await roster.services.grants.listForAgent(agentId)).find((g) => g.scope === 'crm:write' && g.status === 'pending'),
    );
    const writeRun = await eventually(async () =>
      (await roster.services.runs.list({ agentId, flowId: 'access-request' })).find((r) => r.id !== accessRun.id),
    );
    expect(await approveRun(writeRun.id)).toContain(`teams:${SOFIA.email}`);
    expect((await roster.services.grants.get(writeGrant.id))?.status).toBe('active');
    const writeToken = await tokenFor();
    expect(writeToken.scope).toBe('crm:read crm:write kb:read tickets:read');
    const writeNote = (token: string) =>
      fetch(`${gateway.url}/crm/customers/C-42/notes`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ text: 'Prefers e-mail over phone.' }),
      });
    const written = await writeNote(writeToken.access_token);
    expect(written.status).toBe(201);
    expect(await written.json()).toMatchObject({
      agent: agentId,
      customer: { notes: expect.arrayContaining(['Prefers e-mail over phone.']) },
    });

    // 4a. Hiroshi revokes crm:write in Slack: the next token lacks it, introspection says the old one is inactive
    // at once, and the gateway (offline) refuses the old token's write once it expires, within the token lifetime.
    const revokedAt = Date.now();
    const revokeWrite = interaction(
      buttonClick(HIROSHI.id, 'grant_revoke', JSON.stringify({ grantId: writeGrant.id }), slack.responseUrl('revoke-write')),
    );
    expect((await postSlack(roster.baseUrl, revokeWrite)).status).toBe(200);
    expect(textOf((await slack.waitForResponse('revoke-write')).body.blocks)).toContain('Revoked');
    expect((await roster.services.grants.get(writeGrant.id))?.status).toBe('revoked');
    const writeIntrospection = await oauth.processIntrospectionResponse(
      as,
      { client_id: GATEWAY_CLIENT.id },
      await oauth.introspectionRequest(
        as,
        { client_id: GATEWAY_CLIENT.id },
        oauth.ClientSecretBasic(GATEWAY_CLIENT.secret),
        writeToken.access_token,
        insecure,
      ),
    );
    expect(writeIntrospection).toEqual({ active: false });
    const withoutWrite = await tokenFor();
    expect(withoutWrite.scope).toBe('crm:read kb:read tickets:read');
    const refusedWrite = await writeNote(withoutWrite.access_token);
    expect(refusedWrite.status).toBe(403);
    expect(refusedWrite.headers.get('www-authenticate')).toContain('insufficient_scope');
    const writeExpiresAt =
      (JSON.parse(Buffer.from(writeToken.access_token.split('.')[1]!, 'base64url').toString()) as { exp: number }).exp * 1000;
    // The stated bound: a token signed before the revocation lives at most the token lifetime after it.
    expect(writeExpiresAt).toBeLessThanOrEqual(revokedAt + TOKEN_LIFETIME_S * 1000);
    await eventually(async () => (await writeNote(writeToken.access_token)).status === 401, (TOKEN_LIFETIME_S + 10) * 1000);
    expect(Date.now()).toBeGreaterThanOrEqual(writeExpiresAt);
    expect((await writeNote(writeToken.access_token)).headers.get('www-authenticate')).toContain('The token expired.');

    // 4. Hiroshi revokes crm:read in Slack: the next token lacks it, and the old one is inactive at once.
    const revoke = interaction(
      buttonClick(HIROSHI.id, 'grant_revoke', JSON.stringify({ grantId: pending.id }), slack.responseUrl('revoke')),
    );
    expect((await postSlack(roster.baseUrl, revoke)).status).toBe(200);
    expect(textOf((await slack.waitForResponse('revoke')).body.blocks)).toContain('Revoked');
    expect((await roster.services.grants.get(pending.id))?.status).toBe('revoked');
    const gatewayAuth = oauth.ClientSecretBasic(GATEWAY_CLIENT.secret);
    const introspect = async (token: string) =>
      oauth.processIntrospectionResponse(
        as,
        { client_id: GATEWAY_CLIENT.id },
        await oauth.introspectionRequest(as, { client_id: GATEWAY_CLIENT.id }, gatewayAuth, token, insecure),
      );
    expect(await introspect(second.access_token)).toEqual({ active: false });
    const third = await tokenFor();
    expect(third.scope).toBe('kb:read tickets:read');
    expect((await introspect(third.access_token)).active).toBe(true);
    expect((await crm(third.access_token, '/crm/customers/C-42')).status).toBe(403);

    // 5. The agent misbehaves (failures reported with its key), on-call suspends it from the alert, IT approves.
    const now = Date.now();
    const events = Array.from({ length: 24 }, (_, i) => ({
      eventId: `e2e-${i}`,
      time: new Date(now - i * 1000).toISOString(),
      taskType: 'reply',
      outcome: i % 2 === 0 ? 'failure' : 'success',
      latencyMs: 900,
      costUSD: 0.01,
    }));
    const ingest = await fetch(`${roster.baseUrl}/api/v1/telemetry`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ events }),
    });
    expect(ingest.status).toBe(200);
    const page = await slack.waitFor(
      'chat.postMessage',
      (a) => actionElements(a.blocks).some((e) => e.action_id === 'alert_suspend') && textOf(a.blocks).includes('CRM Helper'),
      20_000,
    );
    const onCall = loadOrgConfig(SHIPPED_CONFIG).people.find((p) => p.slackUserId === page.args.channel)!;
    const suspend = actionElements(page.args.blocks).find((e) => e.action_id === 'alert_suspend')!;
    const lastToken = await tokenFor();
    expect(
      (
        await postSlack(
          roster.baseUrl,
          interaction(buttonClick(onCall.slackUserId!, 'alert_suspend', String(suspend.value), slack.responseUrl('suspend'))),
        )
      ).status,
    ).toBe(200);
    const suspension = await eventually(async () => (await roster.services.runs.list({ agentId, flowId: 'agent-suspension' }))[0]);
    await approveRun(suspension.id, [onCall.email]);
    await eventually(async () => (await roster.services.agents.get(agentId))?.status === 'suspended');

    // Suspended: no new token (invalid_client), introspection says inactive at once...
    const denied = await tokenFor().catch((err: unknown) => err);
    // RFC 6749 §5.2: 401 with a Basic challenge (the client authenticated with the Authorization header).
    expect(denied).toBeInstanceOf(oauth.WWWAuthenticateChallengeError);
    const challenge = denied as oauth.WWWAuthenticateChallengeError;
    expect(challenge.status).toBe(401);
    expect(challenge.cause[0]?.scheme).toBe('basic');
    expect(await challenge.response.json()).toMatchObject({
      error: 'invalid_client',
      error_description: expect.stringContaining('suspended'),
    });
    expect(await introspect(lastToken.access_token)).toEqual({ active: false });
    // ...and the gateway, verifying offline, refuses the agent once its last token expires.
    const expiresAt =
      (JSON.parse(Buffer.from(lastToken.access_token.split('.')[1]!, 'base64url').toString()) as { exp: number }).exp * 1000;
    await eventually(async () => (await crm(lastToken.access_token, '/crm/tickets')).status === 401, (TOKEN_LIFETIME_S + 10) * 1000);
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt);
    const afterExpiry = await crm(lastToken.access_token, '/crm/tickets');
    expect(afterExpiry.headers.get('www-authenticate')).toContain('The token expired.');

    // 6. The SIEM heard the agent's story, each event once, signed and in order.
    const story = ['agent.requested', 'agent.activated', 'grant.granted', 'grant.revoked', 'alert.opened', 'agent.suspended'];
    const heard = () =>
      siem
        .accepted()
        .filter((r) => r.event?.subject === agentId)
        .map((r) => r.event!.type.replace('com.roster.', ''));
    await eventually(() => story.every((t) => heard().includes(t)), 30_000);
    expect(siem.received.every((r) => r.verified && r.event !== undefined)).toBe(true);
    const order = heard();
    const positions = story.map((t) => order.indexOf(t));
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    const ids = siem.accepted().map((r) => r.event!.id);
    expect(new Set(ids).size).toBe(ids.length);
  }, 180_000);
});
