import type { EvaluationThresholds } from '../config/schemas.js';
import { disparateImpact } from './stats.js';

/** Evaluation results submitted for an agent (by its sponsor or the evaluation harness). */
export interface EvaluationSubmission {
  accuracy: number;
  p95LatencyMs: number;
  costPerTaskUSD: number;
  /** Role-fit checklist items the reviewer ticked. */
  roleFitChecked: string[];
  notes?: string;
}

export interface MetricResult {
  metric: 'accuracy' | 'p95LatencyMs' | 'costPerTaskUSD' | 'roleFit' | 'fairness';
  label: string;
  value: string;
  threshold: string;
  passed: boolean;
  /** A sentence a person can read, e.g. "accuracy 0.85 is 0.05 below the minimum 0.90". */
  explanation: string;
}

export interface EvaluationVerdict {
  passed: boolean;
  results: MetricResult[];
  /** One line for cards and audit entries. */
  summary: string;
}

const round = (n: number, digits: number): string => {
  const f = 10 ** digits;
  return (Math.round(n * f) / f).toFixed(digits);
};

/** The evaluation gate: each metric against the catalog thresholds, with a readable explanation. */
export function evaluate(thresholds: EvaluationThresholds, submission: EvaluationSubmission): EvaluationVerdict {
  const results: MetricResult[] = [];
  const acc = submission.accuracy;
  const accOk = acc >= thresholds.minAccuracy;
  results.push({
    metric: 'accuracy',
    label: 'Accuracy',
    value: round(acc, 2),
    threshold: `≥ ${round(thresholds.minAccuracy, 2)}`,
    passed: accOk,
    explanation: accOk
      ? `accuracy ${round(acc, 2)} meets the minimum ${round(thresholds.minAccuracy, 2)}`
      : `accuracy ${round(acc, 2)} is ${round(thresholds.minAccuracy - acc, 2)} below the minimum ${round(thresholds.minAccuracy, 2)}`,
  });
  const lat = submission.p95LatencyMs;
  const latOk = lat <= thresholds.maxP95LatencyMs;
  results.push({
    metric: 'p95LatencyMs',
    label: 'p95 latency',
    value: `${Math.round(lat)} ms`,
    threshold: `≤ ${thresholds.maxP95LatencyMs} ms`,
    passed: latOk,
    explanation: latOk
      ? `p95 latency ${Math.round(lat)} ms is within the maximum ${thresholds.maxP95LatencyMs} ms`
      : `p95 latency ${Math.round(lat)} ms is ${Math.round(lat - thresholds.maxP95LatencyMs)} ms over the maximum ${thresholds.maxP95LatencyMs} ms`,
  });
  const cost = submission.costPerTaskUSD;
  const costOk = cost <= thresholds.maxCostPerTaskUSD;
  results.push({
    metric: 'costPerTaskUSD',
    label: 'Cost per task',
    value: `$${round(cost, 4)}`,
    threshold: `≤ $${round(thresholds.maxCostPerTaskUSD, 4)}`,
    passed: costOk,
    explanation: costOk
      ? `cost per task $${round(cost, 4)} is within the maximum $${round(thresholds.maxCostPerTaskUSD, 4)}`
      : `cost per task $${round(cost, 4)} is $${round(cost - thresholds.maxCostPerTaskUSD, 4)} over the maximum $${round(thresholds.maxCostPerTaskUSD, 4)}`,
  });
  const missing = thresholds.roleFit.filter((item) => !submission.roleFitChecked.includes(item));
  const fitOk = missing.length === 0;
  results.push({
    metric: 'roleFit',
    label: 'Role fit',
    value: `${thresholds.roleFit.length - missing.length} of ${thresholds.roleFit.length}`,
    threshold: `all ${thresholds.roleFit.length}`,
    passed: fitOk,
    explanation: fitOk ? 'every role-fit item is confirmed' : `not confirmed: ${missing.map((m) => `"${m}"`).join(', ')}`,
  });
  const failed = results.filter((r) => !r.passed);
  return {
    passed: failed.length === 0,
    results,
    summary:
      failed.length === 0 ? 'Evaluation passed on every metric.' : `Evaluation failed: ${failed.map((r) => r.explanation).join('; ')}.`,
  };
}

/** One graded case of a measured run, as the metrics need it. */
export interface CaseOutcome {
  caseId: string;
  segment?: string;
  /** A must-refuse (role-fit) case. */
  mustRefuse: boolean;
  passed: boolean;
  refused: boolean;
  /** Time until the answer (or the failure); undefined when the case never ran (budget spent, cancelled). */
  latencyMs?: number;
  costUSD?: number;
  /** Why the call failed (unreachable, timed out, not JSON…), when it did. */
  error?: string;
}

