import type { EvaluationThresholds } from '../config/schemas.js';

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
  metric: 'accuracy' | 'p95LatencyMs' | 'costPerTaskUSD' | 'roleFit';
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
