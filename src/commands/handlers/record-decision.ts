import type { OrgConfig } from '../../config/schemas.js';
import { reportedByAgent } from '../../core/agent-text.js';
import type { AgentRecord, KnowledgeNote } from '../../core/agents.js';
import { NotFoundError } from '../../core/errors.js';
import type { Governance } from '../../core/governance.js';
import { assertMayAddKnowledgeNote, assertMayReadDecisions } from '../../core/policies.js';
import type { Retirement } from '../../core/retirement.js';
import { displayDate } from '../../core/time.js';
import type { CommandHandler } from '../handler.js';
import { loadAgent, type AgentReads } from './load-agent.js';

/** What Record as failure mode needs: the agent, its decision log, and where notes are recorded. */
export interface RecordDecisionDeps extends AgentReads {
  org: OrgConfig;
  governance: Pick<Governance, 'decisions'>;
  notes: Pick<Retirement, 'recordNote'>;
}

/**
 * Record as failure mode on a decision of the log: who may read the agent's decisions and add
 * knowledge notes on it (its sponsors, IT admins and security). The decision is read through the
 * decision log, as viewing it is (and audited the same way).
 */
export function recordDecisionHandler(
  deps: RecordDecisionDeps,
): CommandHandler<'decision.record', AgentRecord, { agent: AgentRecord; note: KnowledgeNote }> {
  return {
    load: (_actor, { agentId }) => loadAgent(deps, agentId),
    authorise: (actor, agent) => {
      assertMayReadDecisions(actor, agent);
      assertMayAddKnowledgeNote(deps.org, actor, agent);
    },
    handle: async (actor, { eventId }, agent) => {
      const { entries } = await deps.governance.decisions(actor, agent, { eventId, limit: 1 });
      const entry = entries[0];
      if (!entry) throw new NotFoundError('the decision', eventId);
      const correctness = entry.correctness !== undefined ? `, correctness ${entry.correctness}` : '';
      const text = `Decision ${entry.eventId} on ${displayDate(entry.time)} (${entry.outcome}${correctness}), ${reportedByAgent(entry.summary, 1500)}`;
      return { agent, note: await deps.notes.recordNote(actor, agent, { kind: 'failure-mode', text: text.slice(0, 2000) }) };
    },
  };
}
