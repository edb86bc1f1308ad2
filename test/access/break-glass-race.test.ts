import { findPersonByEmail } from '../../src/config/directory.js';
import type { OrgConfig } from '../../src/config/schemas.js';
import { agentRecord, errorOf, FAST_FLOWS, grantRecord, people, startHarness, type Harness } from '../helpers/harness.js';
import { asGrantId, asRunId } from '../helpers/ids.js';
import { commandsOf } from '../helpers/commands.js';

/*
 * Issue 15 item 3: break-glass uses racing each other. Several people breaking glass for one scope
 * of one agent at the same moment: exactly one is granted (before, all of them could be refused,
 * so nobody got through in an emergency) and each of the others is told who came first. The caps
 * hold under a race too, count uses stored before claims existed, and a scope whose break-glass
 * grant ended may be broken again (its claim is taken over), until the cap says no.
 */

const priya = 'priya.raman@brightwater.example';
const name = (h: Harness, email: string) => findPersonByEmail(h.org, email)!.name;

describe('break-glass uses racing for one scope (embedded database, the access service)', () => {
  let h: Harness;
  afterEach(async () => {
    await h?.close();
  });

  const agentOf = async (h: Harness, sponsors: string[], agentName = 'Handbook Helper') => {
    const agent = agentRecord({
      name: agentName,
      catalogRoleId: 'kb-answerer',
      businessUnit: 'engineering',
      sponsors,
      requestRunId: asRunId('run_none'),
    });
    await h.services.agents.insert(agent);
    return agent;
  };

  it('five people at once, one scope: exactly one grant, the other four refused naming who came first', async () => {
    h = await startHarness({ flows: FAST_FLOWS });
    const racers = [people.tom, priya, people.daniel, people.liam, people.aisha];
    const agent = await agentOf(h, racers);
    const attempts = await Promise.allSettled(
      racers.map((email) =>
        commandsOf(h.services).breakGlass(email, { agentId: agent.id, scope: 'kb:read', reason: `Handbook search is down (${email}).` }),
      ),
    );

    const granted = attempts.flatMap((a) => (a.status === 'fulfilled' ? [a.value.grant] : []));
    expect(granted).toHaveLength(1);
    const winner = granted[0]!;
    expect(winner.status).toBe('active');
    const stored = await h.services.grants.listForAgent(agent.id);
    expect(stored.map((g) => [g.id, g.status])).toEqual([[winner.id, 'active']]);

    const refusals = attempts.flatMap((a) => (a.status === 'rejected' ? [a.reason as { code: string; userMessage: string }] : []));
    expect(refusals).toHaveLength(4);
    for (const refusal of refusals) {
      expect(refusal.code).toBe('duplicate');
      expect(refusal.userMessage).toContain(name(h, winner.requestedBy));
      expect(refusal.userMessage).toContain('kb:read');
    }
    expect((await h.services.audit.export({ agentId: agent.id })).filter((e) => e.action === 'grant.break-glass')).toHaveLength(1);
  }, 60_000);

  it('the per-agent cap under a race: with room for one use, two scopes at once give one grant and a cap refusal', async () => {
    const capOne = (org: OrgConfig): OrgConfig => ({
      ...org,
      settings: { ...org.settings, breakGlassLimits: { ...org.settings.breakGlassLimits, perAgent: 1 } },
    });
    h = await startHarness({ flows: FAST_FLOWS, org: capOne });
    const agent = await agentOf(h, [people.liam, people.aisha]);
    const attempts = await Promise.allSettled([
      commandsOf(h.services).breakGlass(people.liam, { agentId: agent.id, scope: 'kb:read', reason: 'Handbook search is down.' }),
      commandsOf(h.services).breakGlass(people.aisha, { agentId: agent.id, scope: 'web:search', reason: 'Search is down too.' }),
    ]);
    expect(attempts.filter((a) => a.status === 'fulfilled')).toHaveLength(1);
    const [refused] = attempts.flatMap((a) => (a.status === 'rejected' ? [a.reason as { code: string; userMessage: string }] : []));
    expect(refused).toMatchObject({ code: 'forbidden', userMessage: expect.stringContaining('the most allowed') });
    expect((await h.services.grants.listForAgent(agent.id)).filter((g) => g.status === 'active')).toHaveLength(1);
  }, 60_000);

  it('a scope whose break-glass grant ended may be broken again until the cap, which counts uses stored before claims', async () => {
    h = await startHarness({ flows: FAST_FLOWS });
    const agent = await agentOf(h, [people.liam, people.aisha]);
    const first = await commandsOf(h.services).breakGlass(people.liam, { agentId: agent.id, scope: 'kb:read', reason: 'Outage one.' });
    expect(first.grant.status).toBe('active');
    await commandsOf(h.services).revokeGrant(people.liam, first.grant.id, 'The outage is over.');
    const second = await commandsOf(h.services).breakGlass(people.aisha, { agentId: agent.id, scope: 'kb:read', reason: 'Outage two.' });
    expect(second.grant.status).toBe('active');
    await commandsOf(h.services).revokeGrant(people.aisha, second.grant.id, 'Over again.');
    // Two uses in the window: the default cap (2) refuses a third, whoever asks.
    expect(
      await errorOf(commandsOf(h.services).breakGlass(people.liam, { agentId: agent.id, scope: 'kb:read', reason: 'Outage three.' })),
    ).toMatchObject({ code: 'forbidden', userMessage: expect.stringContaining('used break-glass 2 times') });

    // Uses stored without claims (before this release) count as well.
    const other = await agentOf(h, [people.liam], 'Handbook Helper Classic');
    const now = new Date().toISOString();
    await h.services.grants.insertMany(
      ['a', 'b'].map((k) =>
        grantRecord(other.id, 'web:search', {
          id: asGrantId(`grt_old_${k}_${other.id}`),
          source: 'break-glass',
          status: 'expired',
          createdAt: now,
        }),
      ),
    );
    expect(
      await errorOf(commandsOf(h.services).breakGlass(people.liam, { agentId: other.id, scope: 'kb:read', reason: 'Outage four.' })),
    ).toMatchObject({ code: 'forbidden', userMessage: expect.stringContaining('used break-glass 2 times') });
  }, 60_000);
});
