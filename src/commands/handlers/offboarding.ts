import type { OrgConfig, Person } from '../../config/schemas.js';
import { findPersonByEmail, roleById } from '../../config/directory.js';
import type { AgentRecord, KnowledgeNote } from '../../core/agents.js';
import type { Development, RetrainingRecord } from '../../core/development.js';
import { InvalidInputError } from '../../core/errors.js';
import type { EvaluationVerdict } from '../../core/evaluation.js';
import { idOrUndefined } from '../../core/ids.js';
import type { Leavers } from '../../core/leavers.js';
import {
  assertMayAddKnowledgeNote,
  assertMayAnswerSponsorship,
  assertMayAskReactivation,
  assertMayManageRetraining,
  assertMayProposeVersion,
  assertMaySeeAgent,
  assertMayStartRetirement,
} from '../../core/policies.js';
import type { Reactivation } from '../../core/reactivation.js';
import type { ArchiveRecord, Retirement } from '../../core/retirement.js';
import { Sponsorships } from '../../core/sponsorships.js';
import type { Evaluations } from '../../evals/evaluations.js';
import type { EvalRunRecord } from '../../evals/types.js';
import type { FlowEngine } from '../../flows/engine.js';
import type { FlowRun } from '../../flows/types.js';
import type { CommandHandler } from '../handler.js';
import { findAgent, type AgentLookup } from './show-agent.js';

/** What the offboarding and development words need: the agents, and the services that retire, note, version, retrain, reactivate and sponsor them. */
export interface OffboardingDeps extends AgentLookup {
  engine: FlowEngine;
  retirement: Pick<Retirement, 'start' | 'addNote' | 'archive'>;
  reactivation: Pick<Reactivation, 'start'>;
  development: Pick<Development, 'proposeVersion' | 'checkMeasuredProposal' | 'postponeRetraining'>;
  evaluations: Pick<Evaluations, 'suite' | 'registerVersionEndpoint' | 'start'>;
  sponsorships: Pick<Sponsorships, 'answer'>;
  leavers: Pick<Leavers, 'accept'>;
}

/** A proposed version: measured by Roster (the suite runs now), or typed-in results checked and sent to approval. */
export type ProposedVersion =
  { agent: AgentRecord; measured: EvalRunRecord } | { agent: AgentRecord; run: FlowRun; verdict: EvaluationVerdict };

/** An accepted sponsorship: one the person was named for (or an IT admin confirmed), or a leaver's agent offered to their manager. */
export interface AcceptedSponsorship {
  agent: AgentRecord;
  via: 'named' | 'offered';
}

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

/** The sponsorship waiting for the person (or, confirming, for the person they name), if any. */
function namedSponsorship(agent: AgentRecord, actor: Person, confirm?: string) {
  return confirm ? Sponsorships.proposalFor(agent, confirm) : Sponsorships.proposalFor(agent, actor.email);
}

function roleFit(org: OrgConfig, roleId: string): string[] {
  return roleById(org, roleId)?.evaluation.roleFit ?? [];
}

/**
 * `retire`, `note`, `archive`, `update`, `retrain … postpone`, `sponsor` and `reactivate`: each
 * names its agent, which the person must be able to see, then its own rule in policies.ts. The
 * services keep their checks where a door not on the bus calls them too: the agent buttons and
 * prompts of chat-actions.ts (Retire from an alert or a leaver's card, notes from alerts, check-ins
 * and profiles, Postpone, Reactivate, Confirm / Decline a sponsorship, Accept a leaver's agent) and
 * the check-in's Retire effect. Proposing a version is only on the bus: its rule left the service.
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
    'agent.note': {
      load: named.load,
      authorise: (actor, agent) => {
        named.see(actor, agent);
        assertMayAddKnowledgeNote(deps.org, actor, agent);
      },
      handle: async (actor, { kind, text }, agent) => ({
        agent,
        note: await deps.retirement.addNote(actor.email, agent.id, { kind, text }),
      }),
    },
    'agent.archive': {
      load: named.load,
      authorise: named.see,
      handle: async (_actor, _command, agent) => ({ agent, archive: await deps.retirement.archive(agent.id) }),
      audit: (actor, _command, { agent }) => ({
        actor: { kind: 'person', email: actor.email },
        action: 'agent.viewed',
        subject: { type: 'agent', id: agent.id, agentId: agent.id },
        details: {},
      }),
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
    'agent.retraining.postpone': {
      load: named.load,
      authorise: (actor, agent) => {
        named.see(actor, agent);
        assertMayManageRetraining(actor, agent);
      },
      handle: async (actor, { days, reason }, agent) => ({
        agent,
        record: await deps.development.postponeRetraining(actor.email, agent.id, days, reason),
      }),
    },
    'agent.reactivate': {
      load: named.load,
      authorise: (actor, agent) => assertMayAskReactivation(deps.org, actor, agent),
      handle: (actor, { reason }, agent) => deps.reactivation.start(deps.engine, actor.email, { agentId: agent.id, reason }),
    },
    'agent.sponsorship.accept': {
      // The person may not see the agent yet (a manager in another business unit): named by id only.
      load: async (_actor, { agent }) => {
        const id = agent.startsWith('agt_') ? idOrUndefined('AgentId', agent) : undefined;
        const target = id ? await deps.agents.get(id) : undefined;
        if (!target) throw new InvalidInputError('Name the agent by its id (agt_…), as in the message you received.');
        return target;
      },
      authorise: (actor, agent, { confirm }) => {
        // A leaver's offer is the offer store's to grant, in the same write that takes it (like a run's step).
        const proposal = namedSponsorship(agent, actor, confirm);
        if (!confirm && !proposal) return;
        named.see(actor, agent);
        if (proposal)
          assertMayAnswerSponsorship(actor, agent, proposal, 'accept', findPersonByEmail(deps.org, proposal.email)?.name ?? proposal.email);
      },
      handle: async (actor, { confirm }, agent) => {
        if (confirm || namedSponsorship(agent, actor)) {
          const after = await deps.sponsorships.answer(actor.email, agent.id, 'accept', confirm ? { sponsor: confirm } : {});
          return { agent: after, via: 'named' };
        }
        await deps.leavers.accept(actor.email, agent.id);
        return { agent, via: 'offered' };
      },
    },
  } satisfies {
    'agent.retire': CommandHandler<'agent.retire', { agent: AgentRecord; successor: AgentRecord | undefined }, FlowRun>;
    'agent.note': CommandHandler<'agent.note', AgentRecord, { agent: AgentRecord; note: KnowledgeNote }>;
    'agent.archive': CommandHandler<'agent.archive', AgentRecord, ArchiveView>;
    'agent.version.propose': CommandHandler<'agent.version.propose', AgentRecord, ProposedVersion>;
    'agent.retraining.postpone': CommandHandler<'agent.retraining.postpone', AgentRecord, { agent: AgentRecord; record: RetrainingRecord }>;
    'agent.reactivate': CommandHandler<'agent.reactivate', AgentRecord, FlowRun>;
    'agent.sponsorship.accept': CommandHandler<'agent.sponsorship.accept', AgentRecord, AcceptedSponsorship>;
  };
}
