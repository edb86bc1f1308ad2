import { driftPolicySchema } from '../../src/config/schemas.js';
import { assessCheckIn, sumWindow, type WindowStats } from '../../src/core/checkin-assessment.js';
import { createTelemetryStore, type TelemetryStore } from '../../src/store/telemetry-store.js';
import { openTestDb, type TestDb } from '../helpers/db.js';
import { generateEvents, type Profile } from '../helpers/synthetic-telemetry.js';
import { asAgentId } from '../helpers/ids.js';

const DAY = 86_400_000;
const END = new Date('2026-11-20T00:00:00Z');
const policy = driftPolicySchema.parse({});

describe('check-ins on synthetic telemetry (rollups in the embedded database)', () => {
  let db: TestDb;
  let store: TelemetryStore;
  beforeAll(async () => {
    db = await openTestDb();
    store = createTelemetryStore(db.connection);
    await store.ensureIndexes();
  });
  afterAll(async () => {
    await db.close();
  });

  async function review(profile: Profile, agentId: string) {
    await store.ingest(generateEvents({ agentId: asAgentId(agentId), profile, days: 30, end: END, seed: agentId.length * 7 }));
    const daily = await store.rollups(agentId, 'day', new Date(END.getTime() - 30 * DAY), END);
    expect(daily).toHaveLength(30);
    const baseline = sumWindow(daily.slice(9, 23), 14);
    const current = sumWindow(daily.slice(23), 7);
    const accuracy = daily.map((d) => d.correctSum / d.correctCount);
    return assessCheckIn(policy, baseline, current, accuracy);
  }

  it('a healthy agent raises nothing', async () => {
    const result = await review('healthy', 'agt_000000000000aaaa');
    expect(result.findings).toEqual([]);
    expect(result.verdict).toBe('healthy');
    expect(result.recommendation).toBe('keep');
  });

  it('accuracy falling from 0.92 to 0.80 is a significant drop: degraded, retrain', async () => {
    const result = await review('accuracy-drop', 'agt_000000000000bbbb');
    const finding = result.findings.find((f) => f.metric === 'accuracy')!;
    expect(finding.method).toBe('two-proportion z-test');
    expect(finding.statistic).toBeLessThan(-5);
    expect(finding.severity).toBe('degraded');
    expect(finding.summary).toMatch(
      /^accuracy fell from 0\.9\d\d to 0\.(79|8\d)\d \(−0\.1\d\d; z = -\d+\.\d\d, p < 0\.000001, below 0\.01\)$/,
    );
    // The same finding in plain words, for the card's face: whole percentages, the window, how sure.
    expect(finding.plain).toMatch(/^Accuracy fell from 9\d% to (79|8\d)% over 7 days; this is very unlikely to be chance\.$/);
    expect(result.verdict).toBe('degraded');
    expect(result.recommendation).toBe('retrain');
  });

  it('a latency shift is found by PSI over the histogram bins', async () => {
    const result = await review('latency-shift', 'agt_000000000000cccc');
    const finding = result.findings.find((f) => f.metric === 'p95-latency')!;
    expect(finding.method).toBe('population stability index');
    expect(finding.statistic).toBeGreaterThan(policy.psiDegraded);
    expect(finding.severity).toBe('degraded');
    expect(finding.plain).toMatch(/^Latency \(p95\) rose from [\d,]+ ms to [\d,]+ ms over 7 days; this is very unlikely to be chance\.$/);
    expect(result.findings.some((f) => f.metric === 'accuracy')).toBe(false);
  });

  it('a biased agent fails the four-fifths rule', async () => {
    const result = await review('biased', 'agt_000000000000dddd');
    const finding = result.findings.find((f) => f.metric === 'fairness')!;
    expect(finding.statistic).toBeGreaterThan(0.5);
    expect(finding.statistic).toBeLessThan(0.75);
    expect(finding.summary).toMatch(/south 5\d\.\d% vs north (7|8)\d\.\d% \(ratio 0\.\d\d < 0\.8\)/);
    expect(result.verdict).toBe('degraded');
  });

  it('rollups count a retried batch once and keep check-in cost independent of raw volume', async () => {
    const events = generateEvents({ agentId: asAgentId('agt_000000000000eeee'), profile: 'healthy', days: 2, end: END, perDay: 50 });
    expect(await store.ingest(events)).toEqual({ inserted: 100, duplicates: 0 });
    expect(await store.ingest(events.slice(0, 30))).toEqual({ inserted: 0, duplicates: 30 });
    const days = await store.rollups('agt_000000000000eeee', 'day', new Date(END.getTime() - 2 * DAY), END);
    expect(days.map((d) => d.count)).toEqual([50, 50]);
    const hours = await store.rollups('agt_000000000000eeee', 'hour', new Date(END.getTime() - 2 * DAY), END);
    expect(hours.reduce((n, h) => n + h.count, 0)).toBe(100);
  });
});

describe('dormancy reads one document per agent', () => {
  it('lastEventAt follows the newest event, whatever order batches arrive in, and outlives the raw events', async () => {
    const db = await openTestDb();
    try {
      const store = createTelemetryStore(db.connection);
      const agentId = asAgentId('agt_000000000000ffff');
      const base = { agentId, taskType: 'x', outcome: 'success' as const, latencyMs: 10, costUSD: 0 };
      expect(await store.lastEventAt(agentId)).toBeUndefined();
      await store.ingest([{ ...base, eventId: 'b', time: new Date('2026-11-20T10:00:00Z') }]);
      await store.ingest([{ ...base, eventId: 'a', time: new Date('2026-11-19T10:00:00Z') }]);
      expect((await store.lastEventAt(agentId))?.toISOString()).toBe('2026-11-20T10:00:00.000Z');
      await store.ingest([{ ...base, eventId: 'c', time: new Date('2026-11-21T10:00:00Z') }]);
      expect((await store.lastEventAt(agentId))?.toISOString()).toBe('2026-11-21T10:00:00.000Z');
      // Raw events are purged after their retention; when the agent last ran is still known
      // (and was never read from the raw events, whose volume must not slow the sweep down).
      expect(await store.purgeEventsBefore(new Date('2026-12-31T00:00:00Z'))).toBe(3);
      expect((await store.lastEventAt(agentId))?.toISOString()).toBe('2026-11-21T10:00:00.000Z');
    } finally {
      await db.close();
    }
  });
});

describe('check-in findings in plain words', () => {
  it('latencies that spread out while the p95 stays in its bin: the finding says the spread moved, not "held steady"', () => {
    const window = (latency: number[]): WindowStats => ({
      count: 1000,
      success: 1000,
      failure: 0,
      handedToHuman: 0,
      correctSum: 0,
      correctCount: 0,
      costSum: 1,
      latency,
      cost: [1000],
      segments: {},
      days: 7,
    });
    // The 95th percentile is bin 3 in both windows; four in ten tasks moved down to bin 1.
    const baseline = window([0, 0, 0, 960, 0, 0, 0, 0, 40]);
    const current = window([0, 400, 0, 560, 0, 0, 0, 0, 40]);
    const { findings } = assessCheckIn(policy, baseline, current, []);
    const latency = findings.find((f) => f.metric === 'p95-latency');
    expect(latency).toMatchObject({ method: 'population stability index', severity: 'degraded' });
    expect(latency!.plain).toMatch(
      /^Latency \(p95\) stayed at [\d,]+ ms, but how the values are spread changed over 7 days; this is very unlikely to be chance\.$/,
    );
  });
});
