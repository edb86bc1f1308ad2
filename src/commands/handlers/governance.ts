import type { AgentRecord } from '../../core/agents.js';
import type { FleetView } from '../../core/fleet.js';
import type { ComplianceReport, DecisionEntry, Governance } from '../../core/governance.js';
import {
  assertDashboardReaderPerson,
  assertMayReadComplianceReport,
  assertMayReadDecisions,
  assertMaySeeAgent,
} from '../../core/policies.js';
import type { RuntimeApprovalRecord, RuntimeApprovals } from '../../core/runtime-approvals.js';
import type { CommandHandler } from '../handler.js';
import { findAgent, type AgentLookup } from './show-agent.js';

/** What the governance words need: the agents (named by id or name), the governance service, runtime approvals, the fleet view and dashboard links. */
export interface GovernanceDeps extends AgentLookup {
  governance: Pick<Governance, 'decisions' | 'complianceReport'>;
  runtime: Pick<RuntimeApprovals, 'recent'>;
  fleet(): Promise<FleetView>;
  dashboard: { publicUrl: string; links: { issue(email: string): string } };
}

/** An agent's recent decisions and, unless one outcome is asked for, its latest runtime approvals. */
export interface DecisionsView {
  agent: AgentRecord;
  entries: DecisionEntry[];
  runtime: RuntimeApprovalRecord[];
}

/** How many decisions and runtime approvals one look shows. */
const DECISIONS_SHOWN = 15;
const RUNTIME_SHOWN = 5;

/**
 * `decisions`, `compliance`, `fleet` and `dashboard`. Who may read an agent's decisions is asked
 * here (and by `decision.record`), once: the governance service reads and audits them without a
 * second copy of the rule. So is who may read the compliance report (`compliance.report`, given by
 * the chat word and the HTTP dashboard alike): the service keeps no copy; only the CLI (an
 * operator with database access, no person) reads it off the bus.
 */
export function governanceHandlers(deps: GovernanceDeps) {
  return {
    'agent.decisions': {
      load: (actor, { agent }) => findAgent(deps, actor, agent),
      authorise: (actor, agent, { namedBy }) => {
        if (namedBy === 'words') assertMaySeeAgent(deps.org, actor, agent);
        assertMayReadDecisions(actor, agent);
      },
      handle: async (actor, { since, outcome }, agent) => {
        const { entries } = await deps.governance.decisions(actor, agent, {
          ...(since ? { since } : {}),
          ...(outcome ? { outcome } : {}),
          limit: DECISIONS_SHOWN,
        });
        // Runtime approvals have no outcome of their own: a filtered look leaves them out.
        const runtime = outcome
          ? []
          : (await deps.runtime.recent(agent.id, RUNTIME_SHOWN)).filter((r) => !since || Date.parse(r.createdAt) >= since.getTime());
        return { agent, entries, runtime };
      },
    },
    'compliance.report': {
      load: async () => undefined,
      authorise: (actor) => assertMayReadComplianceReport(actor),
      handle: (_actor, { regulation }) => deps.governance.complianceReport(regulation),
    },
    'fleet.show': {
      load: async () => undefined,
      authorise: (actor) => assertDashboardReaderPerson(actor),
      handle: () => deps.fleet(),
    },
    'dashboard.link': {
      load: async () => undefined,
      authorise: (actor) => assertDashboardReaderPerson(actor),
      handle: async (actor) => ({ url: `${deps.dashboard.publicUrl}/dashboard?token=${deps.dashboard.links.issue(actor.email)}` }),
    },
  } satisfies {
    'agent.decisions': CommandHandler<'agent.decisions', AgentRecord, DecisionsView>;
    'compliance.report': CommandHandler<'compliance.report', undefined, ComplianceReport>;
    'fleet.show': CommandHandler<'fleet.show', undefined, FleetView>;
    'dashboard.link': CommandHandler<'dashboard.link', undefined, { url: string }>;
  };
}
