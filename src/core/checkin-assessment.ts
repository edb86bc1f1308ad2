import type { DriftPolicy } from '../config/schemas.js';
import {
  COST_BINS,
  disparateImpact,
  LATENCY_BINS,
  pageHinkleyDecrease,
  psi,
  quantileFromBins,
  sparkline,
  twoProportionZTest,
} from './stats.js';
import {
  CONFIDENCE_WORDS,
  confidenceOfPsi,
  confidenceOfPValue,
  describeChange,
  describeDisparity,
  describeGradualDecline,
  describeShift,
  formatPair,
} from './plain-words.js';

/** The per-window totals a check-in compares (summed from rollups). */
export interface WindowStats {
  count: number;
  success: number;
  failure: number;
  handedToHuman: number;
  correctSum: number;
  correctCount: number;
  costSum: number;
  latency: number[];
  cost: number[];
  segments: Record<string, { total: number; favourable: number }>;
  days: number;
}

/** What a rollup contributes to a window (structurally the stored rollup). */
export interface RollupLike {
  count: number;
  outcomes: { success: number; failure: number; handedToHuman: number };
  correctSum: number;
  correctCount: number;
  costSum: number;
  latency: Record<string, number>;
  cost: Record<string, number>;
  segments: Record<string, { total: number; favourable: number }>;
}

export function sumWindow(rollups: readonly RollupLike[], days: number): WindowStats {
  const w: WindowStats = {
    count: 0,
    success: 0,
    failure: 0,
    handedToHuman: 0,
    correctSum: 0,
    correctCount: 0,
    costSum: 0,
    latency: new Array<number>(LATENCY_BINS.count).fill(0),
    cost: new Array<number>(COST_BINS.count).fill(0),
    segments: {},
    days,
  };
  for (const r of rollups) {
    w.count += r.count;
    w.success += r.outcomes.success;
    w.failure += r.outcomes.failure;
    w.handedToHuman += r.outcomes.handedToHuman;
    w.correctSum += r.correctSum;
    w.correctCount += r.correctCount;
    w.costSum += r.costSum;
    // Keys walked in place: a sweep sums some 20 rollups for each of thousands of agents, and
    // Object.entries made a pair array per key (rollups are plain stored documents: own keys only).
    for (const bin in r.latency) w.latency[Number(bin)] = (w.latency[Number(bin)] ?? 0) + r.latency[bin]!;
    for (const bin in r.cost) w.cost[Number(bin)] = (w.cost[Number(bin)] ?? 0) + r.cost[bin]!;
    for (const seg in r.segments) {
      const s = r.segments[seg]!;
      const acc = (w.segments[seg] ??= { total: 0, favourable: 0 });
      acc.total += s.total ?? 0;
      acc.favourable += s.favourable ?? 0;
    }
  }
  return w;
}

export type Severity = 'watch' | 'degraded';
export type Verdict = 'healthy' | 'watch' | 'degraded';

export interface Finding {
  metric:
    | 'accuracy'
    | 'measured-accuracy'
    | 'failure-rate'
    | 'handoff-rate'
    | 'p95-latency'
    | 'cost-per-task'
    | 'volume'
    | 'gradual-decline'
    | 'fairness';
  method: string;
  statistic: number;
  threshold: number;
  severity: Severity;
  /** The finding with its numbers and statistics (the card's details). */
  summary: string;
  /**
   * What changed and how sure Roster is, in plain words (the card's face). Absent on records
   * stored before it existed: cards show the summary then.
   */
  plain?: string;
}

/** A finding as a person reads it: its plain sentence, or its summary on a record stored before there was one. */
export function findingInWords(finding: Pick<Finding, 'plain' | 'summary'>): string {
  return finding.plain ?? finding.summary;
}

export interface MetricRow {
  metric: string;
  baseline: string;
  current: string;
}

