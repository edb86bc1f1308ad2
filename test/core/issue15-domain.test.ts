import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseChatCommand } from '../../src/channels/chat.js';
import { newAgentId, type AgentRecord } from '../../src/core/agents.js';
import { createAgentRepository, createGrantRepository } from '../../src/store/agent-store.js';
import { createRunRepository } from '../../src/store/run-store.js';
import {
  agentRecord,
  completedRunRecord,
  errorOf,
  eventually,
  FAST_FLOWS,
  grantRecord,
  ownerlessAgent,
  people,
  SHIPPED_FLOWS,
  startHarness,
  type Harness,
} from '../helpers/harness.js';
import { asGrantId } from '../helpers/ids.js';
import { commandsOf } from '../helpers/commands.js';

/*
 * Service-level checks of issue 15 items 3, 4 and 9 where the rule is clearer than through a
 * chat surface: racing break-glass uses, an expiring retirement, self-nominated sponsors, prompts
 * that would have named the agent, "DPO approval on record", and lists that must not be cut.
 */

describe('issue 15: domain rules at the service level (embedded database)', () => {
  let h: Harness;
  afterEach(async () => {
    await h?.close();
  });

  /** A harness with an agent nobody sponsors, its open ownerless alert, and the chat service people act through. */
  const ownerless = async (overrides: Partial<AgentRecord> = {}) => {
    h = await startHarness();
    const chat = h.chat;
    const { agent, alert } = await ownerlessAgent(h, { ...overrides, sponsors: [] });
    return { chat, agent, alert };
  };

  it('ten break-glass uses racing each other: the per-agent cap (2) holds, the rest are refused and stored as denied', async () => {
    h = await startHarness({ flows: FAST_FLOWS });
    const agent = agentRecord({ catalogRoleId: 'kb-answerer', businessUnit: 'engineering', sponsors: [people.liam, people.aisha] });
    await h.services.agents.insert(agent);
    const attempts = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        commandsOf(h.services).breakGlass(i % 2 ? people.liam : people.aisha, {
          agentId: agent.id,
          scope: i % 3 ? 'web:search' : 'kb:read',
          reason: `outage number ${i}`,
        }),
      ),
    );
    const stored = await h.services.grants.listForAgent(agent.id);
    const granted = stored.filter((g) => g.status === 'active');
    expect(granted.length).toBeLessThanOrEqual(2);
    // A use refused after it was stored is denied, never left pending (a pending grant would block its scope).
    expect(stored.filter((g) => g.status !== 'active').map((g) => g.status)).toEqual(
      stored.filter((g) => g.status !== 'active').map(() => 'denied'),
    );
    expect(new Set(granted.map((g) => g.scope)).size).toBe(granted.length);
    expect(attempts.filter((a) => a.status === 'fulfilled')).toHaveLength(granted.length);
  }, 60_000);

  it('a retirement nobody signs off in time expires and gives the agent back its previous status', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'roster-flows-'));
    for (const file of readdirSync(SHIPPED_FLOWS)) copyFileSync(path.join(SHIPPED_FLOWS, file), path.join(dir, file));
    const file = path.join(dir, 'retirement.yaml');
    writeFileSync(
      file,
      readFileSync(file, 'utf8')
        .replace('remindAfter: 1d', 'remindAfter: 1s')
        .replace('escalateAfter: 3d', 'escalateAfter: 2s')
        .replace('expiresAfter: 14d', 'expiresAfter: 3s'),
    );
    h = await startHarness({ flows: dir });
    rmSync(dir, { recursive: true, force: true });
    const agent = agentRecord({ status: 'probation' });
    await h.services.agents.insert(agent);
    const run = await h.services.retirement.start(h.services.engine, people.tom, { agentId: agent.id, reason: 'obsolete now' });
    expect((await h.services.agents.get(agent.id))?.status).toBe('retiring');
    await eventually(async () => (await h.services.engine.get(run.id)).status === 'expired', 60_000);
    await eventually(async () => (await h.services.agents.get(agent.id))?.status === 'probation');
    // The status change's audit entry is an outbox effect, appended after the status is stored.
    const statusChanges = async () =>
      (await h.services.audit.export({ agentId: agent.id })).filter((e) => e.action === 'agent.status-changed');
    await eventually(async () => (await statusChanges()).some((e) => e.details?.to === 'probation'));
    const changes = await statusChanges();
    expect(changes.at(-1)?.details).toMatchObject({ from: 'retiring', to: 'probation' });
  }, 90_000);

  it('taking an ownerless agent yourself waits for another IT admin; the alert stays open until then', async () => {
    const { chat, agent, alert } = await ownerless();
    const liam = chat.person(people.liam)!;
    const outcome = await chat.actions.submit(liam, 'alert_assign_sponsor', { alertId: alert.id }, { sponsor: people.liam });
    expect(outcome.followUp?.data).toMatchObject({ title: 'Waiting for an IT admin' });
    const pending = (await h.services.agents.get(agent.id))!;
    expect(pending.sponsors).toEqual([]);
    expect(pending.proposedSponsors?.map((p) => p.email)).toEqual([people.liam]);
    expect((await h.services.supervision.alertRepo.get(alert.id))?.status).not.toBe('resolved');

    // Liam cannot confirm himself; Aisha (another IT admin) got the card and confirms.
    const proposalId = pending.proposedSponsors![0]!.id;
    expect(await errorOf(chat.actions.click(liam, 'sponsor_confirm', { agentId: agent.id, proposalId }))).toMatchObject({
      code: 'separation_of_duties',
    });
    const [card] = h.notifier.to(people.aisha, 'notice').filter((n) => String(n.card.data.title).includes('Confirm Liam'));
    expect(card).toBeDefined();
    await chat.actions.click(chat.person(people.aisha)!, 'sponsor_confirm', { agentId: agent.id, proposalId });
    expect((await h.services.agents.get(agent.id))?.sponsors).toEqual([people.liam]);
    expect((await h.services.supervision.alertRepo.get(alert.id))?.status).toBe('resolved');
  }, 30_000);

  it('an IT admin confirming a self-nominated sponsor by typing `sponsor confirm` closes the ownerless alert too', async () => {
    const { chat, agent, alert } = await ownerless({ name: 'Typed Confirm' });
    await chat.actions.submit(chat.person(people.liam)!, 'alert_assign_sponsor', { alertId: alert.id }, { sponsor: people.liam });
    expect((await h.services.supervision.alertRepo.get(alert.id))?.status).not.toBe('resolved');
    const reply = await chat.run(chat.person(people.aisha)!, parseChatCommand(`sponsor confirm ${agent.id} ${people.liam}`));
    expect(reply.card).toMatchObject({ kind: 'notice', data: { title: 'Sponsorship of Typed Confirm confirmed' } });
    expect((await h.services.agents.get(agent.id))?.sponsors).toEqual([people.liam]);
    expect((await h.services.supervision.alertRepo.get(alert.id))?.status).toBe('resolved');
  }, 30_000);

  it('a profile offers Accept / Decline to a person someone else named as sponsor, not to one who named themselves', async () => {
    h = await startHarness();
    const chat = h.chat;
    const at = new Date().toISOString();
    const agent = agentRecord({
      name: 'Named Helper',
      proposedSponsors: [
        { id: 'sp_named0001', email: people.liam, by: people.tom, at },
        { id: 'sp_self00001', email: people.aisha, by: people.aisha, at },
      ],
    });
    await h.services.agents.insert(agent);
    const buttonsFor = async (email: string) => {
      const reply = await chat.run(chat.person(email)!, { name: 'show', agent: agent.id });
      return ((reply.card?.data as { actions?: Array<{ action: string }> }).actions ?? []).map((a) => a.action);
    };
    expect(await buttonsFor(people.liam)).toEqual(expect.arrayContaining(['sponsor_confirm', 'sponsor_decline']));
    expect(await buttonsFor(people.aisha)).not.toContain('sponsor_confirm');
    await chat.actions.click(chat.person(people.liam)!, 'sponsor_confirm', { agentId: agent.id });
    expect((await h.services.agents.get(agent.id))?.sponsors).toEqual([people.tom, people.liam]);
    expect(await buttonsFor(people.liam)).not.toContain('sponsor_confirm');
  }, 30_000);

  it('a prompt submitted by someone who may not open it is refused before it can be shown again naming the agent', async () => {
    const { chat, agent, alert } = await ownerless({ name: 'Secret Drafter' });
    const daniel = chat.person(people.daniel)!;
    const refused = await errorOf(chat.actions.submit(daniel, 'alert_assign_sponsor', { alertId: alert.id }, { sponsor: '' }));
    expect(refused.code).toBe('forbidden');
    expect(refused.userMessage).not.toContain('Secret Drafter');
    const viaProfile = await errorOf(chat.run(daniel, { name: 'show', agent: agent.id }));
    expect(viaProfile.code).toBe('not_found');
    expect(viaProfile.userMessage).not.toContain('Secret Drafter');
  }, 30_000);

  it('"DPO approval on record" is an approval of the DPO review for that agent, not any DPO approval', async () => {
    h = await startHarness();
    const agent = agentRecord();
    await h.services.agents.insert(agent);
    await h.services.grants.insertMany([grantRecord(agent.id, 'crm:read')]);
    // The DPO approving something else about the agent (here a retirement-like decision of another flow) does not count.
    await h.services.audit.append({
      actor: { kind: 'person', email: people.elena },
      action: 'decision.approve',
      subject: { type: 'agent', id: agent.id, agentId: agent.id },
      details: { runId: 'run_other', flow: 'retraining-promotion', step: 'approvals' },
    });
    const gapOf = async () =>
      (await h.services.bus.execute(h.services.bus.person(people.marcus), { type: 'compliance.report' })).gaps.some(
        (g) => g.kind === 'pii-scope-without-dpo-approval' && g.agentId === agent.id,
      );
    expect(await gapOf()).toBe(true);
    await h.services.audit.append({
      actor: { kind: 'person', email: people.elena },
      action: 'decision.approve',
      subject: { type: 'agent', id: agent.id, agentId: agent.id },
      details: { runId: 'run_dpo', flow: 'dpo-review', step: 'dpo-approval' },
    });
    expect(await gapOf()).toBe(false);
  }, 30_000);

  it('lists are read page by page: more agents, grants and runs than one page, none cut', async () => {
    h = await startHarness();
    const agents = createAgentRepository(h.db.connection, { pageSize: 7 });
    const grants = createGrantRepository(h.db.connection, { pageSize: 7 });
    const runs = createRunRepository(h.db.connection, { pageSize: 7 });
    const at = (i: number) => new Date(Date.UTC(2025, 0, 1, 0, 0, Math.floor(i / 3))).toISOString(); // ties on purpose
    const made = Array.from({ length: 23 }, (_, i) => agentRecord({ id: newAgentId(), name: `Bulk ${i}`, createdAt: at(i) }));
    for (const a of made) await agents.insert(a);
    expect((await agents.list({})).map((a) => a.id).sort()).toEqual(made.map((a) => a.id).sort());
    expect(await agents.list({ limit: 10 })).toHaveLength(10);
    await grants.insertMany(
      made.map((a, i) =>
        grantRecord(a.id, 'kb:read', {
          id: asGrantId(`${a.id}:kb:read`),
          reason: 'bulk',
          approvedBy: [],
          source: 'default',
          createdAt: at(i),
        }),
      ),
    );
    expect(await grants.list({ status: ['active'] })).toHaveLength(23);
    for (let i = 0; i < 16; i++) {
      await runs.create(completedRunRecord(`run_bulk_${i}`, made[0]!.id, at(i)));
    }
    expect(await runs.list({ agentId: made[0]!.id })).toHaveLength(16);
  }, 60_000);
});
