import type { AlertRecord, AlertService } from '../../core/alerts.js';
import type { Leavers } from '../../core/leavers.js';
import type { CommandHandler } from '../handler.js';
import { alertAction, type AlertReads } from './alert-actions.js';

/** What Assign sponsor on an alert needs: the alert (for its rotation), the alert service, and the leavers' assignment of an ownerless agent. */
export interface AssignAlertSponsorDeps extends AlertReads {
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
  return alertAction<'alert.sponsor.assign'>(deps, (actor, { sponsor }, alert) =>
    deps.service.assignSponsor(actor.email, alert.id, sponsor, async (a) =>
      a.kind === 'ownerless' ? deps.leavers.assign(actor.email, a.agentId, sponsor, a.id) : undefined,
    ),
  );
}
