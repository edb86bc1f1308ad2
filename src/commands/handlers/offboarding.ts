import type { OrgConfig, Person } from '../../config/schemas.js';
import { roleById } from '../../config/directory.js';
import type { AgentRecord } from '../../core/agents.js';
import type { Development } from '../../core/development.js';
import type { EvaluationVerdict } from '../../core/evaluation.js';
import { assertMayProposeVersion, assertMaySeeAgent, assertMayStartRetirement } from '../../core/policies.js';
import type { ArchiveRecord, Retirement } from '../../core/retirement.js';
import type { Evaluations } from '../../evals/evaluations.js';
import type { EvalRunRecord } from '../../evals/types.js';
import type { FlowEngine } from '../../flows/engine.js';
import type { FlowRun } from '../../flows/types.js';
import type { CommandHandler } from '../handler.js';
import { agentViewed, findAgent, type AgentLookup } from './show-agent.js';

/** What the offboarding and development words need: the agents, and the services that retire, archive and version them. */
export interface OffboardingDeps extends AgentLookup {
  engine: FlowEngine;
  retirement: Pick<Retirement, 'start' | 'archive'>;
  development: Pick<Development, 'proposeVersion' | 'checkMeasuredProposal'>;
  evaluations: Pick<Evaluations, 'suite' | 'registerVersionEndpoint' | 'start'>;
}

/** A proposed version: measured by Roster (the suite runs now), or typed-in results checked and sent to approval. */
export type ProposedVersion =
  { agent: AgentRecord; measured: EvalRunRecord } | { agent: AgentRecord; run: FlowRun; verdict: EvaluationVerdict };

/** A retired agent's archive, and whether its digest still matches. */
export interface ArchiveView {
  agent: AgentRecord;
  archive: ArchiveRecord & { verified: boolean };
}

/** The agent a command names, for people who may see it (anyone else is told it does not exist). */
function namedAgent(deps: AgentLookup) {
  return {
    load: (actor: Person, { agent }: { agent: string }) => findAgent(deps, actor, agent),
    see: (actor: Person, agent: AgentRecord) => assertMaySeeAgent(deps.org, actor, agent),
  };
}

function roleFit(org: OrgConfig, roleId: string): string[] {
  return roleById(org, roleId)?.evaluation.roleFit ?? [];
}

/**
 * `retire`, `archive` and `update`: each names its agent, which the person must be able to see,
 * then its own rule in policies.ts. Retiring and proposing a version are only on the bus: their
 * rules left the services (the check-in's Retire effect starts a retirement its `checkin.decide`
 * authorised, by the same rule). The typed `note`,
 * `retrain … postpone`, `reactivate` and `sponsor` give the same commands as their buttons
 * (add-note.ts, retraining.ts, request-reactivation.ts, answer-sponsorship.ts).
 */
export function offboardingHandlers(deps: OffboardingDeps) {
  const named = namedAgent(deps);
  return {
    'agent.retire': {
      load: async (actor, command) => ({
        agent: await named.load(actor, command),
        successor: command.successor !== undefined ? await findAgent(deps, actor, command.successor) : undefined,
      }),
      authorise: (actor, { agent, successor }) => {
        named.see(actor, agent);
        if (successor) named.see(actor, successor);
        assertMayStartRetirement(actor, agent);
      },
      handle: (actor, { reason }, { agent, successor }) =>
        deps.retirement.start(deps.engine, actor.email, { agentId: agent.id, ...(successor ? { successorId: successor.id } : {}), reason }),
    },
    'agent.archive': {
      load: named.load,
      authorise: named.see,
      handle: async (_actor, _command, agent) => ({ agent, archive: await deps.retirement.archive(agent.id) }),
      audit: (actor, _command, { agent }) => agentViewed(actor, agent),
    },
    'agent.version.propose': {
      load: named.load,
      authorise: (actor, agent) => {
        named.see(actor, agent);
        assertMayProposeVersion(actor, agent);
      },
      handle: async (actor, { version, metrics, changelog }, agent) => {
        const typed = [metrics.acc, metrics.p95, metrics.cost].some((m) => m !== undefined);
        if (deps.evaluations.suite(agent.catalogRoleId) && !typed) {
          await deps.development.checkMeasuredProposal(agent.id, version, changelog);
          await deps.evaluations.registerVersionEndpoint(actor.email, agent.id, version, metrics.endpoint);
          const measured = await deps.evaluations.start(actor.email, { agentId: agent.id, purpose: 'version', version, changelog });
          return { agent, measured };
        }
        const { run, verdict } = await deps.development.proposeVersion(deps.engine, actor.email, agent.id, {
          version,
          changelog,
          evaluation: {
            accuracy: metrics.acc ?? 'x',
            p95LatencyMs: metrics.p95 ?? 'x',
            costPerTaskUSD: metrics.cost ?? 'x',
            roleFitChecked: metrics.fit === 'all' ? roleFit(deps.org, agent.catalogRoleId) : [],
          },
        });
        return { agent, run, verdict };
      },
    },
  } satisfies {
    'agent.retire': CommandHandler<'agent.retire', { agent: AgentRecord; successor: AgentRecord | undefined }, FlowRun>;
    'agent.archive': CommandHandler<'agent.archive', AgentRecord, ArchiveView>;
    'agent.version.propose': CommandHandler<'agent.version.propose', AgentRecord, ProposedVersion>;
  };
}
