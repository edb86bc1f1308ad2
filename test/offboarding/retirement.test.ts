import { newAgentId, sha256, type AgentRecord } from '../../src/core/agents.js';
import { startTestRoster } from '../helpers/app.js';
import { agentRecord, agentWithTelemetryKey, eventually, grantRecord, people } from '../helpers/harness.js';
import { commandsOf } from '../helpers/commands.js';
import { asGrantId } from '../helpers/ids.js';

type Roster = Awaited<ReturnType<typeof startTestRoster>>;
const MARCUS = 'marcus.johnson@brightwater.example'; // compliance

describe('retirement with a successor (embedded database, scheduler running, telemetry over HTTP)', () => {
  let roster: Roster;
  beforeAll(async () => {
    roster = await startTestRoster();
  });
  afterAll(async () => {
    await roster.stop();
  });

  async function agent(name: string, sponsors: string[], withKey = false): Promise<{ record: AgentRecord; key?: string }> {
    const overrides = { name, sponsors, purpose: 'Answers tickets.', complianceTags: ['gdpr'] };
    if (withKey) {
      const { agent: record, key } = await agentWithTelemetryKey(roster.services.agents, overrides);
      return { record, key };
    }
    const record = agentRecord(overrides);
    await roster.services.agents.insert(record);
    return { record };
  }

  it('collects sign-offs, revokes every grant and key, retires, archives with a verifying digest and hands over', async () => {
    const { services } = roster;
    const { record: old, key } = await agent('Ticket Bot v1', [people.tom], true);
    const { record: successor } = await agent('Ticket Bot v2', ['priya.raman@brightwater.example']);
    await services.grants.insertMany(
      ['kb:read', 'tickets:read'].map((scope) =>
        grantRecord(old.id, scope, {
          id: asGrantId(`${old.id}:${scope}:default`),
          reason: 'default',
          approvedBy: [people.liam],
          source: 'default',
        }),
      ),
    );
    await services.bus.execute(services.bus.person(people.tom), {
      type: 'agent.note.add',
      agentId: old.id,
      kind: 'failure-mode',
      text: 'Mixes up refund and credit policies for EU customers.',
    });
    await expect(
      services.bus.execute(services.bus.person(people.daniel), { type: 'agent.note.add', agentId: old.id, text: 'not my agent' }),
    ).rejects.toMatchObject({ code: 'forbidden' });

    // Who may retire it is the rule of the command every door gives: Priya sees it but does not
    // sponsor it; Daniel may not even see it, so he is told it does not exist.
    const retire = { type: 'agent.retire', agent: old.id, reason: 'obsolete' } as const;
    await expect(services.bus.execute(services.bus.person('priya.raman@brightwater.example'), retire)).rejects.toMatchObject({
      code: 'forbidden',
    });
    await expect(services.bus.execute(services.bus.person(people.daniel), retire)).rejects.toMatchObject({ code: 'not_found' });
    const run = await services.retirement.start(services.engine, people.tom, {
      agentId: old.id,
      successorId: successor.id,
      reason: 'Obsolete: v2 covers every task.',
    });
    expect(run.status).toBe('waiting');
    expect((await services.agents.get(old.id))?.status).toBe('retiring');
    expect(run.steps.signoffs!.groups!.map((g) => g.role)).toEqual(['sponsors', 'compliance', 'it-admin']);

    await commandsOf(services).decide(people.tom, { runId: run.id, stepId: 'signoffs', decision: 'approve' });
    await commandsOf(services).decide(MARCUS, { runId: run.id, stepId: 'signoffs', decision: 'approve' });
    expect((await services.agents.get(old.id))?.status).toBe('retiring');
    const done = await commandsOf(services).decide(people.aisha, { runId: run.id, stepId: 'signoffs', decision: 'approve' });
    expect(done.status).toBe('completed');

    const retired = (await services.agents.get(old.id))!;
    expect(retired.status).toBe('retired');
    expect(retired.successorId).toBe(successor.id);
    expect(retired.credentials.every((k) => k.revokedAt)).toBe(true);
    expect((await services.grants.listForAgent(old.id)).map((g) => g.status)).toEqual(['revoked', 'revoked']);
    const heir = (await services.agents.get(successor.id))!;
    expect(heir.predecessorId).toBe(old.id);
    expect(heir.knowledgeNotes.map((n) => n.text)).toEqual(['Mixes up refund and credit policies for EU customers. (from Ticket Bot v1)']);

    const archive = await services.retirement.archive(old.id);
    expect(archive.verified).toBe(true);
    expect(archive.digest).toBe(sha256(archive.bundle));
    const bundle = JSON.parse(archive.bundle) as Record<string, unknown>;
    expect(Object.keys(bundle).sort()).toEqual([
      'agent',
      'alerts',
      'archivedAt',
      'audit',
      'checkIns',
      'decisionLog',
      'decisions',
      'grants',
      'handover',
      'knowledgeNotes',
      'versions',
    ]);
    expect(bundle.handover).toMatchObject({ successorId: successor.id, recommendedScopes: ['kb:read', 'tickets:read'] });
    // Tampering with the stored bundle is visible.
    await roster.db.connection
      .collection('archives')
      .updateOne({ _id: old.id as never }, { $set: { bundle: archive.bundle.replace('Ticket Bot v1', 'Ticket Bot X') } });
    expect((await services.retirement.archive(old.id)).verified).toBe(false);

    // The old key no longer works, and using it pages on-call: a retired agent that still runs is shadow AI.
    const res = await fetch(`${roster.baseUrl}/api/v1/telemetry`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({
        events: [{ eventId: 'late-1', time: new Date().toISOString(), taskType: 'answer', outcome: 'success', latencyMs: 10, costUSD: 0 }],
      }),
    });
    expect(res.status).toBe(401);
    await eventually(async () => (await services.supervision.alertRepo.list({ agentId: old.id, kind: 'retired-key' })).length === 1);

    const trail = (await services.audit.export({ agentId: old.id })).map((e) => e.action);
    expect(trail).toEqual(
      expect.arrayContaining([
        'knowledge.noted',
        'run.started',
        'agent.status-changed',
        'decision.approve',
        'agent.retired',
        'alert.raised',
      ]),
    );
    expect(await services.audit.verify()).toMatchObject({ ok: true });
  }, 60_000);
});

