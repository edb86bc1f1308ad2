import path from 'node:path';
import { loadEvalSuites, type EvalSuites } from '../../src/config/eval-suites.js';
import { loadOrgConfig } from '../../src/config/org-config.js';
import { FakeAgent, KB_ANSWERER_ALL_RIGHT, type Behaviour } from '../helpers/fake-agent.js';
import { eventually, people, SHIPPED_CONFIG, startHarness, type Harness } from '../helpers/harness.js';
import { projectRoot } from '../helpers/roster-process.js';
import { commandsOf } from '../helpers/commands.js';
import { asAgentId } from '../helpers/ids.js';

const org = loadOrgConfig(SHIPPED_CONFIG);
const e2e = loadEvalSuites(path.join(projectRoot, 'test/fixtures/evals/e2e'), org).get('kb-answerer')!;
/** The acceptance suite, re-run every 1.5 s instead of the role's 30-day cadence. */
const suites: EvalSuites = new Map([['kb-answerer', { ...e2e, rerunEveryMs: 1500 }]]);

/** Every case right: accuracy 1.0 at admission. */
const GOOD = KB_ANSWERER_ALL_RIGHT;
/** Later, four answers go wrong: 6 of 10. */
const WORSE: Record<string, Behaviour> = {
  ...GOOD,
  'How do I reset my VPN token?': { output: 'Reboot.' },
  'What is the minimum password length?': { output: 'Eight.' },
  'How do I add the office printer?': { output: 'Ask a colleague.' },
  'Where do I park?': { output: 'Anywhere.' },
};

describe('scheduled re-interviews feed check-ins with measured accuracy', () => {
  const behaviours: Record<string, Record<string, Behaviour>> = { '/live': GOOD };
  let agent: FakeAgent;
  let base: string;
  let h: Harness;
  beforeAll(async () => {
    agent = new FakeAgent(behaviours);
    base = await agent.start();
  });
  afterAll(async () => {
    await agent.stop();
  });
  afterEach(async () => {
    await h?.close();
  });

  it('Agenda re-runs the suite on its cadence; the check-in holds the latest measured accuracy against admission and degrades', async () => {
    h = await startHarness({ suites, evaluation: { progressEveryMs: 0, rerunEvery: '1 second' } });
    const { evaluations, agents, engine, audit } = h.services;
    const commands = commandsOf(h.services);
    const { agentId, run: request } = await commands.requestAgent(people.amara, {
      roleId: 'kb-answerer',
      name: 'Handbook Helper',
      purpose: 'Answers how-to questions from the handbook.',
      businessUnit: 'people-ops',
      sponsors: [people.amara],
    });
    await evaluations.registerEndpoint(people.amara, asAgentId(agentId), undefined, { kind: 'http', url: `${base}/live` });
    const admission = await evaluations.start(people.amara, { agentId: asAgentId(agentId), purpose: 'request' });
    // The measured verdict passes the gate, then the run moves on to the approvals (an outbox effect).
    await eventually(async () => ((await engine.get(request.id)).steps.approvals?.status === 'waiting' ? true : undefined), 30_000);
    expect((await engine.get(request.id)).steps.evaluation?.status).toBe('passed');
    const admitted = await h.services.bus.execute(h.services.bus.person(people.amara), {
      type: 'evaluation.show',
      evalRunId: admission.id,
    });
    expect(admitted.run.metrics!.accuracy).toBe(1);

    // The agent changes for the worse before it starts work; nothing re-runs until it is active.
    behaviours['/live'] = WORSE;
    await commands.decide(people.sofia, { runId: request.id, stepId: 'approvals', decision: 'approve' });
    await commands.decide(people.liam, { runId: request.id, stepId: 'approvals', decision: 'approve' });
    // Activation is an effect of the completed run, performed after the decision is stored.
    await eventually(async () => ((await agents.get(asAgentId(agentId)))?.status === 'active' ? true : undefined), 30_000);
    expect((await agents.get(asAgentId(agentId)))!.status).toBe('active');

    // Agenda's sweep starts re-runs by itself; wait for one to finish.
    const db = h.db.connection.collection('eval_runs');
    await eventually(
      async () => ((await db.countDocuments({ agentId, purpose: 'rerun', status: 'completed' })) > 0 ? true : undefined),
      30_000,
    );
    // Hold the scheduler still so the newest re-run is the one the check-in reads.
    await h.scheduler.stop();
    await eventually(() => evaluations.activeCount === 0 || undefined, 30_000);
    const reruns = await db.find({ agentId, purpose: 'rerun' }).toArray();
    const newest = reruns
      .filter((r) => r.status === 'completed')
      .sort((a, b) => String(b.startedAt).localeCompare(String(a.startedAt)))[0]!;
    expect(newest).toMatchObject({ version: '1.0.0', suiteHash: e2e.hash, metrics: { accuracy: 0.6, cases: 10 } });
    expect(newest.requester).toBeUndefined();
    const started = (await audit.export({ agentId: asAgentId(agentId) })).filter((e) => e.action === 'evaluation.started');
    expect(started.find((e) => e.details.purpose === 'rerun')?.actor).toEqual({ kind: 'system', name: 'evaluation' });
    // The sponsors get the re-run's verdict, measured by Roster.
    const rerunVerdict = h.notifier
      .to(people.amara, 'evaluation-verdict')
      .find((n) => (n.card.data as { measured?: { evalRunId?: string } }).measured?.evalRunId === String(newest._id));
    expect(rerunVerdict?.card.data).toMatchObject({ source: 'measured', passed: false });

    const record = await h.services.supervision.checkins.run(asAgentId(agentId));
    expect(record.measured).toEqual({
      evalRunId: String(newest._id),
      accuracy: 0.6,
      cases: 10,
      at: newest.finishedAt,
      suiteHash: e2e.hash,
      baseline: { accuracy: 1, source: 'measured', evalRunId: admission.id },
    });
    const finding = record.findings.find((f) => f.metric === 'measured-accuracy');
    expect(finding).toMatchObject({ severity: 'degraded', threshold: 0.05 });
    expect(finding!.statistic).toBeCloseTo(0.4, 9);
    expect(finding!.summary).toBe("measured accuracy fell from 1.000 at admission to 0.600 (−0.400) when Roster re-ran the role's suite");
    expect(record.verdict).toBe('degraded');
    expect(record.recommendation).toBe('retrain');
    // Telemetry alone would have said nothing: the agent sent none. The measured drop moved it to probation.
    expect((await agents.get(asAgentId(agentId)))!.status).toBe('probation');
    const alerts = await h.services.supervision.alertRepo.list({ agentId: asAgentId(agentId) });
    expect(alerts.find((a) => a.kind === 'drift')?.severity).toBe('critical');

    const card = h.notifier.to(people.amara, 'checkin').at(-1)!.card.data as {
      metrics: Array<{ metric: string; baseline: string; current: string }>;
      measuredLabel?: string;
      verdict: string;
    };
    expect(card.verdict).toBe('degraded');
    expect(card.metrics).toContainEqual({ metric: 'Accuracy measured by Roster', baseline: '1.000', current: '0.600' });
    expect(card.measuredLabel).toMatch(/^accuracy 0\.600 on 10 cases, re-run \d+ \w+ \d{4} \(admitted at 1\.000\)$/);
    const completed = (await audit.export({ agentId: asAgentId(agentId) })).find((e) => e.action === 'checkin.completed');
    expect(completed?.details).toMatchObject({
      verdict: 'degraded',
      measured: { evalRunId: String(newest._id), accuracy: 0.6, baseline: 1 },
    });
  }, 90_000);
});
