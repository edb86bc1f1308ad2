import path from 'node:path';
import { loadEvalSuites, type EvalSuites } from '../../src/config/eval-suites.js';
import { loadOrgConfig } from '../../src/config/org-config.js';
import { EndpointError, guardedRequest, HostPolicy } from '../../src/evals/guarded-http.js';
import type { EvalRunRecord } from '../../src/evals/types.js';
import { FakeAgent, KB_ANSWERER_ALL_RIGHT, type Behaviour } from '../helpers/fake-agent.js';
import { errorOf, eventually, people, SHIPPED_CONFIG, startHarness, type Harness } from '../helpers/harness.js';
import { projectRoot } from '../helpers/roster-process.js';
import { evaluationFinished, requestedKbAnswerer } from '../helpers/evaluations.js';
import { asAgentId } from '../helpers/ids.js';

const SUITES = path.join(projectRoot, 'test/fixtures/evals/interview');
const org = loadOrgConfig(SHIPPED_CONFIG);
const suites = loadEvalSuites(SUITES, org);

const MIXED: Record<string, Behaviour> = {
  vpn: { output: 'Reset it in the portal (KB-112).', usage: { inputTokens: 10, outputTokens: 10 } },
  password: { output: 14 },
  capital: { output: 'Paris', costUSD: 0.01 },
  printer: { output: 'Try turning it off and on again.' },
  wifi: { output: { article: 'KB-118', title: 'Wi-Fi' } },
  laptop: { output: 'Encrypted by default, see KB-214.' },
  salary: { output: "I can't help with that.", refused: true },
  customer: { output: 'Customer 4471 bought three lamps.' },
  slow: { output: 'ok', delayMs: 1500 },
  garbage: { raw: 'oops, not json' },
  huge: { bytes: 300_000 },
  redirect: { location: 'http://169.254.169.254/latest/meta-data' },
};
const HANG = Object.fromEntries(Object.keys(MIXED).map((k) => [k, { hang: true } as Behaviour]));
const SLOWISH = Object.fromEntries(Object.entries(MIXED).map(([k, b]) => [k, { output: (b.output as string) ?? 'ok', delayMs: 250 }]));

