import type { OrgConfig } from '../../config/schemas.js';
import type { AlertRecord, AlertRepository, AlertService } from '../../core/alerts.js';
import { NotFoundError } from '../../core/errors.js';
import { idToLookUp } from '../../core/ids.js';
import { assertMayActOnAlert } from '../../core/policies.js';
import type { CommandHandler } from '../handler.js';

/** What acknowledging an alert needs: the alert (for its rotation) and the service that changes it. */
export interface AcknowledgeAlertDeps {
  org: OrgConfig;
  alerts: Pick<AlertRepository, 'get'>;
  service: Pick<AlertService, 'acknowledge'>;
}

/** An alert's Acknowledge: paging stops and the rotation sees who has it (a resolved alert is closed). */
export function acknowledgeAlertHandler(
  deps: AcknowledgeAlertDeps,
): CommandHandler<'alert.acknowledge', AlertRecord | undefined, AlertRecord> {
  return {
    load: (_actor, { alertId }) => deps.alerts.get(idToLookUp('AlertId', alertId, 'the alert')),
    // Refused before the alert is known to exist, so an alert id reveals nothing.
    authorise: (actor, alert) => assertMayActOnAlert(deps.org, actor, alert),
    handle: async (actor, command, alert) => {
      if (!alert) throw new NotFoundError('the alert', command.alertId);
      return deps.service.acknowledge(actor.email, alert.id);
    },
  };
}
