import type { OrgConfig } from '../../config/schemas.js';
import type { AlertRecord, AlertRepository, AlertService } from '../../core/alerts.js';
import { NotFoundError } from '../../core/errors.js';
import { idToLookUp } from '../../core/ids.js';
import { assertMayActOnAlert } from '../../core/policies.js';
import type { CommandHandler } from '../handler.js';

/** What blocking a shadow alert's agents needs: the alert (for its rotation) and the service that changes it. */
export interface BlockShadowDeps {
  org: OrgConfig;
  alerts: Pick<AlertRepository, 'get'>;
  service: Pick<AlertService, 'blockShadow'>;
  /** Where an agent id's telemetry is refused. */
  telemetry: { block(agentId: string, by: string): Promise<void> };
}

/** A shadow alert's Block: the telemetry of its unregistered agent ids is refused from now on, and the alert resolved. */
export function blockShadowHandler(deps: BlockShadowDeps): CommandHandler<'alert.block', AlertRecord | undefined, AlertRecord> {
  return {
    load: (_actor, { alertId }) => deps.alerts.get(idToLookUp('AlertId', alertId, 'the alert')),
    // Refused before the alert is known to exist, so an alert id reveals nothing.
    authorise: (actor, alert) => assertMayActOnAlert(deps.org, actor, alert),
    handle: async (actor, command, alert) => {
      if (!alert) throw new NotFoundError('the alert', command.alertId);
      return deps.service.blockShadow(actor.email, alert.id, (agentId) => deps.telemetry.block(agentId, actor.email));
    },
  };
}