export interface CheckInResult {
  verdict: Verdict;
  recommendation: 'keep' | 'retrain' | 'retire';
  findings: Finding[];
  metrics: MetricRow[];
  /** Daily accuracy as a text sparkline. */
  trend: string;
  sample: { baseline: number; current: number };
  /** The re-run that fed the review, when Roster measured the agent itself. */
  measured?: MeasuredAccuracy;
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const capitalised = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
/** A p-value for people: tiny ones as a bound rather than 0. */
const pText = (p: number) => (p < 1e-6 ? 'p < 0.000001' : `p = ${p.toPrecision(2)}`);

/**
 * Page-Hinkley on daily accuracy: tolerated daily drift δ and alarm threshold λ, set above the
 * day-to-day noise of ~100 tasks a day (σ ≈ 0.03) so that only a sustained decline alarms.
 */
const PH_DELTA = 0.01;
const PH_LAMBDA = 0.15;

/** The newest scheduled re-run of the role's suite against the live version, and what it is held against. */
export interface MeasuredAccuracy {
  evalRunId: string;
  accuracy: number;
  cases: number;
  /** When the re-run finished. */
  at: string;
  suiteHash: string;
  /**
   * Accuracy the version was admitted with: its measured run on the same suite (`measured`),
   * or, without one, the baseline recorded at onboarding (`recorded`).
   */
  baseline?: { accuracy: number; source: 'measured' | 'recorded'; evalRunId?: string };
}

/**
 * The performance review: the current window against the baseline window, per the catalog's
 * drift policy, and the latest accuracy Roster measured itself (a re-run of the role's suite)
 * against the accuracy the version was admitted with. Every finding names its method, statistic
 * and threshold.
 */
export function assessCheckIn(
  policy: DriftPolicy,
  baseline: WindowStats,
  current: WindowStats,
  dailyAccuracy: readonly number[],
  measured?: MeasuredAccuracy,
): CheckInResult {
  const findings: Finding[] = [];
  const watched = new Set(policy.metrics);
  const significance = policy.pValue;

  const rateTest = (metric: 'failure-rate' | 'handoff-rate', b: number, c: number, label: string) => {
    const test = twoProportionZTest(b, baseline.count, c, current.count, 'rise');
    if (!test || !watched.has(metric)) return;
    const rise = test.p2 - test.p1;
    if (test.pValue < significance && rise >= policy.accuracyDropMin) {
      findings.push({
        metric,
        method: 'two-proportion z-test',
        statistic: test.z,
        threshold: significance,
        severity: rise >= 2 * policy.accuracyDropMin ? 'degraded' : 'watch',
        summary: `${label} rose from ${pct(test.p1)} to ${pct(test.p2)} (z = ${test.z.toFixed(2)}, ${pText(test.pValue)} < ${significance})`,
        plain: describeChange({
          label: capitalised(label),
          unit: 'share',
          from: test.p1,
          to: test.p2,
          days: current.days,
          confidence: confidenceOfPValue(test.pValue, significance),
        }),
      });
    }
  };

  if (watched.has('accuracy') && baseline.correctCount > 0 && current.correctCount > 0) {
    const test = twoProportionZTest(
      Math.round(baseline.correctSum),
      baseline.correctCount,
      Math.round(current.correctSum),
      current.correctCount,
      'drop',
    );
    if (test && test.pValue < significance && test.p1 - test.p2 >= policy.accuracyDropMin) {
      const drop = test.p1 - test.p2;
      findings.push({
        metric: 'accuracy',
        method: 'two-proportion z-test',
        statistic: test.z,
        threshold: significance,
        severity: drop >= 2 * policy.accuracyDropMin ? 'degraded' : 'watch',
        summary: `accuracy fell from ${test.p1.toFixed(3)} to ${test.p2.toFixed(3)} (−${drop.toFixed(3)}; z = ${test.z.toFixed(2)}, ${pText(test.pValue)}, below ${significance})`,
        plain: describeChange({
          label: 'Accuracy',
          unit: 'share',
          from: test.p1,
          to: test.p2,
          days: current.days,
          confidence: confidenceOfPValue(test.pValue, significance),
        }),
      });
    }
  }
  rateTest('failure-rate', baseline.failure, current.failure, 'failure rate');
  rateTest('handoff-rate', baseline.handedToHuman, current.handedToHuman, 'hand-off rate');

  const distribution = (
    metric: 'p95-latency' | 'cost-per-task',
    b: number[],
    c: number[],
    describe: string,
    change: { label: string; unit: 'ms' | 'usd'; from?: number; to?: number },
  ) => {
    if (!watched.has(metric) || baseline.count === 0 || current.count === 0) return;
    const value = psi(b, c);
    if (value >= policy.psiWatch) {
      findings.push({
        metric,
        method: 'population stability index',
        statistic: value,
        threshold: value >= policy.psiDegraded ? policy.psiDegraded : policy.psiWatch,
        severity: value >= policy.psiDegraded ? 'degraded' : 'watch',
        summary: `${describe} shifted (PSI ${value.toFixed(2)} ≥ ${(value >= policy.psiDegraded ? policy.psiDegraded : policy.psiWatch).toFixed(2)})`,
        plain: describeShift({ ...change, days: current.days, confidence: confidenceOfPsi(value, policy.psiWatch, policy.psiDegraded) }),
      });
    }
  };
  const p95 = (w: WindowStats) => quantileFromBins(w.latency, 0.95, LATENCY_BINS);
  distribution('p95-latency', baseline.latency, current.latency, `latency (p95 ${p95(baseline) ?? '–'} ms → ${p95(current) ?? '–'} ms)`, {
    label: 'Latency (p95)',
    unit: 'ms',
    from: p95(baseline),
    to: p95(current),
  });
  const cpt = (w: WindowStats) => (w.count ? w.costSum / w.count : 0);
  distribution('cost-per-task', baseline.cost, current.cost, `cost per task ($${cpt(baseline).toFixed(4)} → $${cpt(current).toFixed(4)})`, {
    label: 'Cost per task',
    unit: 'usd',
    from: cpt(baseline),
    to: cpt(current),
  });

  if (watched.has('accuracy') && dailyAccuracy.length >= 7) {
    const ph = pageHinkleyDecrease(dailyAccuracy, PH_DELTA, PH_LAMBDA);
    if (ph.alarmAt !== undefined && !findings.some((f) => f.metric === 'accuracy')) {
      findings.push({
        metric: 'gradual-decline',
        method: 'Page-Hinkley',
        statistic: ph.statistic,
        threshold: PH_LAMBDA,
        severity: 'watch',
        summary: `daily accuracy is declining gradually (Page-Hinkley ${ph.statistic.toFixed(3)} > ${PH_LAMBDA} on day ${ph.alarmAt + 1})`,
        plain: describeGradualDecline('Daily accuracy', dailyAccuracy[0]!, dailyAccuracy.at(-1)!, dailyAccuracy.length),
      });
    }
  }

  if (watched.has('fairness')) {
    const di = disparateImpact(current.segments, policy.minSamplesPerGroup);
    if (di.lowest && di.highest && di.ratio < policy.disparateImpactMin) {
      findings.push({
        metric: 'fairness',
        method: 'disparate-impact ratio (four-fifths rule)',
        statistic: di.ratio,
        threshold: policy.disparateImpactMin,
        severity: 'degraded',
        summary: `favourable outcomes: ${di.lowest} ${pct(di.rates[di.lowest]!.rate)} vs ${di.highest} ${pct(di.rates[di.highest]!.rate)} (ratio ${di.ratio.toFixed(2)} < ${policy.disparateImpactMin})`,
        plain: describeDisparity(di.lowest, di.rates[di.lowest]!.rate, di.highest, di.rates[di.highest]!.rate, policy.disparateImpactMin),
      });
    }
  }

  if (watched.has('volume') && baseline.days > 0 && current.days > 0 && baseline.count > 0) {
    const ratio = current.count / current.days / (baseline.count / baseline.days);
    if (ratio < 0.5 || ratio > 2) {
      findings.push({
        metric: 'volume',
        method: 'daily volume ratio',
        statistic: ratio,
        threshold: ratio < 0.5 ? 0.5 : 2,
        severity: 'watch',
        summary: `daily volume changed ×${ratio.toFixed(2)} (${(baseline.count / baseline.days).toFixed(0)} → ${(current.count / current.days).toFixed(0)} tasks/day)`,
        plain: describeChange({
          label: 'Volume',
          unit: 'per-day',
          from: baseline.count / baseline.days,
          to: current.count / current.days,
          days: current.days,
        }),
      });
    }
  }

  // Measured on the same suite at both ends, so the drop needs no significance test: the margin decides.
  if (measured?.baseline) {
    const drop = measured.baseline.accuracy - measured.accuracy;
    if (drop >= policy.accuracyDropMin) {
      findings.push({
        metric: 'measured-accuracy',
        method: `re-run of the role's suite by Roster (${measured.cases} cases), drop against the margin`,
        statistic: drop,
        threshold: policy.accuracyDropMin,
        severity: drop >= 2 * policy.accuracyDropMin ? 'degraded' : 'watch',
        summary: `measured accuracy fell from ${measured.baseline.accuracy.toFixed(3)} ${measured.baseline.source === 'measured' ? 'at admission' : '(recorded baseline)'} to ${measured.accuracy.toFixed(3)} (−${drop.toFixed(3)}) when Roster re-ran the role's suite`,
        plain: `Accuracy on the role's test cases fell from ${formatPair('share', measured.baseline.accuracy, measured.accuracy).join(' to ')} ${measured.baseline.source === 'measured' ? 'since admission' : 'against the recorded baseline'}; ${CONFIDENCE_WORDS.measured}.`,
      });
    }
  }

  const verdict: Verdict = findings.some((f) => f.severity === 'degraded') ? 'degraded' : findings.length ? 'watch' : 'healthy';
  const acc = (w: WindowStats) => (w.correctCount ? (w.correctSum / w.correctCount).toFixed(3) : '–');
  return {
    verdict,
    recommendation: verdict === 'degraded' ? 'retrain' : 'keep',
    findings,
    metrics: [
      { metric: 'Accuracy', baseline: acc(baseline), current: acc(current) },
      {
        metric: 'Failure rate',
        baseline: baseline.count ? pct(baseline.failure / baseline.count) : '–',
        current: current.count ? pct(current.failure / current.count) : '–',
      },
      {
        metric: 'Hand-off rate',
        baseline: baseline.count ? pct(baseline.handedToHuman / baseline.count) : '–',
        current: current.count ? pct(current.handedToHuman / current.count) : '–',
      },
      { metric: 'p95 latency', baseline: `${p95(baseline) ?? '–'} ms`, current: `${p95(current) ?? '–'} ms` },
      { metric: 'Cost per task', baseline: `$${cpt(baseline).toFixed(4)}`, current: `$${cpt(current).toFixed(4)}` },
      { metric: 'Volume', baseline: `${baseline.count}`, current: `${current.count}` },
      ...(measured
        ? [
            {
              metric: 'Accuracy measured by Roster',
              baseline: measured.baseline ? measured.baseline.accuracy.toFixed(3) : '–',
              current: measured.accuracy.toFixed(3),
            },
          ]
        : []),
    ],
    trend: sparkline(dailyAccuracy),
    sample: { baseline: baseline.count, current: current.count },
    ...(measured ? { measured } : {}),
  };
}
