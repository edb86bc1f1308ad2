import type { CatalogRole, OrgConfig } from '../../config/schemas.js';
import { roleById } from '../../config/directory.js';
import { assertNotBeingRegistered, type AlertRecord, type AlertRepository } from '../../core/alerts.js';
import { InvalidInputError, NotFoundError, RequestClosedError } from '../../core/errors.js';
import { assertMayRegisterShadow } from '../../core/policies.js';
import type { CommandHandler } from '../handler.js';

/** What Register on a shadow alert needs: the alert, and the catalog its role is picked from. */
export interface RegisterShadowDeps {
  org: OrgConfig;
  alerts: Pick<AlertRepository, 'get'>;
}

/** A shadow agent that may be registered: its alert, the sponsor the request names, and the role picked (once one is). */
export interface ShadowRegistration {
  alert: AlertRecord;
  /** The sponsor assigned on the alert, else whoever registers it. */
  sponsor: string;
  role?: CatalogRole;
}

/**
 * Register on a shadow alert: its responders and the sponsor assigned to it, while the alert is
 * open and no registration was requested yet. The request itself is `agent.request` with the
 * agent's id (the same rule again, when the form is sent).
 */
export function registerShadowHandler(deps: RegisterShadowDeps): CommandHandler<'alert.register', AlertRecord, ShadowRegistration> {
  return {
    load: async (_actor, { alertId }) => {
      const alert = await deps.alerts.get(alertId);
      if (!alert) throw new NotFoundError('the alert', alertId);
      return alert;
    },
    authorise: (actor, alert) => assertMayRegisterShadow(deps.org, actor, alert),
    handle: async (actor, { roleId }, alert) => {
      if (alert.status === 'resolved') throw new RequestClosedError('completed', alert.resolvedAt ? new Date(alert.resolvedAt) : undefined);
      assertNotBeingRegistered(alert);
      const sponsor = typeof alert.details.sponsor === 'string' ? alert.details.sponsor : actor.email;
      if (roleId === undefined) return { alert, sponsor };
      const role = roleById(deps.org, roleId);
      if (!role) throw new InvalidInputError('Pick a catalog role.', { role: 'Pick a catalog role.' });
      return { alert, sponsor, role };
    },
  };
}
