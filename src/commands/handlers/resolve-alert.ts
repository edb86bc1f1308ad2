import type { OrgConfig } from '../../config/schemas.js';
import type { AlertRecord, AlertRepository, AlertService } from '../../core/alerts.js';
import { NotFoundError } from '../../core/errors.js';
import { idToLookUp } from '../../core/ids.js';
import { assertMayActOnAlert } from '../../core/policies.js';
import type { CommandHandler } from '../handler.js';

/** What resolving an alert needs: the alert (for its rotation) and the service that changes it. */
export interface ResolveAlertDeps {
  org: OrgConfig;
  alerts: Pick<AlertRepository, 'get'>;
  service: Pick<AlertService, 'resolve'>;
}

/** An alert's Resolve: closed, its pager told; resolving a resolved alert changes nothing. */
export function resolveAlertHandler(deps: ResolveAlertDeps): CommandHandler<'alert.resolve', AlertRecord | undefined, AlertRecord> {
  return {
    load: (_actor, { alertId }) => deps.alerts.get(idToLookUp('AlertId', alertId, 'the alert')),
    // Refused before the alert is known to exist, so an alert id reveals nothing.
    authorise: (actor, alert) => assertMayActOnAlert(deps.org, actor, alert),
    handle: async (actor, command, alert) => {
      if (!alert) throw new NotFoundError('the alert', command.alertId);
      return deps.service.resolve(actor.email, alert.id);
    },
  };
}
