import type { OrgConfig } from '../config/schemas.js';
import { roleById } from '../config/directory.js';
import type { AgentRecord } from './agents.js';
import type { AgentId } from './ids.js';

/**
 * What a run about an existing agent carries (suspension, retirement, version promotion, DPO
 * review): the fields of an agent request's context that the approval and status cards read, so
 * every flow's cards read the same.
 */
export interface AgentRunContext {
  [key: string]: unknown;
  agentId: AgentId;
  agentName: string;
  roleTitle: string;
  riskTier: string;
  businessUnit: string;
  sponsors: string[];
  /** What the run is for, as approvers read it. */
  purpose: string;
  /** Why, as approvers read it. */
  justification: string;
}

/** The context of a run about `agent`, with what it is for and why. */
export function agentRunContext(org: OrgConfig, agent: AgentRecord, why: { purpose: string; justification: string }): AgentRunContext {
  const role = roleById(org, agent.catalogRoleId);
  return {
    agentId: agent.id,
    agentName: agent.name,
    roleTitle: role?.title ?? agent.catalogRoleId,
    riskTier: role?.riskTier ?? 'low',
    businessUnit: agent.businessUnit,
    sponsors: agent.sponsors,
    purpose: why.purpose,
    justification: why.justification,
  };
}
