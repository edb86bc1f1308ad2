import { loadOrgConfig } from '../../src/config/org-config.js';
import { startTestRoster } from '../helpers/app.js';
import { uniqueDbName } from '../helpers/db.js';
import { eventually, FAST_FLOWS, passingEvaluation, people, SHIPPED_CONFIG } from '../helpers/harness.js';
import { commandsOf } from '../helpers/commands.js';
import { asAgentId } from '../helpers/ids.js';

type Roster = Awaited<ReturnType<typeof startTestRoster>>;

const org = loadOrgConfig(SHIPPED_CONFIG);
const ROLE = 'kb-answerer'; // low risk: the engineering approver and an IT admin
const NOAH = 'noah.fischer@brightwater.example'; // approver:engineering
const ACCEPTED_REFUSALS = new Set(['already_decided', 'not_waiting', 'request_closed']);

/** Runs `work` over `items` with at most `limit` in flight. */
async function pool<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await work(items[i]!, i);
      }
    }),
  );
  return out;
}

async function requestAndEvaluate(roster: Roster, name: string) {
  const { run, agentId } = await commandsOf(roster.services).requestAgent(people.grace, {
    roleId: ROLE,
    name,
    purpose: 'Answers engineering how-to questions from the handbook.',
    businessUnit: 'engineering',
    sponsors: [people.grace],
    justification: 'Saves the platform team hours each week.',
  });
  await commandsOf(roster.services).submitEvaluation(people.liam, agentId, passingEvaluation(org, ROLE));
  return { runId: run.id, agentId };
}

