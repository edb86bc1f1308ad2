import type { Person, OrgConfig } from '../../config/schemas.js';
import type { AlertRecord, AlertRepository, AlertService } from '../../core/alerts.js';
import { NotFoundError } from '../../core/errors.js';
import { idToLookUp } from '../../core/ids.js';
import { assertMayActOnAlert } from '../../core/policies.js';
import type { Parsed } from '../command.js';
import type { CommandHandler } from '../handler.js';

/** Where an alert command reads its alert, and the directory its rotation's rule reads. */
export interface AlertReads {
  org: OrgConfig;
  alerts: Pick<AlertRepository, 'get'>;
}

/** What an alert's buttons need: the alert (for its rotation), the service that changes it, where telemetry is refused. */
export interface AlertActionDeps extends AlertReads {
  service: Pick<AlertService, 'acknowledge' | 'escalateNow' | 'snooze' | 'resolve' | 'blockShadow'>;
  /** Where an agent id's telemetry is refused (a shadow alert's Block). */
  telemetry: { block(agentId: string, by: string): Promise<void> };
}

/** The commands of an alert's buttons: each names the alert, and the same people may give them. */
type AlertActionType = 'alert.acknowledge' | 'alert.escalate' | 'alert.snooze' | 'alert.resolve' | 'alert.block';

/** The person's commands that name an alert by a card's id (refused as not found once who may is known). */
type AlertCommandType = 'agent.suspension.request' | 'alert.sponsor.assign' | AlertActionType;

/**
 * The alert a command names, or undefined when there is none: the who-may rule is asked before
 * the alert is known to exist (an unknown one is judged by the default rotation), so an id reveals nothing.
 */
export function loadAlert(alerts: Pick<AlertRepository, 'get'>, alertId: string): Promise<AlertRecord | undefined> {
  return alerts.get(idToLookUp('AlertId', alertId, 'the alert'));
}

/**
 * One command on an alert: load the alert, ask `rule` (by default the responder rule: its rotation's
 * on-call, IT admins, security) before the alert is known to exist, then `act` on it, or refuse it
 * as not found.
 */
export function alertAction<T extends AlertCommandType, Result = AlertRecord>(
  deps: AlertReads,
  act: (actor: Person, command: Parsed<T>, alert: AlertRecord) => Promise<Result>,
  rule: (org: OrgConfig, actor: Person, alert: AlertRecord | undefined) => void = assertMayActOnAlert,
): CommandHandler<T, AlertRecord | undefined, Result> {
  // Every alert command names its alert; TypeScript cannot see that through a generic `Parsed<T>`.
  const alertIdOf = (command: Parsed<T>) => (command as Parsed<AlertCommandType>).alertId;
  return {
    load: (_actor, command) => loadAlert(deps.alerts, alertIdOf(command)),
    authorise: (actor, alert) => rule(deps.org, actor, alert),
    handle: async (actor, command, alert) => {
      if (!alert) throw new NotFoundError('the alert', alertIdOf(command));
      return act(actor, command, alert);
    },
  };
}

/**
 * The handlers of an alert's buttons; each change is the service's compare-and-set write, so a
 * resolved alert is closed to all but Resolve (which changes nothing then).
 */
export function alertActionHandlers(deps: AlertActionDeps) {
  const { service } = deps;
  return {
    // Paging stops and the rotation sees who has it.
    'alert.acknowledge': alertAction<'alert.acknowledge'>(deps, (actor, _command, alert) => service.acknowledge(actor.email, alert.id)),
    // Its rotation's next level is paged now.
    'alert.escalate': alertAction<'alert.escalate'>(deps, (actor, _command, alert) => service.escalateNow(actor.email, alert.id)),
    // Quiet for the chosen while, then it pages again.
    'alert.snooze': alertAction<'alert.snooze'>(deps, (actor, command, alert) => service.snooze(actor.email, alert.id, command.for)),
    // Closed, its pager told.
    'alert.resolve': alertAction<'alert.resolve'>(deps, (actor, _command, alert) => service.resolve(actor.email, alert.id)),
    // A shadow alert's unregistered agent ids are refused telemetry from now on, and the alert resolved.
    'alert.block': alertAction<'alert.block'>(deps, (actor, _command, alert) =>
      service.blockShadow(actor.email, alert.id, (agentId) => deps.telemetry.block(agentId, actor.email)),
    ),
  } satisfies { [T in AlertActionType]: CommandHandler<T, AlertRecord | undefined, AlertRecord> };
}
