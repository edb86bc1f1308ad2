import { createSlackChannel } from '../../src/channels/slack/index.js';
import { createTeamsChannel } from '../../src/channels/teams/index.js';
import { loadOrgConfig } from '../../src/config/org-config.js';
import { issueTelemetryKey, newAgentId } from '../../src/core/agents.js';
import { startTeamsTestRoster, startTestRoster, type TeamsTestRoster } from '../helpers/app.js';
import { FakeConnector } from '../helpers/fake-connector.js';
import { FakeSlack } from '../helpers/fake-slack.js';
import { agentRecord, eventually, passingEvaluation, people, SHIPPED_CONFIG } from '../helpers/harness.js';
import { memoryLogger } from '../helpers/logger.js';
import { postForm } from '../api/support.js';
import { actionElements } from '../helpers/slack-blocks.js';
import { buttonClick, interaction, postSlack, slashCommand } from '../helpers/slack-requests.js';
import { button, cardText, cardVerbs } from '../channels/teams/card-reading.js';
import { TeamsClient, teamsUser, type TeamsUser } from '../channels/teams/teams-client.js';
import { commandsOf } from '../helpers/commands.js';
import { asAgentId } from '../helpers/ids.js';

/*
 * Agent keys through Roster's real doors: the Bot Connector refusing the one-time key at
 * onboarding (the key must not reach the log, and a sponsor can get a new one), and Rotate key
 * on an agent's profile in Teams and in Slack (new key once, old one kept for the grace period,
 * then refused with an alert). Telemetry proves which keys work.
 */

const KEY = /rst_[A-Za-z0-9_-]{20,}/;
const PRIYA = { id: 'U04E6T1V5GA', email: 'priya.raman@brightwater.example' }; // Slack
const GRACE_MS = 3_000;

/** One telemetry event sent with `key`: the response says whether Roster accepts the key. */
function postTelemetry(baseUrl: string, key: string, eventId: string): Promise<Response> {
  return fetch(`${baseUrl}/api/v1/telemetry`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({
      events: [{ eventId, time: new Date().toISOString(), taskType: 'answer', outcome: 'success', latencyMs: 12, costUSD: 0.001 }],
    }),
  });
}

