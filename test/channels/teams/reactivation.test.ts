import { startTeamsTestRoster, type TeamsTestRoster } from '../../helpers/app.js';
import { FakeConnector } from '../../helpers/fake-connector.js';
import { agentRecord, degradedCheckIn, eventually } from '../../helpers/harness.js';
import { button, cardText, cardVerbs, inputIds } from './card-reading.js';
import { teamsUser } from './teams-client.js';
import { commandsOf } from '../../helpers/commands.js';
import { asAgentId } from '../../helpers/ids.js';

const NOAH = 'noah.fischer@brightwater.example'; // sponsor of the suspended agents
const LIAM = 'liam.oneill@brightwater.example'; // it-admin
const FATIMA = 'fatima.ndiaye@brightwater.example'; // finance: may not see engineering's agents

describe('Teams: Reactivate a suspended agent (typed and from the profile button), approved by a sponsor and an IT admin', () => {
  let t: TeamsTestRoster;
  beforeAll(async () => {
    t = await startTeamsTestRoster();
  });
  afterAll(async () => {
    await t?.stop();
  });

  const suspended = (id: string, name: string) =>
    agentRecord({
      id: asAgentId(id),
      name,
      catalogRoleId: 'kb-answerer',
      sponsors: [NOAH],
      businessUnit: 'engineering',
      status: 'suspended',
      suspendedFrom: 'active',
    });

  it('typed: the warning about a degraded check-in reaches the approvers; an outsider learns nothing', async () => {
    const { roster, connector, client } = t;
    await roster.services.agents.insert(suspended('agt_aaaa0000bbbb1111', 'Pager Helper'));
    const checkIn = degradedCheckIn('chk_degraded0001', 'agt_aaaa0000bbbb1111');
    const plain = 'Accuracy fell from 93% to 71% over 14 days; this is very unlikely to be chance.';
    await roster.services.supervision.checkinRepo.save({ ...checkIn, findings: checkIn.findings.map((f) => ({ ...f, plain })) });
    const outsider = teamsUser(roster.chat.person(FATIMA)!);
    const sponsor = teamsUser(roster.chat.person(NOAH)!);
    for (const u of [outsider, sponsor]) await client.install(u);
    connector.reset();

    expect((await client.message(outsider, 'reactivate agt_aaaa0000bbbb1111 it is fine')).status).toBe(200);
    const refused = connector.posts(outsider.conversationId).map((p) => cardText(FakeConnector.card(p)));
    expect(refused.join(' ')).not.toContain('Pager Helper');
    expect(await roster.services.runs.list({ agentId: asAgentId('agt_aaaa0000bbbb1111'), flowId: 'reactivation' })).toEqual([]);

    expect((await client.message(sponsor, 'reactivate agt_aaaa0000bbbb1111 the retrieval index was rebuilt')).status).toBe(200);
    const [run] = await roster.services.runs.list({ agentId: asAgentId('agt_aaaa0000bbbb1111'), flowId: 'reactivation' });
    expect(run?.context).toMatchObject({ restoreTo: 'active', lastCheckInVerdict: 'degraded' });
    expect(String(run?.context.justification)).toContain('DEGRADED');
    // Approvers read the finding in plain words, not its statistics.
    expect(String(run?.context.justification)).toContain(plain);
    await commandsOf(roster.services).decide(NOAH, { runId: run!.id, stepId: 'sponsor-approval', decision: 'approve' });
    await commandsOf(roster.services).decide(LIAM, { runId: run!.id, stepId: 'it-approval', decision: 'approve' });
    await eventually(async () => (await roster.services.agents.get(asAgentId('agt_aaaa0000bbbb1111')))?.status === 'active');
  }, 60_000);

  it('the Reactivate button on the profile opens the reason prompt in place and starts the approvals', async () => {
    const { roster, connector, client } = t;
    await roster.services.agents.insert(suspended('agt_cccc0000dddd2222', 'Docs Helper'));
    const sponsor = teamsUser(roster.chat.person(NOAH)!);
    await client.install(sponsor);
    connector.reset();
    expect((await client.message(sponsor, 'show agt_cccc0000dddd2222')).status).toBe(200);
    const profile = connector
      .posts(sponsor.conversationId)
      .map((p) => FakeConnector.card(p))
      .find((c) => cardVerbs(c).includes('agent_reactivate'));
    expect(profile).toBeDefined();
    const prompt = await client.execute(sponsor, 'agent_reactivate', button(profile, 'agent_reactivate').data!);
    expect(inputIds(prompt.card)).toEqual(['text']);
    const submit = button(prompt.card, 'prompt_submit');
    const done = await client.execute(sponsor, 'prompt_submit', { ...submit.data, text: 'Upstream API fixed.' });
    expect(cardText(done.card)).toContain('Reactivation of Docs Helper requested');
    const [run] = await roster.services.runs.list({ agentId: asAgentId('agt_cccc0000dddd2222'), flowId: 'reactivation' });
    expect(run).toMatchObject({ status: 'waiting', requester: NOAH });
    expect((await roster.services.agents.get(asAgentId('agt_cccc0000dddd2222')))?.status).toBe('suspended');
  }, 60_000);
});
