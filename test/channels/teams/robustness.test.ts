import { loadOrgConfig } from '../../../src/config/org-config.js';
import { createConversationStore } from '../../../src/store/conversation-store.js';
import { startTeamsTestRoster, startTestRoster } from '../../helpers/app.js';
import { FakeConnector } from '../../helpers/fake-connector.js';
import { passingEvaluation, people, SHIPPED_CONFIG } from '../../helpers/harness.js';
import { button, cardText, cardVerbs } from './card-reading.js';
import { TENANT_ID, TeamsClient, teamsUser, type TeamsUser } from './teams-client.js';
import { commandsOf } from '../../helpers/commands.js';
import { asAgentId } from '../../helpers/ids.js';

const noahEmail = 'noah.fischer@brightwater.example'; // approver:engineering

describe('Teams: refusals, repeats, strangers and errors', () => {
  let roster: Awaited<ReturnType<typeof startTestRoster>>;
  let connector: FakeConnector;
  let client: TeamsClient;
  let stop: () => Promise<void>;
  let users: Record<'grace' | 'noah' | 'liam' | 'aisha' | 'amara', TeamsUser>;
  const org = loadOrgConfig(SHIPPED_CONFIG);

  beforeAll(async () => {
    ({ roster, connector, client, stop } = await startTeamsTestRoster());
    const user = (email: string) => teamsUser(roster.chat.person(email)!);
    users = {
      grace: user(people.grace),
      noah: user(noahEmail),
      liam: user(people.liam),
      aisha: user(people.aisha),
      amara: user(people.amara),
    };
    for (const u of Object.values(users)) expect((await client.install(u)).status).toBe(200);
  });
  afterAll(async () => {
    await stop?.();
  });

  /** A low-risk request by Grace with passing evaluation: Noah and an IT admin must approve. */
  async function openRequest(name: string) {
    const { run, agentId } = await commandsOf(roster.services).requestAgent(people.grace, {
      roleId: 'kb-answerer',
      name,
      purpose: 'Answers how-to questions from the wiki.',
      businessUnit: 'engineering',
      sponsors: [people.grace],
      justification: 'Fewer interruptions.',
    });
    await commandsOf(roster.services).submitEvaluation(people.liam, agentId, passingEvaluation(org, 'kb-answerer'));
    return { runId: run.id, agentId };
  }

  /** The last approval card Roster sent this user, with the message id Teams would put in replyToId. */
  function approvalCardOf(u: TeamsUser, agentName: string) {
    const post = connector
      .posts(u.conversationId)
      .filter((c) => cardText(FakeConnector.card(c)).includes(`Approve ${agentName} (`))
      .at(-1);
    if (!post) throw new Error(`no approval card for ${agentName} reached ${u.name}`);
    return { card: FakeConnector.card(post)!, activityId: post.createdId! };
  }

  it('acts once when the same approval arrives twice, and answers the repeat kindly', async () => {
    const { runId, agentId } = await openRequest('Repeat Helper');
    const { card, activityId } = approvalCardOf(users.noah, 'Repeat Helper');
    const data = button(card, 'approval_approve').data!;

    const first = await client.execute(users.noah, 'approval_approve', data, { replyToId: activityId });
    const again = await client.execute(users.noah, 'approval_approve', data, { replyToId: activityId });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ statusCode: 200, type: 'application/vnd.microsoft.card.adaptive' });
    expect(cardText(again.card)).toContain('You have already decided; your decision is recorded below.');
    expect(cardText(again.card)).not.toMatch(/went wrong|Already recorded/);
    expect(cardVerbs(again.card)).toEqual([]);
    expect(cardText(again.card)).toEqual(cardText(first.card));

    const run = await roster.services.runs.get(runId);
    expect(run?.steps.approvals?.decisions?.map((d) => d.by)).toEqual([noahEmail]);
    const decisions = (await roster.services.audit.export({ agentId: asAgentId(agentId) })).filter((e) => e.action.startsWith('decision.'));
    expect(decisions).toHaveLength(1);
  });

  it('refuses an approval by someone who is not an approver, changing nothing', async () => {
    const { runId, agentId } = await openRequest('Outsider Target');
    const { card } = approvalCardOf(users.noah, 'Outsider Target');
    const before = await roster.services.runs.get(runId);
    const auditBefore = (await roster.services.audit.export({ agentId: asAgentId(agentId) })).length;

    // Amara (people-ops, no approver role) replays Noah's button.
    const refused = await client.execute(users.amara, 'approval_approve', button(card, 'approval_approve').data!);
    expect(refused.status).toBe(200);
    expect(cardText(refused.card)).toContain("You can't do that");
    expect(cardText(refused.card)).toContain('Only these approvers can decide this step');
    expect(cardVerbs(refused.card)).toEqual([]);
    // The requester can't approve her own request either.
    const own = await client.execute(users.grace, 'approval_approve', button(card, 'approval_approve').data!);
    expect(cardText(own.card)).toMatch(/can't decide|your own request/i);

    expect(await roster.services.runs.get(runId)).toEqual(before);
    expect((await roster.services.audit.export({ agentId: asAgentId(agentId) })).filter((e) => e.action.startsWith('decision.'))).toEqual(
      [],
    );
    expect((await roster.services.audit.export({ agentId: asAgentId(agentId) })).length).toBe(auditBefore);
  });

  it('asks for a reason before a deny, then denies with it and tells the requester', async () => {
    const { runId, agentId } = await openRequest('Deny Me');
    const { card, activityId } = approvalCardOf(users.liam, 'Deny Me');
    const deny = button(card, 'approval_deny');
    expect(deny.data).toMatchObject({ runId, stepId: 'approvals', reasonInputId: 'reason' });

    const noReason = await client.execute(users.liam, 'approval_deny', { ...deny.data, reason: '   ' }, { replyToId: activityId });
    expect(cardText(noReason.card)).toContain('Give a reason so the requester knows what to change.');
    expect(cardVerbs(noReason.card)).toEqual(['approval_deny']);
    expect((await roster.services.runs.get(runId))?.status).toBe('waiting');

    connector.reset();
    const denied = await client.execute(users.liam, 'approval_deny', {
      ...button(noReason.card, 'approval_deny').data,
      reason: 'Use the existing help-desk bot instead.',
    });
    // The invoke answers once the decision is stored; the other cards and the run's next steps follow through the outbox.
    await roster.services.outbox.idle();
    expect(cardText(denied.card)).toContain('**Denied** by Liam');
    expect(cardText(denied.card)).toContain('Use the existing help-desk bot instead.');
    expect((await roster.services.agents.get(asAgentId(agentId)))?.status).toBe('rejected');
    // Grace's status card was updated in place; Noah's approval card lost its buttons.
    expect(cardText(FakeConnector.card(connector.puts(users.grace.conversationId).at(-1)))).toContain('Denied');
    const noahNow = FakeConnector.card(connector.puts(users.noah.conversationId).at(-1));
    expect(cardText(noahNow)).toContain('**Denied**');
    expect(cardVerbs(noahNow)).toEqual([]);
  });

  it('in a group chat, gives the clicker their view and turns the shared message read-only for everyone else', async () => {
    const { runId } = await openRequest('Group Decision');
    const { card } = approvalCardOf(users.noah, 'Group Decision');
    connector.reset();
    const group = { id: '19:eng-leads@thread.v2', conversationType: 'groupChat', isGroup: true, tenantId: TENANT_ID };
    const res = await client.post({
      ...client.base(users.noah, 'invoke'),
      conversation: group,
      name: 'adaptiveCard/action',
      replyToId: 'shared-card-1',
      value: {
        action: { type: 'Action.Execute', verb: 'approval_approve', data: button(card, 'approval_approve').data },
        trigger: 'manual',
      },
    });
    const mine = (res.body as { value: Record<string, unknown> }).value;
    expect(cardText(mine)).toContain('You have already decided');

    const [shared] = connector.puts(group.id);
    expect(shared?.activityId).toBe('shared-card-1');
    const sharedCard = FakeConnector.card(shared)!;
    expect(cardText(sharedCard)).toContain('Approved by **Noah Fischer**');
    expect(cardText(sharedCard)).toContain('Waiting for a decision from the approvers.');
    expect(cardText(sharedCard)).not.toContain('You have already decided');
    expect(cardVerbs(sharedCard)).toEqual([]);
    expect((sharedCard.refresh as { action: { verb: string; data: unknown } }).action).toMatchObject({
      verb: 'approval_refresh',
      data: { runId },
    });
    // A group chat never becomes anyone's 1:1 conversation.
    expect((await createConversationStore(roster.db.connection).get(users.noah.aadObjectId))?.conversationId).toBe(
      users.noah.conversationId,
    );
  });

  it('refreshes each viewer to their own view: approvers get buttons, the requester read-only, outsiders nothing', async () => {
    const { runId } = await openRequest('Refresh View');
    const { card } = approvalCardOf(users.aisha, 'Refresh View');
    const refresh = card.refresh as { action: { verb: string; data: Record<string, unknown> }; userIds: string[] };
    expect(refresh.action.verb).toBe('approval_refresh');
    // Teams user ids (`from.id` of their activities), not Entra object ids: Teams matches refresh.userIds against those.
    expect(refresh.userIds).toEqual(expect.arrayContaining([users.noah.id, users.liam.id, users.aisha.id]));

    const approver = await client.execute(users.liam, 'approval_refresh', refresh.action.data, { trigger: 'automatic' });
    expect(cardVerbs(approver.card)).toEqual(['approval_approve', 'approval_deny']);
    const requester = await client.execute(users.grace, 'approval_refresh', refresh.action.data, { trigger: 'automatic' });
    expect(cardVerbs(requester.card)).toEqual([]);
    expect(cardText(requester.card)).toContain('You requested this agent, so someone else approves it.');
    // Someone the request does not concern learns nothing from its id.
    const outsider = await client.execute(users.amara, 'approval_refresh', { runId, stepId: 'approvals' });
    expect(cardVerbs(outsider.card)).toEqual([]);
    expect(cardText(outsider.card)).toContain('This request is not addressed to you.');
    expect(cardText(outsider.card)).not.toContain('Refresh View');
  });

  it('answers strangers, unknown words, unknown buttons and errors with a card, never silence', async () => {
    // A Teams user the directory does not know.
    const stranger: TeamsUser = {
      id: '29:stranger',
      name: 'Sam Stranger',
      aadObjectId: '11111111-2222-3333-4444-555555555555',
      conversationId: 'a:stranger',
    };
    connector.reset();
    expect((await client.message(stranger, 'catalog')).status).toBe(200);
    expect(cardText(FakeConnector.card(connector.posts('a:stranger')[0]))).toContain("I don't know you yet");
    const strangerClick = await client.execute(stranger, 'catalog_request', { roleId: 'kb-answerer' });
    expect(cardText(strangerClick.card)).toContain("I don't know you yet");

    // Unknown words get help; an unknown agent is a friendly "not found".
    connector.reset();
    await client.message(users.amara, 'please fire all the robots');
    expect(cardText(FakeConnector.card(connector.posts(users.amara.conversationId)[0]))).toContain("I didn't understand");
    connector.reset();
    await client.message(users.amara, 'show agt_doesnotexist');
    const notFound = cardText(FakeConnector.card(connector.posts(users.amara.conversationId)[0]));
    expect(notFound).toContain('Not found');
    expect(notFound).not.toContain('Something went wrong');

    // A button Roster does not know (an old card) and a form with garbage.
    const old = await client.execute(users.amara, 'approval_escalate_v0', { runId: 'x' });
    expect(cardText(old.card)).toContain('That button no longer works');
    const garbage = await client.execute(users.amara, 'evaluation_submit', { agentId: { $gt: '' }, accuracy: 'lots' });
    expect(garbage.status).toBe(200);
    expect(cardText(garbage.card)).toContain('Not found');
    const noData = await client.post({
      ...client.base(users.amara, 'invoke'),
      name: 'adaptiveCard/action',
      value: { action: { type: 'Action.Execute', verb: 'approval_approve', data: 'not an object' } },
    });
    expect(noData.status).toBe(200);
    expect(cardText((noData.body as { value: unknown }).value)).not.toHaveLength(0);

    // Invokes Roster does not serve are the client's mistake: 400 with a reason, never a 5xx.
    for (const unsupported of [
      { name: 'composeExtension/query', value: { commandId: 'search' } },
      { name: 'task/fetch', value: {} },
      { name: 'adaptiveCard/action', value: { action: { type: 'Action.Submit', verb: 'approval_approve' } } },
    ]) {
      const res = await client.post({ ...client.base(users.amara, 'invoke'), ...unsupported });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ error: 'unsupported_invoke' });
    }
  });

  it('recognises a person by UPN when the directory does not have their AAD object id', async () => {
    // Marcus's account seen with an object id the directory lacks; the connector reports his UPN.
    const marcus: TeamsUser = {
      id: '29:marcus-upn',
      name: 'Marcus Johnson',
      aadObjectId: '99999999-0000-4000-8000-000000000001',
      conversationId: 'a:marcus-upn',
    };
    connector.members.set(marcus.id, { id: marcus.id, name: marcus.name, userPrincipalName: 'Marcus.Johnson@brightwater.example' });
    connector.reset();
    await client.message(marcus, 'help');
    expect(cardText(FakeConnector.card(connector.posts('a:marcus-upn')[0]))).toContain('Hi Marcus');
  });

  it('tells a sender whose look-up failed to try again, and one the connector does not know that it does not know them', async () => {
    // Zoe's object id is not in the directory, so Roster asks the connector who she is.
    const zoe: TeamsUser = {
      id: '29:zoe-upn',
      name: 'Zoe Upn',
      aadObjectId: '99999999-0000-4000-8000-000000000002',
      conversationId: 'a:zoe-upn',
    };
    connector.members.set(zoe.id, { id: zoe.id, name: zoe.name, userPrincipalName: 'Marcus.Johnson@brightwater.example' });
    // The connector failing (not saying "no such member") is no proof she is nobody.
    connector.reset();
    connector.failNext('GET', 503);
    await client.message(zoe, 'help');
    const failed = cardText(FakeConnector.card(connector.posts('a:zoe-upn')[0]));
    expect(failed).toContain('Something went wrong');
    expect(failed).not.toContain("I don't know you yet");
    // Once the connector answers, the same sender is recognised.
    connector.reset();
    await client.message(zoe, 'help');
    expect(cardText(FakeConnector.card(connector.posts('a:zoe-upn')[0]))).toContain('Hi Marcus');
    // A member the connector does not have (its 404) is nobody Roster knows.
    const nobody: TeamsUser = {
      id: '29:nobody',
      name: 'No Body',
      aadObjectId: '99999999-0000-4000-8000-000000000003',
      conversationId: 'a:nobody',
    };
    connector.reset();
    await client.message(nobody, 'help');
    expect(cardText(FakeConnector.card(connector.posts('a:nobody')[0]))).toContain("I don't know you yet");
  });
});
