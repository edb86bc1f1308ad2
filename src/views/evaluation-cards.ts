import type { OrgConfig } from '../config/schemas.js';
import { roleById } from '../config/directory.js';
import type { CardOf } from '../cards/view-models.js';
import { versionOutcome } from '../core/evaluation.js';
import { displayDate } from '../core/time.js';
import { seconds, usd, type EvaluationCards } from '../evals/evaluations.js';
import type { EvalRunRecord } from '../evals/types.js';
import { evaluationVerdictCard, noticeCard } from './card-builders.js';

/** The progress message: n of m cases, elapsed, and Cancel while it runs. */
export function evaluationProgressCard(run: EvalRunRecord, final = false): CardOf<'notice'> {
  const elapsed = (run.finishedAt ? Date.parse(run.finishedAt) : Date.now()) - Date.parse(run.startedAt);
  const what = run.purpose === 'version' ? `${run.agentName} ${run.version}` : run.agentName;
  const title =
    run.status === 'running'
      ? `Evaluating ${what}: ${run.done} of ${run.total} cases`
      : run.status === 'completed'
        ? `Evaluation of ${what} finished: ${run.total} cases`
        : run.status === 'cancelled'
          ? `Evaluation of ${what} cancelled at ${run.done} of ${run.total} cases`
          : `Evaluation of ${what} could not finish`;
  const text =
    run.status === 'failed'
      ? (run.failure ?? 'The run stopped.')
      : `${run.done} of ${run.total} cases done, ${run.passed} passed · ${seconds(elapsed)} elapsed · suite ${run.suiteFile} (${run.suiteHash.slice(0, 12)}) against ${run.endpoint.kind} ${run.endpoint.url}`;
  return noticeCard({
    level: run.status === 'running' ? 'info' : run.status === 'completed' ? 'success' : 'warning',
    title,
    text,
    ...(!final && run.status === 'running'
      ? { actions: [{ action: 'eval_cancel', label: 'Cancel evaluation', style: 'danger', value: { evalRunId: run.id } }] }
      : {}),
  });
}

/** The verdict: each metric against the role's threshold, the run's cost, and the failing cases a click away. */
export function evaluationVerdictCardOf(org: OrgConfig, run: EvalRunRecord): CardOf<'evaluation-verdict'> {
  const m = run.metrics!;
  const verdict = run.verdict!;
  const regressed = run.regressions ?? [];
  const elapsed = Date.parse(run.finishedAt ?? run.startedAt) - Date.parse(run.startedAt);
  const role = roleById(org, run.roleId);
  return evaluationVerdictCard({
    runId: run.requestRunId ?? run.id,
    agentId: run.agentId,
    agentName: run.purpose === 'request' ? run.agentName : `${run.agentName} ${run.version}`,
    roleTitle: role?.title ?? run.roleId,
    passed: versionOutcome(verdict, regressed).admitted,
    source: 'measured',
    submittedBy: { name: 'Roster' },
    submittedAt: displayDate(run.finishedAt ?? run.startedAt),
    metrics: [
      ...verdict.results.map((r) => ({
        metric: r.label,
        value: r.value,
        threshold: r.threshold,
        passed: r.passed,
        explanation: r.explanation,
      })),
      ...regressed.map((r) => ({ metric: 'Regression', value: 'worse', threshold: 'live version', passed: false, explanation: r })),
    ],
    roleFit: [],
    measured: {
      evalRunId: run.id,
      cases: m.cases,
      passedCases: m.passed,
      failingCount: m.cases - m.passed,
      suite: `${run.suiteFile} (${run.suiteHash.slice(0, 12)})`,
      costLabel: `${usd(m.totalCostUSD)}${m.costReported ? '' : ' (not reported by the endpoint)'}`,
      durationLabel: seconds(elapsed),
      latencyLabel: `p50 ${Math.round(m.p50LatencyMs)} ms · p95 ${Math.round(m.p95LatencyMs)} ms`,
      ...(Object.keys(m.segments).length
        ? {
            segmentsLabel: Object.entries(m.segments)
              .map(([s, v]) => `${s} ${v.accuracy.toFixed(2)} (${v.n})`)
              .join(' · '),
          }
        : {}),
      ...(run.comparedWith ? { comparedWith: run.comparedWith } : {}),
    },
  });
}

/** The {@link EvaluationCards} port of the evaluation runs, over the catalog's role titles. */
export function evaluationCards(org: OrgConfig): EvaluationCards {
  return { progress: evaluationProgressCard, verdict: (run) => evaluationVerdictCardOf(org, run) };
}