describe('Roster interviews the candidate: suite runs against an agent on loopback', () => {
  let agent: FakeAgent;
  let base: string;
  let h: Harness;
  beforeAll(async () => {
    agent = new FakeAgent({ '/mixed': MIXED, '/hang': HANG, '/slowish': SLOWISH });
    base = await agent.start();
  });
  afterAll(async () => {
    await agent.stop();
  });
  beforeEach(async () => {
    h = await startHarness({ suites, evaluation: { progressEveryMs: 0, leaseMs: 1500, resumeEvery: '1 second' } });
  });
  afterEach(async () => {
    await h.close();
  });

  it('grades every case, fails each bad answer with its reason, measures the metrics and tells the gate', async () => {
    const agentId = await requestedKbAnswerer(h, 'Handbook Helper');
    await h.services.evaluations.registerEndpoint(people.amara, asAgentId(agentId), undefined, {
      kind: 'http',
      url: `${base}/mixed`,
      secret: 'tok-123',
    });
    const started = await h.services.evaluations.start(people.amara, { agentId: asAgentId(agentId), purpose: 'request' });
    const { run, cases } = await evaluationFinished(h, started.id);

    expect(run.status).toBe('completed');
    const byId = Object.fromEntries(cases.map((c) => [c.caseId, c]));
    expect(cases).toHaveLength(12);
    for (const id of ['right-1', 'right-2', 'exact', 'json', 'regex', 'must-refuse']) expect(byId[id]!.passed).toBe(true);
    expect(byId.wrong!.reason).toMatch(/does not contain "KB-305"/);
    expect(byId['should-refuse']!.reason).toMatch(/answered an out-of-role request/);
    expect(byId.slow!.error).toMatch(/timed out after 1\.0 s/);
    expect(byId['not-json']!.error).toBe('the answer is not JSON');
    expect(byId.oversized!.error).toMatch(/larger than 262144 bytes/);
    expect(byId.redirect!.error).toMatch(/redirects are not followed/);
    // The secret went to the agent as a bearer token.
    expect(agent.calls.find((c) => c.path === '/mixed')?.authorization).toBe('Bearer tok-123');

    const m = run.metrics!;
    expect(m.accuracy).toBeCloseTo(0.5);
    expect(m.mustRefuse).toEqual({ total: 2, refused: 1 });
    expect(m.segments.a!.accuracy).toBe(1);
    expect(m.segments.b!.accuracy).toBe(0.5);
    expect(m.fairness?.ratio).toBeCloseTo(0.5);
    // 20 tokens at $1,000 per million, plus $0.01 reported by the endpoint.
    expect(m.totalCostUSD).toBeCloseTo(0.03, 6);
    expect(m.p95LatencyMs).toBeGreaterThanOrEqual(900);
    expect(run.verdict!.passed).toBe(false);
    expect(run.verdict!.summary).toMatch(/^Measured by Roster on 12 cases/);

    // The gate heard it and still waits; the audit has the suite hash; the requester got the verdict.
    const requestRunId = (await h.services.agents.get(asAgentId(agentId)))!.requestRunId;
    const request = await eventually(async () => {
      const r = await h.services.engine.get(requestRunId);
      return r.steps.evaluation?.attempts?.length ? r : undefined;
    });
    expect(request.status).toBe('waiting');
    expect(request.steps.evaluation!.attempts!.at(-1)!.summary).toMatch(/^Measured by Roster/);
    expect(request.steps.evaluation!.attempts!.at(-1)!.source).toBe('measured');
    // The verdict entered the gate as Roster's, not as the requester's.
    // (Its audit entry is an outbox effect of the stored gate: it follows it.)
    const gateEntry = await eventually(async () =>
      (await h.services.audit.export({ agentId: asAgentId(agentId) })).find((e) => e.action === 'gate.failed'),
    );
    expect(gateEntry?.actor).toEqual({ kind: 'system', name: 'Roster evaluation' });
    expect(gateEntry?.details).toMatchObject({ gate: 'evaluation', source: 'measured' });
    const completed = (await h.services.audit.export({ agentId: asAgentId(agentId) })).find((e) => e.action === 'evaluation.completed');
    expect(completed?.details).toMatchObject({ suiteHash: suites.get('kb-answerer')!.hash, passed: false, cases: 12 });
    const verdict = h.notifier.to(people.amara, 'evaluation-verdict').at(-1)!.card.data as Record<string, unknown>;
    expect(verdict).toMatchObject({ source: 'measured', passed: false, measured: { cases: 12, passedCases: 6, failingCount: 6 } });
    const progress = h.notifier.to(people.amara, 'notice').find((n) => String(n.card.data.title).includes('Handbook Helper'))!;
    expect(progress.card.data.title).toBe('Evaluation of Handbook Helper finished: 12 cases');
    // The secret is stored sealed, never in the clear.
    const stored = await h.db.connection.collection('eval_endpoints').findOne({});
    expect(JSON.stringify(stored)).not.toContain('tok-123');
  }, 60_000);

  it('accepts only hosts IT allows, and never a name that resolves to an internal address', async () => {
    const agentId = await requestedKbAnswerer(h, 'Host Checker');
    for (const url of ['http://10.1.2.3/answer', 'http://example.com/answer', 'file:///etc/passwd', 'http://user:pw@127.0.0.1/x']) {
      const err = await errorOf(
        h.services.evaluations.registerEndpoint(people.amara, asAgentId(agentId), undefined, { kind: 'http', url }),
      );
      expect(err.code).toBe('invalid_input');
    }
    const policy = new HostPolicy(['localhost']);
    const port = new URL(base).port;
    await expect(
      guardedRequest(policy, { url: `http://localhost:${port}/mixed`, body: '{}', signal: AbortSignal.timeout(5000), maxBytes: 1000 }),
    ).rejects.toThrow(/resolves to an internal address/);
    await expect(
      guardedRequest(new HostPolicy(['127.0.0.1']), {
        url: `http://127.0.0.1:1/`,
        body: '{}',
        signal: AbortSignal.timeout(5000),
        maxBytes: 10,
      }),
    ).rejects.toBeInstanceOf(EndpointError);
  });

  it('runs one suite against an agent at a time; cancel ends it, and a new run may start', async () => {
    const agentId = await requestedKbAnswerer(h, 'Hanging Helper');
    await h.services.evaluations.registerEndpoint(people.amara, asAgentId(agentId), undefined, { kind: 'http', url: `${base}/hang` });
    const first = await h.services.evaluations.start(people.amara, { agentId: asAgentId(agentId), purpose: 'request' });
    const again = await errorOf(h.services.evaluations.start(people.amara, { agentId: asAgentId(agentId), purpose: 'request' }));
    expect(again.code).toBe('duplicate');
    expect(again.userMessage).toMatch(/already being evaluated/);
    // Someone unrelated may not cancel it (the rule of the command every door gives).
    const daniel = h.services.bus.person(people.daniel);
    expect((await errorOf(h.services.bus.execute(daniel, { type: 'evaluation.cancel', evalRunId: first.id }))).code).toBe('forbidden');
    const cancelled = await h.services.evaluations.cancel(people.amara, first.id);
    expect(cancelled.status).toBe('cancelled');
    expect(await h.db.connection.collection('eval_runs').countDocuments({ activeKey: agentId })).toBe(0);
    const progress = h.notifier.to(people.amara, 'notice').find((n) => String(n.card.data.title).includes('Hanging Helper'))!;
    expect(progress.card.data.title).toMatch(/cancelled at \d+ of 12 cases/);
    const second = await h.services.evaluations.start(people.amara, { agentId: asAgentId(agentId), purpose: 'request' });
    await h.services.evaluations.cancel(people.amara, second.id);
  }, 30_000);

  it('a hanging agent: the run ends within its budget, every case failed with the reason', async () => {
    const tight: EvalSuites = new Map([['kb-answerer', { ...suites.get('kb-answerer')!, budgetMs: 1500 }]]);
    await h.close();
    h = await startHarness({ suites: tight, evaluation: { progressEveryMs: 0 } });
    const agentId = await requestedKbAnswerer(h, 'Budget Breaker');
    await h.services.evaluations.registerEndpoint(people.amara, asAgentId(agentId), undefined, { kind: 'http', url: `${base}/hang` });
    const started = await h.services.evaluations.start(people.amara, { agentId: asAgentId(agentId), purpose: 'request' });
    const t0 = Date.now();
    const { run, cases } = await evaluationFinished(h, started.id);
    expect(Date.now() - t0).toBeLessThan(8000);
    expect(Date.parse(run.finishedAt!) - Date.parse(run.startedAt)).toBeLessThan(5000);
    expect(cases).toHaveLength(12);
    expect(cases.every((c) => !c.passed && c.error)).toBe(true);
    expect(cases.filter((c) => /timed out after 1\.0 s/.test(c.error!))).toHaveLength(3);
    expect(cases.filter((c) => /budget of 1\.5 s ran out/.test(c.error!)).length).toBe(9);
  }, 30_000);

  it('survives a restart: the run resumes after its last finished case, each case graded once', async () => {
    const agentId = await requestedKbAnswerer(h, 'Restart Proof');
    await h.services.evaluations.registerEndpoint(people.amara, asAgentId(agentId), undefined, { kind: 'http', url: `${base}/slowish` });
    const started = await h.services.evaluations.start(people.amara, { agentId: asAgentId(agentId), purpose: 'request' });
    await eventually(async () =>
      (await h.db.connection.collection('eval_cases').countDocuments({ runId: started.id })) >= 3 ? true : undefined,
    );
    const before = (await h.db.connection.collection('eval_cases').find({ runId: started.id }).toArray()).map((c) => String(c.caseId));
    h = await h.restart();
    const { run, cases } = await evaluationFinished(h, started.id);
    expect(run.status).toBe('completed');
    expect(cases.map((c) => c.caseId).sort()).toEqual(
      suites
        .get('kb-answerer')!
        .cases.map((c) => c.id)
        .sort(),
    );
    const inputs = Object.fromEntries(suites.get('kb-answerer')!.cases.map((c) => [c.id, c.input]));
    for (const id of before) expect(agent.count('/slowish', inputs[id]!)).toBe(1);
    expect((run as EvalRunRecord).done).toBe(12);
  }, 60_000);
});

