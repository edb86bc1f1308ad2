import type { AgentRecord, AgentRepository } from '../../core/agents.js';
import {
  startComplianceRemediation,
  type ComplianceRemediationDeps,
  type ComplianceRemediationResult,
} from '../../core/compliance-remediation.js';
import { NotFoundError } from '../../core/errors.js';
import { assertMayStartGapFix } from '../../core/policies.js';
import type { CommandHandler } from '../handler.js';

/** What starting a gap's fix needs: the agent, and what the fix of each kind of gap starts (src/compose.ts builds it). */
export interface FixComplianceGapDeps {
  agents: Pick<AgentRepository, 'get'>;
  remediation: ComplianceRemediationDeps;
}

/**
 * Start the fix on a compliance gap: compliance officers and the DPO, refused by role before the
 * agent is looked up (so an agent id reveals nothing); one fix of a kind at a time.
 */
export function fixComplianceGapHandler(
  deps: FixComplianceGapDeps,
): CommandHandler<'compliance.gap.fix', AgentRecord | undefined, ComplianceRemediationResult> {
  return {
    load: (_actor, { agentId }) => deps.agents.get(agentId),
    authorise: (actor) => assertMayStartGapFix(actor),
    handle: (actor, { agentId, gap }, agent) => {
      if (!agent) throw new NotFoundError('the agent', agentId);
      return startComplianceRemediation(deps.remediation, actor, agent, gap);
    },
  };
}
