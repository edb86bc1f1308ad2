import mongoose from 'mongoose';
import { issueTelemetryKey } from '../../src/core/agents.js';
import { onAccessWrite } from '../../src/store/access-writes.js';
import { createAgentRepository, createGrantRepository } from '../../src/store/agent-store.js';
import { liveAccessReader } from '../../src/store/live-access-store.js';
import { createBoundaryChangeRepository } from '../../src/store/runtime-store.js';
import type { BoundaryChangeRecord } from '../../src/core/boundary-changes.js';
import { openTestDb, type TestDb } from '../helpers/db.js';
import { agentRecord, grantRecord } from '../helpers/harness.js';
import { asAgentId } from '../helpers/ids.js';

/*
 * The agent API remembers agents, their grants and boundary changes for a moment and forgets them
 * at every write this process makes (src/store/access-writes.ts). A write that did not tell would
 * leave a revoked grant, a suspended agent or a forbidden action usable here until the cache
 * lifetime ran out: every writing method of the three repositories is exercised here, and a method
 * added to them must be classed as reader or writer.
 */
const AGENT_READERS = ['ensureIndexes', 'get', 'findByName', 'list', 'listPages', 'search', 'findByKeyHash'];
const AGENT_WRITERS = ['insert', 'transition', 'update', 'answerSponsorship', 'proposeSponsor', 'addFirstCredential', 'replaceCredentials'];
const GRANT_READERS = ['ensureIndexes', 'holdersOf', 'listForAgent', 'get', 'list'];
const GRANT_WRITERS = ['insertMany', 'insert', 'transition', 'markReminded', 'answerReview'];
const BOUNDARY_READERS = ['ensureIndexes', 'get', 'forAction', 'latestApproved', 'approvedFor', 'pendingExcept'];
const BOUNDARY_WRITERS = ['insert', 'update'];

/** A boundary change of an agent's action, as a sponsor asks for it. */
const boundaryChange = (agentId: string, id: string, to: BoundaryChangeRecord['to'], createdAt: string): BoundaryChangeRecord => ({
  id,
  agentId: asAgentId(agentId),
  agentName: 'Told Agent',
  action: 'contracts.modify',
  actionTitle: 'Modify a contract',
  from: 'needs-approval',
  to,
  reason: 'Asked for in a test of the access listeners.',
  requestedBy: 'maya.chen@brightwater.example',
  status: 'pending',
  deciders: ['liam.oneill@brightwater.example'],
  createdAt,
});

describe('writes to agents, grants and boundary changes tell the access listeners of their connection', () => {
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
    expect(Object.keys(createBoundaryChangeRepository(db.connection)).sort()).toEqual([...BOUNDARY_READERS, ...BOUNDARY_WRITERS].sort());
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

    const changes = createBoundaryChangeRepository(db.connection);
    const change = boundaryChange(agent.id, 'bch_told_1', 'forbidden', new Date().toISOString());
    expect(await heard(() => changes.insert(change))).toEqual([agent.id]);
    expect(await heard(() => changes.update(change.id, { status: 'pending' }, { status: 'approved' }))).toEqual([agent.id]);
    expect(await heard(() => changes.update(change.id, { status: 'pending' }, { status: 'denied' }))).toEqual([undefined]);

    // A failed write tells too: it may have changed the document before failing.
    await expect(heard(() => agents.insert(agent))).rejects.toThrow();
    expect(told).toEqual([agent.id]);

    for (const read of [
      () => agents.get(agent.id),
      () => agents.findByName(agent.businessUnit, agent.name),
      () => agents.list({}),
      async () => {
        for await (const page of agents.listPages({})) expect(page.length).toBeGreaterThan(0);
      },
      () => agents.findByKeyHash(credential.hash),
      () => grants.listForAgent(agent.id),
      () => grants.get(grant.id),
      () => grants.list({ agentIds: [agent.id] }),
      () => grants.holdersOf('kb:read'),
      () => liveAccessReader(db.connection)(agent.id),
      () => changes.get(change.id),
      () => changes.forAction(agent.id, change.action),
      () => changes.latestApproved(agent.id, change.action),
      () => changes.approvedFor(agent.id),
      () => changes.pendingExcept('nobody@brightwater.example'),
    ])
      expect(await heard(read)).toEqual([]);

    // Listeners of another connection hear nothing; a stopped listener hears nothing.
    const elsewhere: Array<string | undefined> = [];
    const stopElsewhere = onAccessWrite(mongoose.createConnection(), (agentId) => elsewhere.push(agentId));
    expect(await heard(() => agents.update(agent.id, { purpose: 'Once more.' }))).toEqual([agent.id]);
    expect(elsewhere).toEqual([]);
    stopElsewhere();
    stop();
    expect(await heard(() => agents.update(agent.id, { purpose: 'Again.' }))).toEqual([]);
  });

  it('reads an agent with all its grants and its approved boundary changes at once, as the repositories read them one by one', async () => {
    const agents = createAgentRepository(db.connection);
    const grants = createGrantRepository(db.connection);
    const changes = createBoundaryChangeRepository(db.connection);
    const agent = agentRecord({ name: 'Read Together', status: 'active' });
    await agents.insert(agent);
    await grants.insertMany([grantRecord(agent.id, 'kb:read'), grantRecord(agent.id, 'crm:read', { status: 'revoked' })]);
    await grants.insertMany([grantRecord(agentRecord({ name: 'Someone Else' }).id, 'kb:read')]);
    const older = { ...boundaryChange(agent.id, 'bch_read_1', 'forbidden', '2030-01-01T00:00:00.000Z'), status: 'approved' as const };
    const newer = { ...boundaryChange(agent.id, 'bch_read_2', 'autonomous', '2030-01-02T00:00:00.000Z'), status: 'approved' as const };
    await changes.insert(older);
    await changes.insert(newer);
    await changes.insert(boundaryChange(agent.id, 'bch_read_3', 'needs-approval', '2030-01-03T00:00:00.000Z'));

    const read = await liveAccessReader(db.connection)(agent.id);
    const byId = <T extends { id: string }>(list: T[]) => [...list].sort((a, b) => a.id.localeCompare(b.id));
    expect(read?.agent).toEqual(await agents.get(agent.id));
    expect(byId(read?.grants ?? [])).toEqual(byId(await grants.listForAgent(agent.id)));
    expect(byId(read?.boundaries ?? [])).toEqual(
      byId(await changes.approvedFor(agent.id)).map(({ id, action, to, createdAt }) => ({ id, action, to, createdAt })),
    );
    expect(read?.boundaries.map((b) => b.id).sort()).toEqual(['bch_read_1', 'bch_read_2']);
    expect(await liveAccessReader(db.connection)(asAgentId('agt_ffffffffffffffff'))).toBeUndefined();
  });
});