describe('the end of a run is durable: its effects are stored with it and performed once', () => {
  it('the writer dies right after the verdict is stored: the outbox worker sends the verdict, audits it and tells the gate, once', async () => {
    const agent = new FakeAgent({ '/kb': KB_ANSWERER_ALL_RIGHT });
    const base = await agent.start();
    let verdictsAtCrash: number | undefined;
    const h: Harness = await startHarness({
      suites: loadEvalSuites(path.join(projectRoot, 'test/fixtures/evals/e2e'), org),
      evaluation: { progressEveryMs: 0 },
      outbox: { leaseMs: 500, drainEvery: '1 second' },
      faultPoint: (name) => {
        if (name !== 'evaluation.completed:0' || verdictsAtCrash !== undefined) return;
        verdictsAtCrash = h.notifier.to(people.amara, 'evaluation-verdict').length;
        throw new Error('the writer died after storing the run (test)');
      },
    });
    try {
      const agentId = await requestedKbAnswerer(h, 'Handbook Helper');
      await h.services.evaluations.registerEndpoint(people.amara, asAgentId(agentId), undefined, { kind: 'http', url: `${base}/kb` });
      const started = await h.services.evaluations.start(people.amara, { agentId: asAgentId(agentId), purpose: 'request' });
      const { run } = await evaluationFinished(h, started.id);
      expect(run.status).toBe('completed');

      const requestRunId = (await h.services.agents.get(asAgentId(agentId)))!.requestRunId;
      const gate = await eventually(async () => (await h.services.engine.get(requestRunId)).steps.evaluation?.attempts, 30_000);
      expect(gate).toHaveLength(1);
      expect(gate[0]).toMatchObject({ passed: true, source: 'measured' });
      // Nothing had been sent when the writer died; the worker performed it all, and left nothing behind.
      expect(verdictsAtCrash).toBe(0);
      await eventually(async () => {
        const stored = await h.db.connection.collection('eval_runs').findOne({ _id: started.id as never });
        return (stored?.outbox as unknown[] | undefined)?.length === 0 || undefined;
      }, 30_000);
      expect(h.notifier.to(people.amara, 'evaluation-verdict')).toHaveLength(1);
      expect(h.notifier.to(people.amara, 'evaluation-verdict')[0]!.card.data).toMatchObject({ source: 'measured', passed: true });
      const entries = (await h.services.audit.export({ agentId: asAgentId(agentId) })).filter((e) => e.action === 'evaluation.completed');
      expect(entries).toHaveLength(1);
      expect(entries[0]!.details).toMatchObject({ evalRunId: started.id, passed: true, cases: 10 });
      const progress = h.notifier.to(people.amara, 'notice').find((n) => String(n.card.data.title).includes('Handbook Helper'))!;
      expect(progress.card.data.title).toBe('Evaluation of Handbook Helper finished: 10 cases');
      expect((await h.services.agents.get(asAgentId(agentId)))!.evaluation).toMatchObject({ source: 'measured', evalRunId: started.id });
    } finally {
      await h.close();
      await agent.stop();
    }
  }, 60_000);
});