describe('agent keys: the one-time key is refused by the Bot Connector at onboarding', () => {
  let connector: FakeConnector;
  let roster: TeamsTestRoster['roster'];
  let teams: TeamsClient;
  let stop: () => Promise<void>;
  const logged = memoryLogger('debug');

  // Teams only: the requester can be reached nowhere else, as in a Teams-only organisation.
  beforeAll(async () => {
    ({ roster, connector, client: teams, stop } = await startTeamsTestRoster({ log: logged.log }));
  });
  afterAll(async () => {
    await stop?.();
  });

  const telemetry = (key: string, eventId: string) => postTelemetry(roster.baseUrl, key, eventId);
  const user = (email: string): TeamsUser => teamsUser(roster.chat.person(email)!);
  const logText = () => JSON.stringify(logged.lines());

  it('the Bot Connector answers 403 for the onboarding key: no key in the log, everyone told, a sponsor gets a working new key', async () => {
    const grace = user(people.grace); // the requester; Teams refuses messages to her
    const tom = user(people.tom); // a sponsor, reachable in Teams
    const amara = user(people.amara); // named as a sponsor too, but never accepts
    for (const u of [grace, tom, amara]) expect((await teams.install(u)).status).toBe(200);
    connector.forbidden.add(grace.conversationId);

    const org = loadOrgConfig(SHIPPED_CONFIG);
    const { agentId } = await commandsOf(roster.services).requestAgent(people.grace, {
      roleId: 'kb-answerer',
      name: 'Key Keeper',
      purpose: 'Answers engineering questions from the handbook.',
      businessUnit: 'engineering',
      sponsors: [people.grace, people.tom, people.amara],
      justification: 'Saves the platform team hours.',
    });
    // Grace named Tom: he counts as a sponsor (and may get the agent a new key) once he accepts, on his Teams card.
    const ask = await eventually(() =>
      connector
        .posts(tom.conversationId)
        .map((p) => FakeConnector.card(p))
        .find((c) => cardVerbs(c).includes('sponsor_confirm')),
    );
    expect((await teams.execute(tom, 'sponsor_confirm', button(ask, 'sponsor_confirm').data!)).status).toBe(200);
    await eventually(async () => (await roster.services.agents.get(asAgentId(agentId)))?.sponsors.includes(people.tom));
    await commandsOf(roster.services).submitEvaluation(people.liam, agentId, passingEvaluation(org, 'kb-answerer'));
    const run = (await roster.services.agents.get(asAgentId(agentId)))!.requestRunId;
    await commandsOf(roster.services).decide('noah.fischer@brightwater.example', { runId: run, stepId: 'approvals', decision: 'approve' });
    await commandsOf(roster.services).decide(people.liam, { runId: run, stepId: 'approvals', decision: 'approve' });
    await eventually(async () => (await roster.services.agents.get(asAgentId(agentId)))?.credentials.length === 1);

    // The key went out once, to Grace's conversation, and Teams refused it with 403.
    const refused = connector.history.find((c) => c.conversationId === grace.conversationId && KEY.test(cardText(FakeConnector.card(c))));
    expect(refused).toBeDefined();
    const oldKey = KEY.exec(cardText(FakeConnector.card(refused)))![0];

    // Tom (a sponsor) is told loudly, with Issue a new key; the failure is audited and logged without the key.
    const notice = await eventually(() =>
      connector
        .posts(tom.conversationId)
        .map((c) => FakeConnector.card(c))
        .find((c) => cardText(c).includes('telemetry key was not delivered')),
    );
    expect(cardText(notice)).toContain('answered 403');
    expect(cardVerbs(notice)).toEqual(['agent_key_reissue']);
    // Amara never accepted: she may not get the agent a key, so she is not offered one.
    expect(connector.posts(amara.conversationId).map((c) => cardText(FakeConnector.card(c)))).not.toContainEqual(
      expect.stringContaining('telemetry key was not delivered'),
    );
    const trail = await roster.services.audit.export({ agentId: asAgentId(agentId) });
    expect(trail.find((e) => e.action === 'credential.delivery-failed')?.details).toMatchObject({ recipient: people.grace });
    expect(JSON.stringify(trail)).not.toContain(oldKey);
    await eventually(() => logText().includes('the one-time telemetry key could not be delivered'));
    expect(logText()).toContain('"status":403');
    expect(logText()).not.toContain(oldKey);
    expect(logText()).not.toContain(oldKey.slice(-20));

    // Tom clicks Issue a new key: the new key is in his answer only.
    const reissued = await teams.execute(tom, 'agent_key_reissue', button(notice, 'agent_key_reissue').data!);
    expect(reissued.status).toBe(200);
    const newKey = KEY.exec(cardText(reissued.card))![0];
    expect(newKey).not.toBe(oldKey);
    expect(cardText(reissued.card)).toContain('shown only to you');

    // The new key works; the undelivered one is refused and pages on-call (something may hold it).
    const ok = await telemetry(newKey, 'k1');
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ accepted: 1 });
    const old = await telemetry(oldKey, 'k2');
    expect(old.status).toBe(401);
    expect(await old.json()).toMatchObject({ error: 'key_revoked' });
    expect((await roster.services.supervision.alertRepo.list({ agentId: asAgentId(agentId), kind: 'retired-key' }))[0]).toMatchObject({
      status: 'open',
    });

    // A second click (the same card, or another sponsor's copy) issues nothing: the new key stays the only one.
    const again = await teams.execute(tom, 'agent_key_reissue', button(notice, 'agent_key_reissue').data!);
    expect(cardText(again.card)).toContain('already has a new key');
    expect((await telemetry(newKey, 'k3')).status).toBe(200);
    const reissues = (await roster.services.audit.export({ agentId: asAgentId(agentId) })).filter(
      (e) => e.action === 'credential.reissued',
    );
    expect(reissues).toHaveLength(1);
    expect(reissues[0]!.actor).toMatchObject({ email: people.tom });
    expect(logText()).not.toContain(newKey);
  }, 60_000);
});

