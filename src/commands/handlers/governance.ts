import type { AgentRecord } from '../../core/agents.js';
import type { AlertRecord, AlertRepository } from '../../core/alerts.js';
import type { CheckInRecord, CheckInRepository } from '../../core/checkin-service.js';
import { InvalidInputError } from '../../core/errors.js';
import type { Person } from '../../config/schemas.js';
import type { FleetView } from '../../core/fleet.js';
import type { ComplianceReport, DecisionEntry, Governance } from '../../core/governance.js';
import {
  assertDashboardReaderPerson,
  assertMayReadComplianceReport,
  assertMayReadDecisions,
  assertMaySeeAgent,
} from '../../core/policies.js';
import type { RuntimeApprovalRecord, RuntimeApprovals } from '../../core/runtime-approvals.js';
import type { Parsed } from '../command.js';
import type { CommandHandler } from '../handler.js';
import { loadAlertAndAgent, loadCheckIn } from './load-agent.js';
import { findAgent, type AgentLookup } from './show-agent.js';

/**
 * What the governance words need: the agents (named by id or name), the alerts and check-ins whose
 * decisions are asked for, the governance service, runtime approvals, the fleet view and dashboard links.
 */
export interface GovernanceDeps extends AgentLookup {
  alerts: Pick<AlertRepository, 'get'>;
  checkins: Pick<CheckInRepository, 'get'>;
  governance: Pick<Governance, 'decisions' | 'complianceReport'>;
  runtime: Pick<RuntimeApprovals, 'recent'>;
  fleet(): Promise<FleetView>;
  dashboard: { publicUrl: string; links: { issue(email: string): string } };
}

/**
 * An agent's recent decisions and, unless one outcome is asked for, its latest runtime approvals;
 * the alert or check-in they were asked behind, and the window and outcome they were read for.
 */
export interface DecisionsView {
  agent: AgentRecord;
  entries: DecisionEntry[];
  runtime: RuntimeApprovalRecord[];
  alert?: AlertRecord;
  checkIn?: CheckInRecord;
  since?: Date;
  outcome?: string;
}

/** How many decisions and runtime approvals one look shows. */
const DECISIONS_SHOWN = 15;
const RUNTIME_SHOWN = 5;
/** How far before an alert was raised its decisions are read. */
const BEFORE_ALERT_MS = 14 * 86_400_000;

/** Whose decisions a look reads, and the alert or check-in it was asked behind. */
interface DecisionsSubject {
  agent: AgentRecord;
  alert?: AlertRecord;
  checkIn?: CheckInRecord;
}

async function loadDecisionsSubject(deps: GovernanceDeps, actor: Person, command: Parsed<'agent.decisions'>): Promise<DecisionsSubject> {
  if (command.checkInId) {
    const { record: checkIn, agent } = await loadCheckIn(deps, command.checkInId);
    return { agent, checkIn };
  }
  if (command.alertId) return loadAlertAndAgent(deps, command.alertId);
  if (command.agent === undefined) throw new InvalidInputError('Name the agent by id or by "name in quotes".');
  return { agent: await findAgent(deps, actor, command.agent) };
}

/** The window and outcome a look reads: those asked for, else the alert's or the check-in's. */
function decisionsFilter({ alert, checkIn }: DecisionsSubject, { since, outcome }: Parsed<'agent.decisions'>) {
  const from =
    since ?? (alert ? new Date(Date.parse(alert.createdAt) - BEFORE_ALERT_MS) : checkIn ? new Date(checkIn.window.currentFrom) : undefined);
  const only = outcome ?? (alert?.kind === 'error-spike' ? 'failure' : undefined);
  return { ...(from ? { since: from } : {}), ...(only ? { outcome: only } : {}) };
}

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
      load: (actor, command) => loadDecisionsSubject(deps, actor, command),
      authorise: (actor, { agent }, { agent: named, namedBy }) => {
        // A typed name reaches only agents the person may see; an alert's or a check-in's agent is the decision rule's alone.
        if (named !== undefined && namedBy === 'words') assertMaySeeAgent(deps.org, actor, agent);
        assertMayReadDecisions(actor, agent);
      },
      handle: async (actor, command, subject) => {
        const { agent } = subject;
        const { since, outcome } = decisionsFilter(subject, command);
        const { entries } = await deps.governance.decisions(actor, agent, {
          ...(since ? { since } : {}),
          ...(outcome ? { outcome } : {}),
          limit: DECISIONS_SHOWN,
        });
        // Runtime approvals have no outcome of their own: a filtered look leaves them out.
        const runtime = outcome
          ? []
          : (await deps.runtime.recent(agent.id, RUNTIME_SHOWN)).filter((r) => !since || Date.parse(r.createdAt) >= since.getTime());
        return { ...subject, entries, runtime, ...(since ? { since } : {}), ...(outcome ? { outcome } : {}) };
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
    'agent.decisions': CommandHandler<'agent.decisions', DecisionsSubject, DecisionsView>;
    'compliance.report': CommandHandler<'compliance.report', undefined, ComplianceReport>;
    'fleet.show': CommandHandler<'fleet.show', undefined, FleetView>;
    'dashboard.link': CommandHandler<'dashboard.link', undefined, { url: string }>;
  };
}
