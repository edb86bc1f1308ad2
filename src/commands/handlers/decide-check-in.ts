import type { AgentRecord, AgentRepository } from '../../core/agents.js';
import type { CheckInRecord, CheckInRepository, CheckInService } from '../../core/checkin-service.js';
import { NotFoundError } from '../../core/errors.js';
import { assertMayDecideCheckIn } from '../../core/policies.js';
import type { CommandHandler } from '../handler.js';
import { idToLookUp } from '../../core/ids.js';

/** What a check-in decision needs: the check-in, its agent, and the service that records the choice. */
export interface DecideCheckInDeps {
  checkins: Pick<CheckInRepository, 'get'>;
  agents: Pick<AgentRepository, 'get'>;
  service: Pick<CheckInService, 'recordDecision'>;
}

/** The sponsor's answer to a check-in's review card: Keep, Retrain or Retire, recorded once. */
export function decideCheckInHandler(
  deps: DecideCheckInDeps,
): CommandHandler<'checkin.decide', { record: CheckInRecord; agent: AgentRecord }, { record: CheckInRecord; agent: AgentRecord }> {
  return {
    load: async (_actor, { checkInId }) => {
      const record = await deps.checkins.get(idToLookUp('CheckInId', checkInId, 'the check-in'));
      if (!record) throw new NotFoundError('the check-in', checkInId);
      const agent = await deps.agents.get(record.agentId);
      if (!agent) throw new NotFoundError('the agent', record.agentId);
      return { record, agent };
    },
    authorise: (actor, { agent }) => assertMayDecideCheckIn(actor, agent),
    handle: (actor, { choice }, { record, agent }) => deps.service.recordDecision(actor, record, agent, choice),
  };
}
