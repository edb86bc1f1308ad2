import type { CardOf } from '../cards/view-models.js';
import type { AgentRecord } from '../core/agents.js';
import type { ComplianceRemediationCards } from '../core/compliance-remediation.js';
import { noticeCard } from './card-builders.js';

/** To the sponsors: compliance asks for the agent's evaluation to be measured by Roster; Register endpoint and run. */
export function measuredEvaluationAskedNotice(agent: Pick<AgentRecord, 'id' | 'name'>, askedBy: string): CardOf<'notice'> {
  return noticeCard({
    level: 'warning',
    title: `Evaluate ${agent.name} with Roster`,
    text: `${askedBy} (compliance) asks for ${agent.name}'s evaluation to be measured by Roster rather than typed in. Register how Roster reaches it and the role's suite runs against it.`,
    actions: [{ action: 'eval_register', label: 'Register endpoint and run', style: 'primary', value: { agentId: agent.id } }],
  });
}

/** The core's {@link ComplianceRemediationCards} port. */
export const complianceRemediationCards: ComplianceRemediationCards = { measuredEvaluationAsked: measuredEvaluationAskedNotice };