describe('concurrency', () => {
  it('50 runs approved by every approver at once (200 clicks in flight): each run completes once, the audit chain holds', async () => {
    const roster = await startTestRoster();
    try {
      const runs = await pool(
        Array.from({ length: 50 }, (_, i) => `Crowd Agent ${i}`),
        8,
        (name) => requestAndEvaluate(roster, name),
      );
      // Each run: the engineering approver and both IT admins approve, and the approver clicks twice.
      const clicks = runs.flatMap(({ runId }) => [NOAH, people.liam, people.aisha, NOAH].map((by) => ({ runId, by })));
      const outcomes = await Promise.allSettled(
        clicks.map(({ runId, by }) => commandsOf(roster.services).decide(by, { runId, stepId: 'approvals', decision: 'approve' })),
      );
      const unexpected = outcomes.filter(
        (o) => o.status === 'rejected' && !ACCEPTED_REFUSALS.has(String((o.reason as { code?: string }).code)),
      );
      expect(unexpected).toEqual([]);

      const settled = async () => {
        const stuck = [];
        for (const { runId } of runs) {
          const r = await roster.services.runs.get(runId);
          if (r?.status !== 'completed') stuck.push({ runId, status: r?.status, onboard: r?.steps.onboard });
        }
        return stuck;
      };
      await eventually(async () => (await settled()).length === 0, 30_000).catch(() => undefined);
      expect(await settled()).toEqual([]);
      for (const { runId, agentId } of runs) {
        const run = (await roster.services.runs.get(runId))!;
        const decisions = run.steps.approvals!.decisions!;
        expect(new Set(decisions.map((d) => d.by)).size).toBe(decisions.length);
        expect(decisions.map((d) => d.by)).toContain(NOAH);
        expect((await roster.services.agents.get(asAgentId(agentId)))?.status).toBe('active');
        const trail = await roster.services.audit.export({ agentId: asAgentId(agentId) });
        expect(trail.filter((e) => e.action === 'agent.onboarded')).toHaveLength(1);
        expect(trail.filter((e) => e.action === 'run.completed')).toHaveLength(1);
        expect(trail.filter((e) => e.action === 'credential.issued')).toHaveLength(1);
        expect(trail.filter((e) => e.action === 'decision.approve')).toHaveLength(decisions.length);
        const role = org.catalog.find((r) => r.id === ROLE)!;
        expect(await roster.services.grants.listForAgent(asAgentId(agentId))).toHaveLength(role.defaultScopes.length);
      }
      expect(await roster.services.audit.verify()).toMatchObject({ ok: true });
    } finally {
      await roster.stop();
    }
  }, 120_000);

  it('two Rosters on one database: each check-in sweep, grant expiry and flow expiry runs exactly once', async () => {
    const dbName = uniqueDbName('twins');
    const a = await startTestRoster({ dbName, flowsDir: FAST_FLOWS });
    const b = await startTestRoster({ dbName, flowsDir: FAST_FLOWS });
    const completed: Record<string, number> = {};
    for (const r of [a, b])
      r.scheduler.agenda.on('complete', (job: { attrs: { name: string } }) => {
        completed[job.attrs.name] = (completed[job.attrs.name] ?? 0) + 1;
      });
    try {
      // Two runs left waiting expire (the fast flows expire approvals after 5 s), once each.
      const waiting = [await requestAndEvaluate(a, 'Twin Waiter 1'), await requestAndEvaluate(b, 'Twin Waiter 2')];
      // One agent onboarded, for the sweep and the grant expiry.
      const active = await requestAndEvaluate(a, 'Twin Active');
      await commandsOf(a.services).decide(NOAH, { runId: active.runId, stepId: 'approvals', decision: 'approve' });
      await commandsOf(b.services).decide(people.liam, { runId: active.runId, stepId: 'approvals', decision: 'approve' });
      await eventually(async () => (await a.services.agents.get(asAgentId(active.agentId)))?.status === 'active');
      const [grant] = await a.services.grants.listForAgent(asAgentId(active.agentId));
      expect(grant).toBeDefined();

      // Make the grant due, its expiry job and the sweep due now, on the shared database.
      const db = a.db.connection.db!;
      await db
        .collection('grants')
        .updateOne({ _id: grant!.id as never }, { $set: { expiresAt: new Date(Date.now() - 60_000).toISOString() } });
      const jobs = db.collection('agendaJobs');
      const past = new Date(Date.now() - 1000);
      await jobs.updateMany({ name: 'checkins.sweep' }, { $set: { nextRunAt: past } });
      // Catalog defaults last a year; a time-bound grant's expiry is this same stored job.
      await a.scheduler.agenda.schedule(past, 'grants.expire', { grantId: grant!.id });

      await eventually(
        async () => (await a.services.grants.listForAgent(asAgentId(active.agentId))).find((g) => g.id === grant!.id)?.status === 'expired',
      );
      await eventually(async () =>
        (await a.services.audit.export({ agentId: asAgentId(active.agentId) })).some((e) => e.action === 'checkin.completed'),
      );
      for (const w of waiting) await eventually(async () => (await a.services.runs.get(w.runId))?.status === 'expired', 20_000);
      // Finished for good: both jobs recorded as completed, and neither is running or due again on
      // either process (the sweep's next run is a cadence away, the expiry has none).
      await eventually(async () => {
        if (!completed['checkins.sweep'] || !completed['grants.expire']) return false;
        const now = new Date();
        const busy = await jobs.countDocuments({
          name: { $in: ['checkins.sweep', 'grants.expire'] },
          $or: [{ lockedAt: { $ne: null } }, { nextRunAt: { $lte: now } }],
        });
        return busy === 0;
      }, 20_000);
      // Their effects (audit entries among them) are done once the records' outboxes are empty.
      const outboxEmpty = async (collection: string, id: string) =>
        ((await db.collection(collection).findOne({ _id: id as never }))?.outbox as unknown[] | undefined)?.length === 0;
      await eventually(async () => {
        for (const w of waiting) if (!(await outboxEmpty('flow_runs', w.runId))) return false;
        return outboxEmpty('grants', grant!.id);
      }, 20_000);

      expect(await a.db.connection.db!.collection('agendaJobs').countDocuments({ name: 'checkins.sweep' })).toBe(1);
      expect(completed['checkins.sweep']).toBe(1);
      expect(completed['grants.expire']).toBe(1);
      const activeTrail = await a.services.audit.export({ agentId: asAgentId(active.agentId) });
      expect(activeTrail.filter((e) => e.action === 'checkin.completed')).toHaveLength(1);
      expect(activeTrail.filter((e) => e.action === 'grant.expired' && e.details.scope === grant!.scope)).toHaveLength(1);
      for (const w of waiting) {
        const trail = await a.services.audit.export({ agentId: asAgentId(w.agentId) });
        expect(trail.filter((e) => e.action === 'run.expired')).toHaveLength(1);
        expect(trail.filter((e) => e.action === 'agent.rejected')).toHaveLength(1);
      }
      expect(await a.services.audit.verify()).toMatchObject({ ok: true });
    } finally {
      await a.stop();
      await b.stop();
    }
  }, 60_000);
});
