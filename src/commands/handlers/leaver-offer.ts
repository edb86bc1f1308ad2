import type { AgentRecord } from '../../core/agents.js';
import type { LeaverRepository, Leavers, SponsorshipOffer } from '../../core/leavers.js';
import { assertMayTakeLeaverOffer } from '../../core/policies.js';
import type { Retirement } from '../../core/retirement.js';
import type { FlowEngine } from '../../flows/engine.js';
import type { FlowRun } from '../../flows/types.js';
import type { CommandHandler } from '../handler.js';
import { loadAgent, type AgentReads } from './load-agent.js';

/** What taking a leaver's agent needs: the agent, its open offer, the service that takes it, and retirement. */
export interface TakeLeaverOfferDeps extends AgentReads {
  offers: Pick<LeaverRepository, 'open'>;
  leavers: Pick<Leavers, 'accept'>;
  engine: FlowEngine;
  retirement: Pick<Retirement, 'start'>;
}

/** The agent taken, and the retirement started when it was taken to retire it. */
export interface TakenOffer {
  agent: AgentRecord;
  run?: FlowRun;
}

/**
 * Accept or Retire on a leaver's agent: only the manager the open offer names (the offer store takes
 * it in the same write too, so two clicks take it once). Retiring asks retirement's own rule once the
 * manager sponsors it: they become a sponsor by taking the offer, so it cannot be asked before.
 */
export function takeLeaverOfferHandler(
  deps: TakeLeaverOfferDeps,
): CommandHandler<'leaver.offer.accept', { agent: AgentRecord; offer: SponsorshipOffer | undefined }, TakenOffer> {
  return {
    load: async (actor, { agentId }) => {
      const agent = await loadAgent(deps, agentId);
      return { agent, offer: await deps.offers.open(agent.id, actor.email) };
    },
    authorise: (actor, { agent, offer }) => assertMayTakeLeaverOffer(actor, agent, offer),
    handle: async (actor, { then }, { agent }) => {
      await deps.leavers.accept(actor.email, agent.id, then);
      if (then === 'keep') return { agent };
      const run = await deps.retirement.start(deps.engine, actor.email, {
        agentId: agent.id,
        reason: `Its sponsor left; ${actor.name}, their manager, chose to retire it.`,
      });
      return { agent, run };
    },
  };
}