describe('agent keys: Slack refuses the one-time key at onboarding', () => {
  let slack: FakeSlack;
  let roster: Awaited<ReturnType<typeof startTestRoster>>;
  const logged = memoryLogger('debug');
  const GRACE = { id: 'U04M9X1G3JT', email: people.grace }; // the requester; Slack refuses messages to her

  beforeAll(async () => {
    slack = new FakeSlack();
    await slack.start();
    roster = await startTestRoster({ env: slack.rosterEnv(), channels: [createSlackChannel], log: logged.log });
  });
  afterAll(async () => {
    await roster?.stop();
    await slack?.stop();
  });

  it('a sponsor clicks Issue a new key in Slack: the new key is in their private answer only and works; the undelivered one is refused', async () => {
    slack.refused.add(GRACE.id);
    const org = loadOrgConfig(SHIPPED_CONFIG);
    const { agentId } = await commandsOf(roster.services).requestAgent(people.grace, {
      roleId: 'kb-answerer',
      name: 'Slack Key Keeper',
      purpose: 'Answers engineering questions from the handbook.',
      businessUnit: 'engineering',
      sponsors: [people.grace, PRIYA.email],
      justification: 'Saves the platform team hours.',
    });
    // Grace named Priya: she counts as a sponsor once she accepts on her Slack card.
    const ask = await slack.waitFor(
      'chat.postMessage',
      (a) => a.channel === PRIYA.id && actionElements(a.blocks).some((e) => e.action_id === 'sponsor_confirm'),
    );
    const accept = actionElements(ask.args.blocks).find((e) => e.action_id === 'sponsor_confirm')!;
    expect((await postSlack(roster.baseUrl, interaction(buttonClick(PRIYA.id, 'sponsor_confirm', String(accept.value))))).status).toBe(200);
    await eventually(async () => (await roster.services.agents.get(asAgentId(agentId)))?.sponsors.includes(PRIYA.email));
    await commandsOf(roster.services).submitEvaluation(people.liam, agentId, passingEvaluation(org, 'kb-answerer'));
    const run = (await roster.services.agents.get(asAgentId(agentId)))!.requestRunId;
    await commandsOf(roster.services).decide('noah.fischer@brightwater.example', { runId: run, stepId: 'approvals', decision: 'approve' });
    await commandsOf(roster.services).decide(people.liam, { runId: run, stepId: 'approvals', decision: 'approve' });
    await eventually(async () => (await roster.services.agents.get(asAgentId(agentId)))?.credentials.length === 1);

    // The key went out once, to Grace, and Slack refused it; Priya (a sponsor) is told, with Issue a new key.
    const refused = slack.calls.find(
      (c) => c.method === 'chat.postMessage' && c.args.channel === GRACE.id && KEY.test(JSON.stringify(c.args)),
    );
    expect(refused).toBeDefined();
    const oldKey = KEY.exec(JSON.stringify(refused!.args))![0];
    const notice = await slack.waitFor(
      'chat.postMessage',
      (a) => a.channel === PRIYA.id && actionElements(a.blocks).some((e) => e.action_id === 'agent_key_reissue'),
    );
    expect(JSON.stringify(notice.args.blocks)).toContain('telemetry key was not delivered');
    const trail = await roster.services.audit.export({ agentId: asAgentId(agentId) });
    expect(trail.find((e) => e.action === 'credential.delivery-failed')?.details).toMatchObject({ recipient: people.grace });
    expect(JSON.stringify(trail)).not.toContain(oldKey);
    expect(JSON.stringify(logged.lines())).not.toContain(oldKey);

    const reissue = actionElements(notice.args.blocks).find((e) => e.action_id === 'agent_key_reissue')!;
    const click = await postSlack(
      roster.baseUrl,
      interaction(buttonClick(PRIYA.id, 'agent_key_reissue', String(reissue.value), slack.responseUrl('reissue'))),
    );
    expect(click.status).toBe(200);
    const answer = JSON.stringify((await slack.waitForResponse('reissue')).body);
    const newKey = KEY.exec(answer)![0];
    expect(newKey).not.toBe(oldKey);
    expect(answer).toContain('shown only to you');
    // Only in the private answer: never posted to a channel or logged.
    expect(slack.calls.some((c) => JSON.stringify(c.args).includes(newKey))).toBe(false);
    expect(JSON.stringify(logged.lines())).not.toContain(newKey);

    expect((await postTelemetry(roster.baseUrl, newKey, 's1')).status).toBe(200);
    expect((await postTelemetry(roster.baseUrl, oldKey, 's2')).status).toBe(401);
    const reissues = (await roster.services.audit.export({ agentId: asAgentId(agentId) })).filter(
      (e) => e.action === 'credential.reissued',
    );
    expect(reissues).toHaveLength(1);
    expect(reissues[0]!.actor).toMatchObject({ email: PRIYA.email });
  }, 60_000);
});

