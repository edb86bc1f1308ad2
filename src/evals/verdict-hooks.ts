import type { OrgConfig } from '../config/schemas.js';
import type { AgentRepository } from '../core/agents.js';
import type { Development } from '../core/development.js';
import { RosterError } from '../core/errors.js';
import { measuredSubmission } from '../core/evaluation.js';
import type { FlowEngine } from '../flows/engine.js';
import type { Logger } from '../logger.js';
import type { EvaluationHooks } from './evaluations.js';

/**
 * Where Roster's own measurements go: a request's evaluation gate (the measured results recorded
 * on the agent when they pass), and a proposed version's promotion or refusal.
 */
export function measuredVerdictHooks(deps: {
  org: OrgConfig;
  agents: AgentRepository;
  engine: FlowEngine;
  development: Development;
  clock: () => Date;
  log: Logger;
}): EvaluationHooks {
  const { org, agents, engine, development, clock, log } = deps;
  return {
    async gate(run, verdict, metrics) {
      const role = org.catalog.find((r) => r.id === run.roleId);
      if (verdict.passed && role) {
        await agents.update(run.agentId, {
          evaluation: {
            submission: measuredSubmission(metrics, role.evaluation),
            verdict,
            by: 'roster',
            at: clock().toISOString(),
            source: 'measured',
            evalRunId: run.id,
            suiteHash: run.suiteHash,
          },
        });
      }
      const agent = await agents.get(run.agentId);
      try {
        await engine.signalGate({
          runId: run.requestRunId!,
          gate: 'evaluation',
          passed: verdict.passed,
          by: run.requester ?? agent?.requestedBy ?? 'roster',
          summary: verdict.summary,
          source: 'measured',
        });
      } catch (err) {
        // A coded error is an answer (the request was cancelled, expired or already signalled, this
        // being the outbox performing it again): the run's result stays on record. Anything else is retried.
        if (!(err instanceof RosterError)) throw err;
        log.info({ evalRunId: run.id, code: (err as { code?: string }).code }, 'a measured verdict arrived after the request closed');
      }
    },
    async version(run, verdict, metrics, regressed) {
      const role = org.catalog.find((r) => r.id === run.roleId);
      if (!role) return;
      await development.recordMeasuredVersion(engine, run, measuredSubmission(metrics, role.evaluation), verdict, regressed);
    },
  };
}