/** What Roster measured over a suite run. */
export interface MeasuredMetrics {
  cases: number;
  passed: number;
  accuracy: number;
  p50LatencyMs: number;
  p95LatencyMs: number;
  /** Mean cost of the cases that were answered; 0 when nothing reported a cost. */
  costPerTaskUSD: number;
  totalCostUSD: number;
  /** Whether any answer carried a cost or token usage. */
  costReported: boolean;
  mustRefuse: { total: number; refused: number };
  /** In-role requests the agent declined. */
  wrongRefusals: number;
  /** Cases whose call failed (timeouts, errors). */
  errors: number;
  segments: Record<string, { n: number; passed: number; accuracy: number }>;
  fairness?: { ratio: number; lowest?: string; highest?: string; excluded: string[]; threshold: number; minGroupSize: number };
}

/** Nearest-rank percentile (q in 0..1) of a list; 0 when empty. */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Accuracy, latency percentiles, cost, refusal correctness and per-segment accuracy of a run. */
export function measure(outcomes: readonly CaseOutcome[], fairness: { minGroupSize: number; disparateImpactMin: number }): MeasuredMetrics {
  const passed = outcomes.filter((o) => o.passed).length;
  const latencies = outcomes.flatMap((o) => (o.latencyMs === undefined ? [] : [o.latencyMs]));
  const costed = outcomes.filter((o) => o.costUSD !== undefined);
  const totalCostUSD = costed.reduce((sum, o) => sum + (o.costUSD ?? 0), 0);
  const answered = outcomes.filter((o) => !o.error).length;
  const segments: MeasuredMetrics['segments'] = {};
  for (const o of outcomes) {
    if (!o.segment) continue;
    const s = (segments[o.segment] ??= { n: 0, passed: 0, accuracy: 0 });
    s.n += 1;
    if (o.passed) s.passed += 1;
  }
  for (const s of Object.values(segments)) s.accuracy = s.n ? s.passed / s.n : 0;
  const refusals = outcomes.filter((o) => o.mustRefuse);
  const di = Object.keys(segments).length
    ? disparateImpact(
        Object.fromEntries(Object.entries(segments).map(([k, s]) => [k, { favourable: s.passed, total: s.n }])),
        fairness.minGroupSize,
      )
    : undefined;
  return {
    cases: outcomes.length,
    passed,
    accuracy: outcomes.length ? passed / outcomes.length : 0,
    p50LatencyMs: percentile(latencies, 0.5),
    p95LatencyMs: percentile(latencies, 0.95),
    costPerTaskUSD: answered ? totalCostUSD / answered : 0,
    totalCostUSD,
    costReported: costed.length > 0,
    mustRefuse: { total: refusals.length, refused: refusals.filter((o) => o.refused).length },
    wrongRefusals: outcomes.filter((o) => !o.mustRefuse && o.refused).length,
    errors: outcomes.filter((o) => o.error).length,
    segments,
    ...(di
      ? {
          fairness: {
            ratio: di.ratio,
            ...(di.lowest ? { lowest: di.lowest } : {}),
            ...(di.highest ? { highest: di.highest } : {}),
            excluded: di.excluded,
            threshold: fairness.disparateImpactMin,
            minGroupSize: fairness.minGroupSize,
          },
        }
      : {}),
  };
}

/** The submission a measured run amounts to (for baselines and version comparisons). */
export function measuredSubmission(m: MeasuredMetrics, thresholds: EvaluationThresholds): EvaluationSubmission {
  return { accuracy: m.accuracy, p95LatencyMs: m.p95LatencyMs, costPerTaskUSD: m.costPerTaskUSD, roleFitChecked: thresholds.roleFit };
}

/**
 * The evaluation gate on measured results: accuracy, p95 latency and cost against the role's
 * thresholds, role fit as every must-refuse case declined, and fairness by the four-fifths rule
 * across segments with enough cases.
 */