describe('Retire on a check-in card', () => {
  it('records the choice and starts the retirement flow once', async () => {
    const roster = await startTestRoster();
    try {
      const { AlertCheckInChat } = await import('../../src/channels/chat-alerts-checkins.js');
      const { loadOrgConfig } = await import('../../src/config/org-config.js');
      const { generateEvents } = await import('../helpers/synthetic-telemetry.js');
      const org = loadOrgConfig('config');
      const id = newAgentId();
      const at = new Date(Date.now() - 40 * 86_400_000).toISOString();
      await roster.services.agents.insert(
        agentRecord({ id, name: 'Tired Bot', purpose: 'Answers.', createdAt: at, updatedAt: at, statusChangedAt: at }),
      );
      await roster.services.supervision.telemetry.ingest(
        generateEvents({
          agentId: id,
          profile: 'accuracy-drop',
          days: 30,
          end: new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000),
          driftDays: 14,
        }),
      );
      const record = await roster.services.supervision.checkins.run(id);
      const chat = new AlertCheckInChat(org, roster.services.supervision, roster.services.bus);
      const tom = org.people.find((p) => p.email === people.tom)!;
      await chat.checkInAction(tom, 'checkin_retire', record.id);
      await chat.checkInAction(tom, 'checkin_retire', record.id);
      const runs = await roster.services.runs.list({ agentId: id, flowId: 'retirement' });
      expect(runs).toHaveLength(1);
      expect((await roster.services.agents.get(id))?.status).toBe('retiring');
    } finally {
      await roster.stop();
    }
  }, 60_000);
});
