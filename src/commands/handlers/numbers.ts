import type { OrgConfig } from '../../config/schemas.js';
import type { AgentRecord } from '../../core/agents.js';
import type { AlertRecord, AlertRepository } from '../../core/alerts.js';
import type { CheckInRecord, CheckInRepository } from '../../core/checkin-service.js';
import { NotFoundError } from '../../core/errors.js';
import { assertMayReadAlertNumbers, assertMayReadCheckInNumbers } from '../../core/policies.js';
import type { CommandHandler } from '../handler.js';
import { loadCheckIn, type AgentReads } from './load-agent.js';

/** What the numbers behind a check-in or an alert need: the record and its agent. */
export interface NumbersDeps extends AgentReads {
  org: OrgConfig;
  alerts: Pick<AlertRepository, 'get'>;
  checkins: Pick<CheckInRepository, 'get'>;
}

type CheckInNumbers = { record: CheckInRecord; agent: AgentRecord };
type AlertNumbers = { alert: AlertRecord; agent: AgentRecord | undefined };

/**
 * The numbers behind a check-in (whoever may see its agent) and an alert (its responders, and
 * whoever may see its agent, which a shadow alert's may not be in Roster at all).
 */
export function numbersHandlers(deps: NumbersDeps) {
  return {
    'checkin.numbers': {
      load: (_actor, { checkInId }) => loadCheckIn(deps, checkInId),
      authorise: (actor, { agent }) => assertMayReadCheckInNumbers(deps.org, actor, agent),
      handle: async (_actor, _command, subject) => subject,
    },
    'alert.numbers': {
      load: async (_actor, { alertId }) => {
        const alert = await deps.alerts.get(alertId);
        if (!alert) throw new NotFoundError('the alert', alertId);
        return { alert, agent: await deps.agents.get(alert.agentId) };
      },
      authorise: (actor, { alert, agent }) => assertMayReadAlertNumbers(deps.org, actor, alert, agent),
      handle: async (_actor, _command, subject) => subject,
    },
  } satisfies {
    'checkin.numbers': CommandHandler<'checkin.numbers', CheckInNumbers, CheckInNumbers>;
    'alert.numbers': CommandHandler<'alert.numbers', AlertNumbers, AlertNumbers>;
  };
}
