import { issueTelemetryKey } from '../../src/core/agents.js';
import { onAccessWrite } from '../../src/store/access-writes.js';
import { agentWithGrantsReader, createAgentRepository, createGrantRepository } from '../../src/store/agent-store.js';
import { openTestDb, type TestDb } from '../helpers/db.js';
import { agentRecord, grantRecord } from '../helpers/harness.js';

/*
 * The agent API remembers agents and their grants for a moment and forgets them at every write this
 * process makes (src/store/access-writes.ts). A write that did not tell would leave a revoked grant
 * or a suspended agent usable here until the cache lifetime ran out: every writing method of both
 * repositories is exercised here, and a method added to them must be classed as reader or writer.
 */
const AGENT_READERS = ['ensureIndexes', 'get', 'findByName', 'list', 'search', 'findByKeyHash'];
const AGENT_WRITERS = ['insert', 'transition', 'update', 'answerSponsorship', 'proposeSponsor', 'addFirstCredential', 'replaceCredentials'];
const GRANT_READERS = ['ensureIndexes', 'holdersOf', 'listForAgent', 'get', 'list'];
const GRANT_WRITERS = ['insertMany', 'insert', 'transition', 'markReminded', 'answerReview'];

describe('writes to agents and grants tell the access listeners of their connection', () => {
  let db: TestDb;
  beforeAll(async () => {
    db = await openTestDb('access_writes');
  });
  afterAll(async () => {
    await db.close();
  });

  it('every method is classed: a new one must say whether it writes', () => {
    expect(Object.keys(createAgentRepository(db.connection)).sort()).toEqual([...AGENT_READERS, ...AGENT_WRITERS].sort());
    expect(Object.keys(createGrantRepository(db.connection)).sort()).toEqual([...GRANT_READERS, ...GRANT_WRITERS].sort());
  });

  it('each writer tells which agent it changed (any agent when it cannot say), each reader tells nothing', async () => {
    const agents = createAgentRepository(db.connection);
    const grants = createGrantRepository(db.connection);
    await Promise.all([agents.ensureIndexes(), grants.ensureIndexes()]);
    const told: Array<string | undefined> = [];
    const stop = onAccessWrite(db.connection, (agentId) => told.push(agentId));
    const heard = async (write: () => Promise<unknown>) => {
      told.length = 0;
      await write();
      return [...told];
    };

    const agent = agentRecord({ name: 'Told Agent', status: 'active' });
    const { credential } = issueTelemetryKey(agent.id, new Date());
    const grant = grantRecord(agent.id, 'kb:read', { review: { cycle: 'q1', dueAt: new Date().toISOString() } });
    const other = grantRecord(agent.id, 'crm:read');

    const writes: Record<string, () => Promise<unknown>> = {
      insert: () => agents.insert(agent),
      transition: () => agents.transition(agent.id, 'active', 'suspended'),
      update: () => agents.update(agent.id, { purpose: 'Changed.' }),
      proposeSponsor: () =>
        agents.proposeSponsor(agent.id, {
          id: 'sp_0a1b',
          email: 'new.sponsor@brightwater.example',
          by: agent.sponsors[0]!,
          at: new Date().toISOString(),
        }),
      answerSponsorship: () => agents.answerSponsorship(agent.id, 'new.sponsor@brightwater.example', true),
      addFirstCredential: () => agents.addFirstCredential(agent.id, credential),
      replaceCredentials: () => agents.replaceCredentials(agent.id, [credential.id], ['suspended'], []),
    };
    for (const name of AGENT_WRITERS) expect({ name, told: await heard(writes[name]!) }).toEqual({ name, told: [agent.id] });

    expect(await heard(() => grants.insertMany([grant]))).toEqual([agent.id]);
    expect(await heard(() => grants.insert(other))).toEqual([agent.id]);
    expect(await heard(() => grants.transition(other.id, ['active'], { status: 'revoked' }))).toEqual([agent.id]);
    // Nothing changed (already revoked): the agent is not known from the grant, so any agent may be concerned.
    expect(await heard(() => grants.transition(other.id, ['active'], { status: 'revoked' }))).toEqual([undefined]);
    expect(await heard(() => grants.markReminded(grant.id, 86_400_000))).toEqual([undefined]);
    expect(
      await heard(() => grants.answerReview(grant.id, 'q1', { answer: 'keep', by: agent.sponsors[0]!, at: new Date().toISOString() })),
    ).toEqual([undefined]);

    // A failed write tells too: it may have changed the document before failing.
    await expect(heard(() => agents.insert(agent))).rejects.toThrow();
    expect(told).toEqual([agent.id]);

    for (const read of [
      () => agents.get(agent.id),
      () => agents.findByName(agent.businessUnit, agent.name),
      () => agents.list({}),
      () => agents.findByKeyHash(credential.hash),
      () => grants.listForAgent(agent.id),
      () => grants.get(grant.id),
      () => grants.list({ agentIds: [agent.id] }),
      () => grants.holdersOf('kb:read'),
      () => agentWithGrantsReader(db.connection)(agent.id),
    ])
      expect(await heard(read)).toEqual([]);

    // Listeners of another connection hear nothing; a stopped listener hears nothing.
    stop();
    expect(await heard(() => agents.update(agent.id, { purpose: 'Again.' }))).toEqual([]);
  });

  it('reads an agent with all its grants at once, as the two repositories read them one by one', async () => {
    const agents = createAgentRepository(db.connection);
    const grants = createGrantRepository(db.connection);
    const agent = agentRecord({ name: 'Read Together', status: 'active' });
    await agents.insert(agent);
    await grants.insertMany([grantRecord(agent.id, 'kb:read'), grantRecord(agent.id, 'crm:read', { status: 'revoked' })]);
    await grants.insertMany([grantRecord(agentRecord({ name: 'Someone Else' }).id, 'kb:read')]);
    const read = await agentWithGrantsReader(db.connection)(agent.id);
    expect(read?.agent).toEqual(await agents.get(agent.id));
    expect(read?.grants.sort((a, b) => a.id.localeCompare(b.id))).toEqual(
      (await grants.listForAgent(agent.id)).sort((a, b) => a.id.localeCompare(b.id)),
    );
    expect(await agentWithGrantsReader(db.connection)('agt_ffffffffffffffff')).toBeUndefined();
  });
});