describe('agent keys: Rotate key on the profile in Teams and Slack', () => {
  let slack: FakeSlack;
  let connector: FakeConnector;
  let roster: TeamsTestRoster['roster'];
  let teams: TeamsClient;
  let stop: () => Promise<void>;
  const logged = memoryLogger('debug');

  beforeAll(async () => {
    slack = new FakeSlack();
    await slack.start();
    ({
      roster,
      connector,
      client: teams,
      stop,
    } = await startTeamsTestRoster({
      env: slack.rosterEnv(),
      channels: [createSlackChannel, createTeamsChannel],
      log: logged.log,
      settings: { keyRotationGrace: { text: '3s', ms: GRACE_MS } },
    }));
  });
  afterAll(async () => {
    await stop?.();
    await slack.stop();
  });

  const telemetry = (key: string, eventId: string) => postTelemetry(roster.baseUrl, key, eventId);
  const user = (email: string): TeamsUser => teamsUser(roster.chat.person(email)!);
  const logText = () => JSON.stringify(logged.lines());

  it('Teams: Rotate key on the profile shows a new key once; the old one works for the grace period, then is refused with an alert', async () => {
    const liam = user(people.liam); // IT admin
    const amara = user(people.amara); // neither sponsor nor IT admin
    for (const u of [liam, amara]) expect((await teams.install(u)).status).toBe(200);
    const id = newAgentId();
    const { key: oldKey, credential } = issueTelemetryKey(id, new Date());
    await roster.services.agents.insert(
      agentRecord({ id, name: 'Rotating Bot', sponsors: [people.tom], businessUnit: 'customer-support', credentials: [credential] }),
    );

    connector.reset();
    await teams.message(amara, `show ${id}`);
    const theirs = FakeConnector.card(connector.posts(amara.conversationId).at(-1));
    expect(cardVerbs(theirs)).not.toContain('agent_key_rotate');
    const forged = await teams.execute(amara, 'agent_key_rotate', { agentId: id });
    expect(cardText(forged.card)).not.toMatch(KEY);

    await teams.message(liam, `show ${id}`);
    const profile = FakeConnector.card(connector.posts(liam.conversationId).at(-1));
    const rotated = await teams.execute(liam, 'agent_key_rotate', button(profile, 'agent_key_rotate').data!);
    const newKey = KEY.exec(cardText(rotated.card))![0];
    expect(cardText(rotated.card)).toContain('keeps working until');

    expect((await telemetry(newKey, 'r1')).status).toBe(200);
    expect((await telemetry(oldKey, 'r2')).status).toBe(200); // within the grace period
    await eventually(async () => (await telemetry(oldKey, `r-${Date.now()}`)).status === 401, 15_000);
    const refused = await telemetry(oldKey, 'r3');
    expect(await refused.json()).toMatchObject({ error: 'key_rotated_out' });
    const [alert] = await roster.services.supervision.alertRepo.list({ agentId: id, kind: 'retired-key' });
    expect(alert?.summary).toContain('rotated out');
    expect((await telemetry(newKey, 'r4')).status).toBe(200);
    // The token endpoint takes the same keys as client secrets: the rotated-out one gets invalid_client.
    const token = (secret: string) => postForm(`${roster.baseUrl}/oauth/token`, { grant_type: 'client_credentials' }, { id, secret });
    const oldToken = await token(oldKey);
    expect(oldToken.status).toBe(401);
    expect(oldToken.body).toMatchObject({ error: 'invalid_client' });
    const newToken = await token(newKey);
    expect(newToken.status).toBe(200);
    expect(typeof newToken.body.access_token).toBe('string');
    const entry = (await roster.services.audit.export({ agentId: id })).find((e) => e.action === 'credential.rotated');
    expect(entry).toMatchObject({ actor: { email: people.liam }, details: { graceMs: GRACE_MS } });
    expect(JSON.stringify(entry)).not.toContain(newKey);
  }, 60_000);

  it('Slack: Rotate key on the profile answers the sponsor privately with the new key', async () => {
    const id = newAgentId();
    const { key: oldKey, credential } = issueTelemetryKey(id, new Date());
    await roster.services.agents.insert(
      agentRecord({ id, name: 'Slack Rotated', sponsors: [PRIYA.email], businessUnit: 'customer-support', credentials: [credential] }),
    );
    const shown = await postSlack(roster.baseUrl, slashCommand(PRIYA.id, `show ${id}`, slack.responseUrl('show')));
    expect(shown.status).toBe(200);
    const profile = await slack.waitForResponse('show');
    const rotate = actionElements(profile.body.blocks).find((b) => b.action_id === 'agent_key_rotate');
    expect(rotate).toBeDefined();
    const click = await postSlack(
      roster.baseUrl,
      interaction(buttonClick(PRIYA.id, 'agent_key_rotate', String(rotate!.value), slack.responseUrl('rotate'))),
    );
    expect(click.status).toBe(200);
    const answer = await slack.waitForResponse('rotate');
    expect(answer.body.response_type).toBe('ephemeral');
    const newKey = KEY.exec(JSON.stringify(answer.body.blocks))![0];
    expect(newKey).not.toBe(oldKey);
    expect((await telemetry(newKey, 's1')).status).toBe(200);
    expect((await telemetry(oldKey, 's2')).status).toBe(200); // the grace period
    // The key was only in the private answer: never in a message posted through the Web API, never in the log.
    expect(JSON.stringify(slack.calls)).not.toContain(newKey);
    expect(logText()).not.toContain(newKey);
  }, 30_000);
});
