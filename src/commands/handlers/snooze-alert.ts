import type { OrgConfig } from '../../config/schemas.js';
import type { AlertRecord, AlertRepository, AlertService } from '../../core/alerts.js';
import { NotFoundError } from '../../core/errors.js';
import { idToLookUp } from '../../core/ids.js';
import { assertMayActOnAlert } from '../../core/policies.js';
import type { CommandHandler } from '../handler.js';

/** What snoozing an alert needs: the alert (for its rotation) and the service that changes it. */
export interface SnoozeAlertDeps {
  org: OrgConfig;
  alerts: Pick<AlertRepository, 'get'>;
  service: Pick<AlertService, 'snooze'>;
}

/** An alert's Snooze: quiet for the chosen while, then it pages again (a resolved alert is closed). */
export function snoozeAlertHandler(deps: SnoozeAlertDeps): CommandHandler<'alert.snooze', AlertRecord | undefined, AlertRecord> {
  return {
    load: (_actor, { alertId }) => deps.alerts.get(idToLookUp('AlertId', alertId, 'the alert')),
    // Refused before the alert is known to exist, so an alert id reveals nothing.
    authorise: (actor, alert) => assertMayActOnAlert(deps.org, actor, alert),
    handle: async (actor, command, alert) => {
      if (!alert) throw new NotFoundError('the alert', command.alertId);
      return deps.service.snooze(actor.email, alert.id, command.for);
    },
  };
}
