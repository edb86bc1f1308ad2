import type { OrgConfig } from '../../config/schemas.js';
import type { AlertRecord, AlertRepository, AlertService } from '../../core/alerts.js';
import { NotFoundError } from '../../core/errors.js';
import type { Leavers } from '../../core/leavers.js';
import { assertMayActOnAlert } from '../../core/policies.js';
import type { CommandHandler } from '../handler.js';
import { loadAlert } from './alert-actions.js';

/** What Assign sponsor on an alert needs: the alert (for its rotation), the alert service, and the leavers' assignment of an ownerless agent. */
export interface AssignAlertSponsorDeps {
  org: OrgConfig;
  alerts: Pick<AlertRepository, 'get'>;
  service: Pick<AlertService, 'assignSponsor'>;
  leavers: Pick<Leavers, 'assign'>;
}

/**
 * Assign sponsor on a shadow or ownerless alert: the alert's responders (its rotation's on-call, IT
 * admins, security), asked before the alert is known to exist. For an ownerless agent the person
 * becomes its sponsor (or, naming themselves, waits for an IT admin).
 */
export function assignAlertSponsorHandler(
  deps: AssignAlertSponsorDeps,
): CommandHandler<'alert.sponsor.assign', AlertRecord | undefined, AlertRecord> {
  return {
    load: (_actor, { alertId }) => loadAlert(deps.alerts, alertId),
    authorise: (actor, alert) => assertMayActOnAlert(deps.org, actor, alert),
    handle: async (actor, { alertId, sponsor }, alert) => {
      if (!alert) throw new NotFoundError('the alert', alertId);
      return deps.service.assignSponsor(actor.email, alert.id, sponsor, async (a) =>
        a.kind === 'ownerless' ? deps.leavers.assign(actor.email, a.agentId, sponsor, a.id) : undefined,
      );
    },
  };
}