export function evaluateMeasured(thresholds: EvaluationThresholds, m: MeasuredMetrics, suiteHash: string): EvaluationVerdict {
  const base = evaluate(thresholds, measuredSubmission(m, thresholds));
  const results = base.results.filter((r) => r.metric !== 'roleFit');
  const cost = results.find((r) => r.metric === 'costPerTaskUSD');
  if (cost && !m.costReported) cost.explanation += ' (the endpoint reported no cost or token usage)';
  const refOk = m.mustRefuse.refused === m.mustRefuse.total;
  results.push({
    metric: 'roleFit',
    label: 'Role fit (declines out-of-role requests)',
    value: `${m.mustRefuse.refused} of ${m.mustRefuse.total}`,
    threshold: `all ${m.mustRefuse.total}`,
    passed: refOk,
    explanation: refOk
      ? `declined every out-of-role request${m.wrongRefusals ? `; also declined ${m.wrongRefusals} in-role request(s)` : ''}`
      : `answered ${m.mustRefuse.total - m.mustRefuse.refused} out-of-role request(s) it should have declined`,
  });
  if (m.fairness) {
    const f = m.fairness;
    const judged = Boolean(f.lowest && f.highest);
    const ok = !judged || f.ratio >= f.threshold;
    results.push({
      metric: 'fairness',
      label: 'Fairness (four-fifths rule)',
      value: judged ? round(f.ratio, 2) : 'not judged',
      threshold: `≥ ${round(f.threshold, 2)}`,
      passed: ok,
      explanation: !judged
        ? `fewer than two segments have ${f.minGroupSize} cases or more`
        : ok
          ? `accuracy ${f.lowest} ${round(m.segments[f.lowest!]!.accuracy, 2)} vs ${f.highest} ${round(m.segments[f.highest!]!.accuracy, 2)}: ratio ${round(f.ratio, 2)}`
          : `accuracy ${f.lowest} ${round(m.segments[f.lowest!]!.accuracy, 2)} vs ${f.highest} ${round(m.segments[f.highest!]!.accuracy, 2)}: ratio ${round(f.ratio, 2)} is below ${round(f.threshold, 2)}`,
    });
  }
  const failed = results.filter((r) => !r.passed);
  const head = `Measured by Roster on ${m.cases} cases (suite ${suiteHash.slice(0, 12)})`;
  return {
    passed: failed.length === 0,
    results,
    summary:
      failed.length === 0
        ? `${head}: passed; ${results.map((r) => `${r.label.toLowerCase()} ${r.value}`).join(', ')}.`
        : `${head}: failed; ${failed.map((r) => r.explanation).join('; ')}.`,
  };
}

/** Relative worsening of latency and cost a new version may show against the live one. */
export const COST_LATENCY_MARGIN = 0.2;

/**
 * How a candidate regresses against the live version: accuracy more than the role's margin
 * below, or latency or cost more than 20% above. Empty when it does not.
 */
export function regressions(
  live: { accuracy: number; p95LatencyMs: number; costPerTaskUSD: number },
  candidate: { accuracy: number; p95LatencyMs: number; costPerTaskUSD: number },
  accuracyMargin: number,
): string[] {
  const out: string[] = [];
  if (candidate.accuracy < live.accuracy - accuracyMargin) {
    out.push(
      `accuracy ${candidate.accuracy.toFixed(3)} is ${(live.accuracy - candidate.accuracy).toFixed(3)} below the live ${live.accuracy.toFixed(3)} (allowed drop ${accuracyMargin})`,
    );
  }
  if (candidate.p95LatencyMs > live.p95LatencyMs * (1 + COST_LATENCY_MARGIN)) {
    out.push(
      `p95 latency ${Math.round(candidate.p95LatencyMs)} ms is over the live ${Math.round(live.p95LatencyMs)} ms + ${COST_LATENCY_MARGIN * 100}%`,
    );
  }
  if (candidate.costPerTaskUSD > live.costPerTaskUSD * (1 + COST_LATENCY_MARGIN)) {
    out.push(
      `cost per task $${candidate.costPerTaskUSD.toFixed(4)} is over the live $${live.costPerTaskUSD.toFixed(4)} + ${COST_LATENCY_MARGIN * 100}%`,
    );
  }
  return out;
}

/**
 * A new version's outcome, the one rule for typed-in and measured versions: admitted when it meets
 * every threshold and does not regress against the live version; else refused, with the reasons
 * (each failed threshold, then each regression).
 */
export function versionOutcome(verdict: EvaluationVerdict, regressed: readonly string[]): { admitted: boolean; reasons: string[] } {
  return {
    admitted: verdict.passed && regressed.length === 0,
    reasons: [...verdict.results.filter((r) => !r.passed).map((r) => r.explanation), ...regressed],
  };
}

/** Why typed-in results need a reason, as the form shows it on the reason (notes) field. */
export const TYPED_IN_REASON_NEEDED = 'Say why the results are typed in rather than measured (at least 5 characters).';

/** Whether a typed-in reason is long enough to say something. */
export function typedInReasonGiven(notes: string | undefined): boolean {
  return (notes?.trim().length ?? 0) >= 5;
}

/** What someone who may not type results in is told instead: Roster measures the role itself, or IT must act. */
export function typedInRefusal(role: { id: string; title: string }, agentName: string, measured: boolean): string {
  return measured
    ? `Roster measures ${role.title} agents itself: register ${agentName}'s endpoint ("eval ${agentName}") and Roster runs the role's suite against it. Only an IT admin may type results in instead, with a reason.`
    : `Roster has no evaluation suite for ${role.title} agents yet, so it cannot measure ${agentName} itself. Ask IT: an IT admin can add evals/${role.id}.yaml (then register the endpoint and Roster runs it), or record the results with a reason.`;
}
