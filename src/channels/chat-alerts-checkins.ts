import type { OrgConfig, Person } from '../config/schemas.js';
import { businessUnitById } from '../config/directory.js';
import type { CardModel } from '../cards/view-models.js';
import type { ActionOutcome } from './chat-actions.js';
import type { Supervision } from '../services.js';
import type { CommandBus, CommandOf } from '../commands/index.js';
import type { AlertId, CheckInId } from '../core/ids.js';

/** Alert verbs → what they do; check-in verbs → the sponsor's choice. */
export const ALERT_VERBS = [
  'alert_ack',
  'alert_escalate',
  'alert_snooze_1h',
  'alert_snooze_4h',
  'alert_snooze_24h',
  'alert_resolve',
  'alert_suspend',
  'alert_block',
] as const;
export const CHECKIN_VERBS = ['checkin_keep', 'checkin_retrain', 'checkin_retire'] as const;
export type AlertVerb = (typeof ALERT_VERBS)[number];
export type CheckInVerb = (typeof CHECKIN_VERBS)[number];

type AlertCommand = 'alert.acknowledge' | 'alert.escalate' | 'alert.snooze' | 'alert.resolve' | 'alert.block';

/** The bus command of an alert button (Suspend, which starts a flow, is its own). */
function alertCommand(verb: Exclude<AlertVerb, 'alert_suspend'>, alertId: AlertId): CommandOf<AlertCommand> {
  switch (verb) {
    case 'alert_ack':
      return { type: 'alert.acknowledge', alertId };
    case 'alert_escalate':
      return { type: 'alert.escalate', alertId };
    case 'alert_snooze_1h':
    case 'alert_snooze_4h':
    case 'alert_snooze_24h':
      return { type: 'alert.snooze', alertId, for: verb.slice('alert_snooze_'.length) as '1h' | '4h' | '24h' };
    case 'alert_resolve':
      return { type: 'alert.resolve', alertId };
    case 'alert_block':
      return { type: 'alert.block', alertId };
  }
}

/** Clicks on alert and check-in cards, for both platforms: each returns the clicker's fresh card. */
export class AlertCheckInChat {
  constructor(
    private readonly org: OrgConfig,
    private readonly supervision: Supervision,
    private readonly bus: CommandBus,
  ) {}

  /**
   * A click on an alert card, as both platforms show it: the clicker's fresh alert card in place
   * of the clicked one, and a requested suspension's notice as a message beside it (the page
   * keeps its buttons for the rest of the response).
   */
  async alertClick(person: Person, verb: AlertVerb, alertId: AlertId): Promise<ActionOutcome> {
    const answer = await this.alertAction(person, verb, alertId);
    if (answer.kind !== 'notice') return { card: answer };
    const alert = await this.supervision.alertRepo.get(alertId);
    return alert ? { card: this.supervision.cards.alert(alert, person.email), followUp: answer } : { followUp: answer };
  }

  async alertAction(person: Person, verb: AlertVerb, alertId: AlertId): Promise<CardModel> {
    if (verb === 'alert_suspend') return this.requestSuspension(person, alertId);
    const alert = await this.bus.execute<AlertCommand>(person, alertCommand(verb, alertId));
    return this.supervision.cards.alert(alert, person.email);
  }

  /** A check-in decision; what it starts (a retraining, a retirement) is stored with it in the core. */
  async checkInAction(person: Person, verb: CheckInVerb, checkInId: CheckInId): Promise<CardModel> {
    const choice = verb.slice('checkin_'.length) as 'keep' | 'retrain' | 'retire';
    const { record, agent } = await this.bus.execute(person, { type: 'checkin.decide', checkInId, choice });
    return this.supervision.cards.checkIn(record, agent, person.email);
  }

  /** Suspension is never immediate: the command starts the suspension flow for an IT admin to approve. */
  private async requestSuspension(person: Person, alertId: AlertId): Promise<CardModel> {
    const { run, agent } = await this.bus.execute(person, { type: 'agent.suspension.request', alertId });
    return {
      kind: 'notice',
      data: {
        level: 'info',
        title: `Suspension of ${agent.name} requested`,
        text: `An IT admin has to approve it (request ${run.id}); ${agent.name} keeps running in ${businessUnitById(this.org, agent.businessUnit)?.name ?? agent.businessUnit} until then.`,
      },
    };
  }
}
