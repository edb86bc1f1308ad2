import type { AgentRecord } from '../../core/agents.js';
import type { CheckInRecord, CheckInRepository, CheckInService } from '../../core/checkin-service.js';
import { assertMayDecideCheckIn } from '../../core/policies.js';
import type { CommandHandler } from '../handler.js';
import { idToLookUp } from '../../core/ids.js';
import { loadCheckIn, type AgentReads } from './load-agent.js';

/** What a check-in decision needs: the check-in, its agent, and the service that records the choice. */
export interface DecideCheckInDeps extends AgentReads {
  checkins: Pick<CheckInRepository, 'get'>;
  service: Pick<CheckInService, 'recordDecision'>;
}

/** The sponsor's answer to a check-in's review card: Keep, Retrain or Retire, recorded once. */
export function decideCheckInHandler(
  deps: DecideCheckInDeps,
): CommandHandler<'checkin.decide', { record: CheckInRecord; agent: AgentRecord }, { record: CheckInRecord; agent: AgentRecord }> {
  return {
    load: (_actor, { checkInId }) => loadCheckIn(deps, idToLookUp('CheckInId', checkInId, 'the check-in')),
    authorise: (actor, { agent }) => assertMayDecideCheckIn(actor, agent),
    handle: (actor, { choice }, { record, agent }) => deps.service.recordDecision(actor, record, agent, choice),
  };
}
