import { teamsTestRosterPerSuite } from '../helpers/app.js';
import { FakeConnector } from '../helpers/fake-connector.js';
import { agentRecord, eventually } from '../helpers/harness.js';
import { button, cardText, cardVerbs } from '../channels/teams/card-reading.js';
import { teamsUser } from '../channels/teams/teams-client.js';
import { asAgentId } from '../helpers/ids.js';

const grace = 'grace.liu@brightwater.example'; // a sponsor here: the requester
const noah = 'noah.fischer@brightwater.example'; // the other sponsor: approves

describe('Teams: access request → approve → active grant → expiry notice, in Teams alone', () => {
  const suite = teamsTestRosterPerSuite();

  beforeAll(async () => {
    const agent = agentRecord({
      id: asAgentId('agt_fedcba9876543210'),
      name: 'Docs Helper',
      catalogRoleId: 'kb-answerer',
      sponsors: [grace, noah],
      businessUnit: 'engineering',
      purpose: 'Answers engineering how-to questions.',
    });
    await suite.roster.services.agents.insert(agent);
  });

  it('plain words request the access; the other sponsor approves from the card; the grant expires and both sponsors hear it', async () => {
    const { roster, connector, client } = suite;
    const person = (email: string) => roster.chat.person(email)!;
    const me = teamsUser(person(grace));
    const approver = teamsUser(person(noah));
    for (const u of [me, approver]) {
      expect((await client.install(u)).status).toBe(200);
      expect((await client.membersAdded(u)).status).toBe(200);
    }

    connector.reset();
    expect((await client.message(me, 'access Docs Helper web:search 3s read vendor documentation')).status).toBe(200);
    const replies = connector.posts(me.conversationId).map((p) => cardText(FakeConnector.card(p)));
    expect(replies.some((t) => t.includes('Access requested: web:search for Docs Helper, 3 seconds'))).toBe(true);
    expect(replies.some((t) => t.includes('Waiting for approval from Noah Fischer'))).toBe(true);

    const approvalPost = await eventually(() =>
      connector.posts(approver.conversationId).find((p) => cardVerbs(FakeConnector.card(p)).includes('approval_approve')),
    );
    const approvalCard = FakeConnector.card(approvalPost);
    expect(cardText(approvalCard)).toContain('web:search');
    const decided = await client.execute(approver, 'approval_approve', button(approvalCard, 'approval_approve').data!, {
      replyToId: approvalPost.createdId!,
    });
    expect(decided.status).toBe(200);
    // The invoke answers once the decision is stored; the other cards and the run's next steps follow through the outbox.
    await roster.services.outbox.idle();

    const [grant] = await roster.services.grants.listForAgent(asAgentId('agt_fedcba9876543210'));
    expect(grant).toMatchObject({ scope: 'web:search', status: 'active', approvedBy: [noah], requestedBy: grace });
    await eventually(() =>
      connector.posts(me.conversationId).some((p) => cardText(FakeConnector.card(p)).includes('Docs Helper has web:search for 3 seconds')),
    );

    for (const sponsor of [me, approver]) {
      await eventually(() =>
        connector
          .posts(sponsor.conversationId)
          .some((p) => cardText(FakeConnector.card(p)).includes("Docs Helper's access to web:search expired")),
      );
    }
    expect((await roster.services.grants.get(grant!.id))?.status).toBe('expired');
  }, 60_000);
});

describe('Teams: break-glass revoked from the security review card', () => {
  const suite = teamsTestRosterPerSuite();

  it('a sponsor uses break-glass by typing; security revokes it with the card button in Teams', async () => {
    const { roster, connector, client } = suite;
    await roster.services.agents.insert(
      agentRecord({
        id: asAgentId('agt_0123456789abcdef'),
        name: 'Pager Helper',
        catalogRoleId: 'kb-answerer',
        sponsors: [noah],
        businessUnit: 'engineering',
        purpose: 'Helps on-call.',
      }),
    );
    const sponsor = teamsUser(roster.chat.person(noah)!);
    const security = teamsUser(roster.chat.person(grace)!);
    for (const u of [sponsor, security]) await client.install(u);
    connector.reset();
    expect((await client.message(sponsor, 'break-glass Pager Helper web:search production incident 4711')).status).toBe(200);
    const [grant] = (await roster.services.grants.listForAgent(asAgentId('agt_0123456789abcdef'))).filter((g) => g.scope === 'web:search');
    expect(grant?.status).toBe('active');

    const review = connector
      .posts(security.conversationId)
      .map((p) => FakeConnector.card(p))
      .find((c) => cardVerbs(c).includes('grant_revoke'));
    expect(review).toBeDefined();
    const clicked = await client.execute(security, 'grant_revoke', button(review, 'grant_revoke').data!);
    expect(clicked.status).toBe(200);
    await eventually(async () => (await roster.services.grants.get(grant!.id))?.status === 'revoked');
    expect(cardText(clicked.card)).not.toContain('That button no longer works');
  }, 60_000);
});
