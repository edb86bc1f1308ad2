import type { OrgConfig, Person } from '../config/schemas.js';
import { findPersonByEmail } from '../config/directory.js';
import type { CardModel, DataOf } from '../cards/view-models.js';
import type { PromptInputName, PromptVerb } from '../cards/supervision-view-models.js';
import type { AlertRecord } from '../core/alerts.js';
import type { AgentRecord } from '../core/agents.js';
import { agentChoiceLabel, type PickPurpose } from '../core/agent-pickers.js';
import { findingInWords } from '../core/checkin-assessment.js';
import { InvalidInputError, NotFoundError, RequestClosedError } from '../core/errors.js';
import { checkedCard, noticeCard, promptCard } from '../views/card-builders.js';
import { keyCard } from '../views/agent-key-cards.js';
import { evaluationProgressCard } from '../views/evaluation-cards.js';
import { boundaryChangeCard } from '../views/boundary-change-cards.js';
import { handoffCard } from '../views/handoff-cards.js';
import { displayDate } from '../core/time.js';
import type { Services } from '../services.js';
import type { ChatService } from './chat.js';
import { GovernanceChat } from './chat-governance.js';
import { DelegationChat } from './chat-delegation.js';
import { OffboardingChat, versionMetrics } from './chat-offboarding.js';
import { parseAgentId, parseAlertId, parseCheckInId, parseRunId } from '../core/ids.js';

/*
 * The buttons that act on an agent from the cards that mention it: Register / Assign sponsor /
 * Add note / Decisions behind this / Retire agent on alerts, Add note / Decisions behind this on
 * check-ins, Start / Postpone on "retraining due", Accept / Retire on a leaver's agent, Record as
 * failure mode on a decision log and Start the fix on a compliance gap. Some ask for values
 * first through a `prompt` card. Each button (and the opening of its prompt) is a command on the
 * bus, whose handler asks the who-may rule in core/policies.ts; this class only turns a click
 * into its command and decides which card comes next.
 */

/** Buttons handled here (Slack action_ids and Teams verbs); the action table gives each its entry. */
export const AGENT_BUTTON_VERBS = [
  'alert_register',
  'alert_assign_sponsor',
  'alert_note',
  'alert_decisions',
  'alert_retire',
  'checkin_note',
  'checkin_decisions',
  'checkin_numbers',
  'alert_numbers',
  'retrain_start',
  'retrain_postpone',
  'sponsor_accept',
  'sponsor_retire',
  'decision_record',
  'gap_fix',
  'eval_register',
  'eval_cancel',
  'eval_failures',
  'agent_key_rotate',
  'agent_key_reissue',
  'handoff_take',
  'handoff_resolve',
  'delegation_away',
  'delegation_back',
  'webhook_retry',
  'webhook_enable',
  'agent_reactivate',
  'sponsor_confirm',
  'sponsor_decline',
  'boundary_approve',
  'boundary_deny',
  'request_cancel',
  'agent_note',
  'version_propose',
] as const;
export type AgentButtonVerb = (typeof AGENT_BUTTON_VERBS)[number];

/** What a click or a prompt produces. */
export interface ActionOutcome {
  /** Replaces the card that was clicked (for the clicker). */
  card?: CardModel;
  /** A separate message to the clicker (a decision log, a confirmation). */
  followUp?: CardModel;
  /** Values to ask for: a Slack modal, or on Teams the card shown in place of the clicked one. */
  prompt?: CardModel;
  /** A form to continue with (the request form when registering a shadow agent). */
  form?: CardModel;
}

/** Values typed into a prompt, by input name (a `user` input arrives as an e-mail). */
export type PromptValues = Partial<Record<PromptInputName, string>>;

type Ids = Record<string, string>;

type PromptData = DataOf<'prompt'>;
type PromptInput = PromptData['inputs'][number];

const POSTPONE_DAYS = ['7', '14', '30', '60', '90'];

/**
 * The forms that may pick their agent (opened without one, e.g. `note` typed alone), with the
 * rule of the picker ({@link PickPurpose}) and what a refusal says the person cannot do.
 */
const PICKER_FORMS: Partial<Record<PromptVerb, { purpose: PickPurpose; cannot: string; none: string }>> = {
  agent_note: { purpose: 'note', cannot: 'add notes to', none: 'There is no agent you may add knowledge notes to.' },
  version_propose: {
    purpose: 'version',
    cannot: 'propose a new version of',
    none: 'You sponsor no working agent to propose a version of.',
  },
  retrain_postpone: { purpose: 'retrain', cannot: 'postpone the retraining of', none: 'None of your agents has a retraining due.' },
  agent_reactivate: { purpose: 'reactivate', cannot: 'ask to reactivate', none: 'None of your agents is suspended.' },
  eval_register: { purpose: 'evaluate', cannot: 'evaluate', none: 'There is no agent of yours that Roster can evaluate.' },
};

/** The prompt verbs whose form may pick its agent. */
export type PickerVerb = 'agent_note' | 'version_propose' | 'retrain_postpone' | 'agent_reactivate' | 'eval_register';

/** The picker rule of a prompt verb, when its form picks an agent. */
export function pickPurposeOf(verb: string): PickPurpose | undefined {
  return PICKER_FORMS[verb as PromptVerb]?.purpose;
}

/** The Slack / Teams search dataset of an agent picker. */
export function agentDataset(purpose: PickPurpose): string {
  return `agents:${purpose}`;
}

/** The prompts whose submission is a command on the bus (its handler authorises it). */
const SUBMITTED_THROUGH_THE_BUS: ReadonlySet<PromptVerb> = new Set<PromptVerb>([
  'alert_note',
  'checkin_note',
  'agent_note',
  'retrain_postpone',
  'agent_reactivate',
  'boundary_deny',
  'eval_register',
]);

/** The kinds of knowledge note, as the note form offers them. */
const NOTE_KINDS = [
  { value: 'failure-mode', label: 'Failure mode' },
  { value: 'high-value-interaction', label: 'High-value interaction' },
  { value: 'note', label: 'Note' },
] as const;

export class CardActionsChat {
  constructor(
    private readonly org: OrgConfig,
    private readonly services: Services,
    private readonly chat: ChatService,
  ) {}

  /** A click on one of {@link AGENT_BUTTON_VERBS}; `ids` is the button's value/data. */
  async click(person: Person, verb: AgentButtonVerb, ids: Ids): Promise<ActionOutcome> {
    switch (verb) {
      case 'alert_register': {
        const { alert } = await this.services.bus.execute(person, { type: 'alert.register', alertId: ids.alertId });
        return { prompt: this.registerPrompt(alert) };
      }
      case 'alert_assign_sponsor':
        return { prompt: this.sponsorPrompt(await this.openSponsorForm(person, ids)) };
      case 'alert_note': {
        const { alert, agent } = await this.services.bus.execute(person, { type: 'agent.note.open', alertId: ids.alertId });
        return { prompt: this.notePrompt('alert_note', { alertId: alert!.id }, agent, alert!.summary) };
      }
      case 'checkin_note': {
        const { checkIn, agent } = await this.services.bus.execute(person, { type: 'agent.note.open', checkInId: ids.checkInId });
        const finding = checkIn!.findings[0] && findingInWords(checkIn!.findings[0]);
        return { prompt: this.notePrompt('checkin_note', { checkInId: checkIn!.id }, agent, finding) };
      }
      case 'alert_decisions': {
        const { view, card } = await this.governance().decisionsBehind(person, { alertId: ids.alertId });
        return { card: this.alertCard(view.alert!, person), followUp: card };
      }
      case 'checkin_decisions': {
        const { view, card } = await this.governance().decisionsBehind(person, { checkInId: ids.checkInId });
        return { card: this.services.supervision.cards.checkIn(view.checkIn!, view.agent, person.email), followUp: card };
      }
      case 'checkin_numbers': {
        const { record, agent } = await this.services.bus.execute(person, { type: 'checkin.numbers', checkInId: ids.checkInId });
        return { followUp: this.services.supervision.cards.checkInNumbers(record, agent) };
      }
      case 'alert_numbers': {
        const { alert, agent } = await this.services.bus.execute(person, { type: 'alert.numbers', alertId: ids.alertId });
        const name = agent?.name ?? (typeof alert.details.agentName === 'string' ? alert.details.agentName : alert.agentId);
        return { followUp: this.services.supervision.cards.alertNumbers(alert, name) };
      }
      case 'alert_retire': {
        const { alert, run } = await this.services.bus.execute(person, { type: 'alert.retire', alertId: ids.alertId });
        const status = this.services.presenter.status(run);
        return { card: this.alertCard(alert, person), followUp: status };
      }
      case 'request_cancel':
        return { card: await this.chat.cancelRequest(person, parseRunId(ids.runId)) };
      case 'agent_note': {
        const { agent } = await this.services.bus.execute(person, { type: 'agent.note.open', agentId: ids.agentId });
        return { prompt: this.agentNotePrompt(agent) };
      }
      case 'version_propose':
        return { prompt: this.versionPrompt(await this.openVersionForm(person, String(ids.agentId ?? ''))) };
      case 'retrain_start': {
        const { agent } = await this.services.bus.execute(person, { type: 'retraining.start', agentId: ids.agentId });
        return {
          card: notice(
            'success',
            `Retraining of ${agent.name} started`,
            `Thanks, ${person.name}. When the new version is ready, propose it with "update ${agent.id} <version> acc=… p95=… cost=… <changelog>": it is evaluated against the live version before it goes live.`,
          ),
        };
      }
      case 'retrain_postpone': {
        const agent = await this.services.bus.execute(person, { type: 'retraining.postpone.open', agentId: ids.agentId });
        return { prompt: await this.postponePrompt(agent) };
      }
      case 'sponsor_accept': {
        const { agent } = await this.services.bus.execute(person, { type: 'leaver.offer.accept', agentId: ids.agentId, then: 'keep' });
        return { card: notice('success', `You sponsor ${agent.name} now`, `${agent.name} (${agent.id}) is yours to answer for.`) };
      }
      case 'sponsor_retire': {
        const taken = await this.services.bus.execute(person, { type: 'leaver.offer.accept', agentId: ids.agentId, then: 'retire' });
        const { agent, run } = taken as Required<typeof taken>;
        const status = this.services.presenter.status(run);
        return {
          card: notice('info', `Retirement of ${agent.name} started`, `The sign-offs are collected now (request ${run.id}).`),
          followUp: status,
        };
      }
      case 'decision_record': {
        const { agent, note } = await this.services.bus.execute(person, {
          type: 'decision.record',
          agentId: ids.agentId,
          eventId: String(ids.eventId ?? ''),
        });
        return { followUp: notice('success', `Failure mode recorded on ${agent.name}`, note.text) };
      }
      case 'handoff_take': {
        const taken = await this.services.bus.execute(person, { type: 'handoff.take', handoffId: String(ids.handoffId ?? '') });
        return { card: handoffCard(this.org, taken, person.email) };
      }
      case 'handoff_resolve': {
        const resolved = await this.services.bus.execute(person, {
          type: 'handoff.resolve',
          handoffId: String(ids.handoffId ?? ''),
          outcome: String(ids.outcome ?? ''),
        });
        return { card: handoffCard(this.org, resolved, person.email) };
      }
      case 'gap_fix':
        return { followUp: await this.fixGap(person, ids.agentId, String(ids.gap ?? '')) };
      case 'eval_register': {
        const { agent } = await this.services.bus.execute(person, { type: 'evaluation.register', agentId: ids.agentId });
        return { prompt: this.chat.endpointPromptCard(agent) };
      }
      case 'eval_cancel': {
        const run = await this.services.bus.execute(person, { type: 'evaluation.cancel', evalRunId: ids.evalRunId });
        return { card: evaluationProgressCard(run, true) };
      }
      case 'eval_failures': {
        const { run, cases } = await this.services.bus.execute(person, {
          type: 'evaluation.show',
          evalRunId: ids.evalRunId,
        });
        return { followUp: this.chat.failingCasesCard(run, cases) };
      }
      case 'agent_key_rotate': {
        const { agent, issued } = await this.services.bus.execute(person, { type: 'agent.key.rotate', agentId: ids.agentId });
        const until = issued.replaced.map((r) => r.validUntil).sort()[0];
        // The key replaces the clicked card for the clicker only (an ephemeral reply in Slack, the invoke answer in Teams).
        return {
          card: keyCard(
            agent,
            issued.key,
            `New telemetry key for ${agent.name}`,
            until
              ? `The previous key keeps working until ${displayDate(until)}, so its platform can switch over; after that it is refused.`
              : `${agent.name} had no working key before this one.`,
          ),
        };
      }
      case 'agent_key_reissue': {
        const { agent, issued } = await this.services.bus.execute(person, {
          type: 'agent.key.reissue',
          agentId: ids.agentId,
          ...(ids.credentialId ? { credentialId: ids.credentialId } : {}),
        });
        return {
          card: keyCard(
            agent,
            issued.key,
            `New telemetry key for ${agent.name}`,
            `The key that was not delivered is revoked${issued.replaced.length ? '' : ' (there was none left)'}; this one is shown only to you.`,
          ),
        };
      }
      case 'delegation_away':
        return { prompt: this.delegationPrompt() };
      case 'delegation_back': {
        return { followUp: await new DelegationChat(this.services, this.org).run(person, { name: 'back' }) };
      }
      case 'webhook_retry':
      case 'webhook_enable': {
        const action = verb === 'webhook_retry' ? 'retry' : 'enable';
        return {
          card: checkedCard(await this.services.bus.execute(person, { type: 'webhook.act', subscriptionId: ids.subscriptionId, action })),
        };
      }
      case 'agent_reactivate': {
        const agent = await this.services.bus.execute(person, { type: 'agent.reactivation.open', agentId: ids.agentId });
        return { prompt: this.reactivatePrompt(agent) };
      }
      case 'sponsor_confirm':
      case 'sponsor_decline': {
        const answer = verb === 'sponsor_confirm' ? 'accept' : 'decline';
        const { agent } = await this.services.bus.execute(person, {
          type: 'sponsorship.answer',
          agentId: ids.agentId,
          answer,
          ...(ids.proposalId ? { proposalId: ids.proposalId } : {}),
        });
        const forOther = Boolean(ids.proposalId) && !agent.sponsors.includes(person.email);
        return {
          card: notice(
            answer === 'accept' ? 'success' : 'info',
            answer === 'accept' ? `Sponsorship of ${agent.name} confirmed` : `You declined to sponsor ${agent.name}`,
            answer === 'accept'
              ? `${forOther ? `${agent.name}'s sponsors are now ${agent.sponsors.map((s) => findPersonByEmail(this.org, s)?.name ?? s).join(', ')}` : `You now answer for ${agent.name}`} (${agent.id}).`
              : `Whoever named ${forOther ? 'them' : 'you'} is told; ${forOther ? 'they are' : 'you are'} not its sponsor.`,
          ),
        };
      }
      case 'boundary_approve': {
        const change = await this.services.bus.execute(person, {
          type: 'boundary.decide',
          changeId: ids.changeId,
          decision: 'approve',
        });
        return { card: boundaryChangeCard(this.org, change, person.email) };
      }
      case 'boundary_deny':
        return { prompt: await this.boundaryDenyPrompt(person, String(ids.changeId ?? '')) };
    }
  }

  /** A submitted prompt: the action done and the fresh card, or the prompt again with errors. */
  async submit(person: Person, verb: PromptVerb, ids: Ids, values: PromptValues): Promise<ActionOutcome & { errors?: PromptValues }> {
    // A form that picked its agent: the pick is client data, so it must be one of the agents the
    // picker offers this person (the same rule), checked before anything else; a refusal names
    // no agent, as the picker never offered it.
    const picker = PICKER_FORMS[verb];
    const picking = picker !== undefined && (values.agent !== undefined || !ids.agentId);
    if (picking) {
      const agentId = (values.agent ?? '').trim();
      const refusal = await this.pickRefusal(person, verb as PickerVerb, agentId);
      if (refusal) return this.again(verb, ids, values, { agent: refusal }, person);
      ids = { ...ids, agentId };
    }
    // Authorised before anything else: the prompt shown again with an error names the agent. A
    // prompt whose command is on the bus is authorised there, before its values are looked at.
    if (!SUBMITTED_THROUGH_THE_BUS.has(verb)) await this.authorizePrompt(person, verb, ids);
    try {
      return await this.complete(person, verb, ids, values);
    } catch (err) {
      if (!(err instanceof InvalidInputError)) throw err;
      return this.again(verb, ids, values, err, picking ? person : undefined);
    }
  }

  /**
   * The prompt again, with what was typed and the error under the field it concerns (a field the
   * service named, else the text, else the first input); a form that picked its agent is shown
   * with its picker (`picker` is the person it picks for).
   */
  private async again(
    verb: PromptVerb,
    ids: Ids,
    values: PromptValues,
    err: InvalidInputError | PromptValues,
    picker?: Person,
  ): Promise<ActionOutcome & { errors?: PromptValues }> {
    const data = (picker ? await this.pickerPrompt(picker, verb as PickerVerb, values.agent) : await this.promptFor(verb, ids))
      .data as PromptData;
    const names = data.inputs.map((i) => i.name);
    let errors: PromptValues = err instanceof InvalidInputError ? {} : err;
    if (err instanceof InvalidInputError) {
      const field = names.find((name) => err.fields[name]);
      errors = field ? { [field]: err.fields[field] } : { [names.includes('text') ? 'text' : names[0]!]: err.userMessage };
    }
    const typed = (input: PromptInput) => {
      const value = values[input.name];
      if (!value) return {};
      // A choice keeps its option only when it is one of them (the value is client data).
      if (input.kind === 'choice') return input.options?.some((o) => o.value === value) ? { selectedId: value } : {};
      return { value };
    };
    const inputs = data.inputs.map((input) => ({
      ...input,
      ...typed(input),
      ...(errors[input.name] ? { error: errors[input.name] } : {}),
    }));
    return { errors, prompt: promptCard({ ...data, inputs }) };
  }

  private async complete(person: Person, verb: PromptVerb, ids: Ids, values: PromptValues): Promise<ActionOutcome> {
    const text = values.text?.trim() ?? '';
    switch (verb) {
      case 'alert_register': {
        const registration = await this.services.bus.execute(person, {
          type: 'alert.register',
          alertId: ids.alertId,
          roleId: values.role ?? '',
        });
        const { alert, sponsor, role } = registration as Required<typeof registration>;
        const form = this.chat.requestForm(person, role.id, { registerAgentId: alert.agentId, sponsors: [sponsor] });
        return { form: form.card };
      }
      case 'alert_assign_sponsor': {
        const email = (values.sponsor ?? '').trim().toLowerCase();
        if (!email) throw new InvalidInputError('Name the sponsor.', { sponsor: 'Name the sponsor.' });
        const sponsor = findPersonByEmail(this.org, email);
        if (!sponsor) {
          const message = `${email.slice(0, 200)} is not in the directory: sponsors must be people Roster knows.`;
          throw new InvalidInputError(message, { sponsor: message });
        }
        const alert = await this.services.bus.execute(person, {
          type: 'alert.sponsor.assign',
          alertId: String(ids.alertId ?? ''),
          sponsor: sponsor.email,
        });
        if (alert.kind === 'ownerless' && alert.status !== 'resolved') {
          return {
            card: this.alertCard(alert, person),
            followUp: notice(
              'info',
              'Waiting for an IT admin',
              'You offered to sponsor the agent yourself; an IT admin confirms it before you become its only sponsor. The alert stays open until then.',
            ),
          };
        }
        return {
          card: this.alertCard(alert, person),
          followUp: notice(
            'success',
            `${sponsor.name} is the sponsor`,
            alert.kind === 'shadow'
              ? `${sponsor.name} was told and may register the agent.`
              : `${sponsor.name} now answers for the agent; the alert is resolved.`,
          ),
        };
      }
      case 'alert_note': {
        const { alert, agent, note } = await this.services.bus.execute(person, {
          type: 'agent.note.add',
          alertId: ids.alertId,
          kind: 'failure-mode',
          text,
        });
        return { card: this.alertCard(alert!, person), followUp: notice('success', `Noted on ${agent.name}`, note.text) };
      }
      case 'checkin_note': {
        const { checkIn, agent, note } = await this.services.bus.execute(person, {
          type: 'agent.note.add',
          checkInId: ids.checkInId,
          kind: 'failure-mode',
          text,
        });
        return {
          card: this.services.supervision.cards.checkIn(checkIn!, agent, person.email),
          followUp: notice('success', `Noted on ${agent.name}`, note.text),
        };
      }
      case 'agent_note': {
        const kind = NOTE_KINDS.find((k) => k.value === values.kind)?.value ?? 'note';
        const { agent, note } = await this.services.bus.execute(person, { type: 'agent.note.add', agentId: ids.agentId, kind, text });
        const label = NOTE_KINDS.find((k) => k.value === note.kind)?.label ?? 'Note';
        return { card: notice('success', `Noted on ${agent.name}`, `${label}: ${note.text}`) };
      }
      case 'version_propose': {
        const agent = await this.agent(ids.agentId);
        const version = (values.version ?? '').trim();
        if (!version) throw new InvalidInputError('Give the new version, e.g. 1.2.0.', { version: 'Use a version like 1.2.0.' });
        // The same words as `update <agent> <version> …`: one path for the form and the command.
        const { metrics, words } = versionMetrics((values.metrics ?? '').trim().split(/\s+/).filter(Boolean));
        if (words.length)
          throw new InvalidInputError('Write results as acc=0.95 p95=3000 cost=0.02 fit=all.', {
            metrics: 'Use acc=… p95=… cost=… fit=all.',
          });
        if (values.url?.trim()) metrics.endpoint = values.url.trim();
        const card = await new OffboardingChat(this.services, this.org).run(person, {
          name: 'update',
          agent: agent.id,
          version,
          metrics,
          changelog: text,
        });
        return { card };
      }
      case 'eval_register': {
        const { run } = await this.services.bus.execute(person, {
          type: 'evaluation.register',
          agentId: ids.agentId,
          endpoint: this.chat.endpointOf(values),
        });
        return { card: this.chat.evaluationStartedCard(run!) };
      }
      case 'delegation_away': {
        const delegate = (values.delegate ?? '').trim();
        if (!delegate) throw new InvalidInputError('Name who decides for you.', { delegate: 'Name who decides for you.' });
        const card = await new DelegationChat(this.services, this.org).run(person, {
          name: 'away',
          from: (values.from ?? '').trim(),
          to: (values.until ?? '').trim(),
          delegate,
        });
        return { followUp: card };
      }
      case 'agent_reactivate': {
        const { agent, run } = await this.services.bus.execute(person, {
          type: 'agent.reactivation.request',
          agentId: ids.agentId,
          reason: text,
        });
        const status = this.services.presenter.status(run);
        return {
          card: notice('info', `Reactivation of ${agent.name} requested`, `A sponsor and an IT admin approve it (request ${run.id}).`),
          followUp: status,
        };
      }
      case 'boundary_deny': {
        const change = await this.services.bus.execute(person, {
          type: 'boundary.decide',
          changeId: ids.changeId,
          decision: 'deny',
          reason: text,
        });
        return { card: boundaryChangeCard(this.org, change, person.email) };
      }
      case 'retrain_postpone': {
        const { agent, retraining: record } = await this.services.bus.execute(person, {
          type: 'retraining.postpone',
          agentId: ids.agentId,
          days: Number(values.days ?? ''),
          reason: text,
        });
        return {
          card: notice(
            'info',
            `Retraining of ${agent.name} postponed`,
            `Until ${displayDate(record.postponedUntil!)}: ${record.reason}. IT admins are told if it is still not retrained then.`,
          ),
        };
      }
    }
  }

  /**
   * Refuses anyone who may not open the prompt of `verb` (the same rules as its button, the form's
   * opening command where it has one); a submitted prompt whose command is on the bus is authorised
   * by its handler instead.
   */
  private async authorizePrompt(person: Person, verb: PromptVerb, ids: Ids): Promise<void> {
    switch (verb) {
      case 'alert_register':
        // Opening the prompt again (the command without its role): who may not register it, or a
        // registration already requested, is refused outright rather than shown on the role field.
        await this.services.bus.execute(person, { type: 'alert.register', alertId: ids.alertId });
        return;
      case 'alert_assign_sponsor':
        await this.openSponsorForm(person, ids);
        return;
      case 'version_propose':
        await this.openVersionForm(person, String(ids.agentId ?? ''));
        return;
    }
  }

  /** The alert of Assign sponsor, for those who may assign one (the `alert.sponsor.open` command). */
  private openSponsorForm(person: Person, ids: Ids): Promise<AlertRecord> {
    return this.services.bus.execute(person, { type: 'alert.sponsor.open', alertId: String(ids.alertId ?? '') });
  }

  /** The agent of the new-version form, by id or typed name, for those who may propose one (`agent.version.open`). */
  private openVersionForm(person: Person, agent: string): Promise<AgentRecord> {
    return this.services.bus.execute(person, { type: 'agent.version.open', agent });
  }

  /** The prompt a verb opens, for re-showing it with errors. */
  private async promptFor(verb: PromptVerb, ids: Ids): Promise<CardModel> {
    switch (verb) {
      case 'alert_register':
        return this.registerPrompt(await this.openAlert(ids.alertId));
      case 'alert_assign_sponsor':
        return this.sponsorPrompt(await this.openAlert(ids.alertId));
      case 'alert_note': {
        const { alert, agent } = await this.alertAgent(ids.alertId);
        return this.notePrompt('alert_note', { alertId: alert.id }, agent, alert.summary);
      }
      case 'checkin_note': {
        const { record, agent } = await this.checkIn(ids.checkInId);
        return this.notePrompt('checkin_note', { checkInId: record.id }, agent, record.findings[0] && findingInWords(record.findings[0]));
      }
      case 'retrain_postpone':
        return this.postponePrompt(await this.agent(ids.agentId));
      case 'eval_register':
        return this.chat.endpointPromptCard(await this.agent(ids.agentId));
      case 'delegation_away':
        return this.delegationPrompt();
      case 'agent_reactivate':
        return this.reactivatePrompt(await this.agent(ids.agentId));
      case 'boundary_deny':
        return this.boundaryDenyPrompt(undefined, String(ids.changeId ?? ''));
      case 'agent_note':
        return this.agentNotePrompt(await this.agent(ids.agentId));
      case 'version_propose':
        return this.versionPrompt(await this.agent(ids.agentId));
    }
  }

  /** Deny… on a boundary change: the reason the sponsor will read. Refused at once for anyone who may not decide. */
  private async boundaryDenyPrompt(person: Person | undefined, changeId: string): Promise<CardModel> {
    const change = await this.services.boundaryChanges.decidable(person, changeId);
    return prompt({
      title: 'Deny the change',
      text: `${change.agentName}: ${change.actionTitle} stays as it is. Tell the sponsor why.`,
      submitLabel: 'Deny',
      promptVerb: 'boundary_deny',
      payload: { changeId: change.id },
      inputs: [{ name: 'text', kind: 'text', label: 'Reason', multiline: true, maxLength: 500 }],
    });
  }

  /** Out of office from the home card: the days away and who decides meanwhile. */
  private delegationPrompt(): CardModel {
    const today = new Date().toISOString().slice(0, 10);
    return prompt({
      title: 'Out of office',
      text: 'While you are away, your approval cards go to the person you name; they decide on your behalf and the audit trail names you both. They still cannot approve their own requests.',
      submitLabel: 'Delegate',
      promptVerb: 'delegation_away',
      payload: {},
      inputs: [
        {
          name: 'from',
          kind: 'text',
          label: 'First day away (YYYY-MM-DD)',
          placeholder: today,
          value: today,
          multiline: false,
          maxLength: 10,
        },
        { name: 'until', kind: 'text', label: 'Last day away (YYYY-MM-DD)', placeholder: today, multiline: false, maxLength: 10 },
        {
          name: 'delegate',
          kind: 'user',
          label: 'Who decides for you',
          placeholder: 'Type a name or an e-mail',
          multiline: false,
          maxLength: 320,
        },
      ],
    });
  }

  private reactivatePrompt(agent: AgentRecord): CardModel {
    return prompt({
      title: 'Reactivate agent',
      text: `What was fixed, so ${agent.name} may work again? One of its sponsors and an IT admin approve; they see its last check-in.`,
      submitLabel: 'Ask to reactivate',
      promptVerb: 'agent_reactivate',
      payload: { agentId: agent.id },
      inputs: [{ name: 'text', kind: 'text', label: 'What was fixed', multiline: true, maxLength: 1000 }],
    });
  }

  private registerPrompt(alert: AlertRecord): CardModel {
    const input: PromptInput = {
      name: 'role',
      kind: 'choice',
      label: 'Catalog role',
      multiline: false,
      optional: false,
      maxLength: 200,
      options: this.org.catalog.slice(0, 100).map((r) => ({ value: r.id, label: r.title })),
    };
    return prompt({
      title: 'Register agent',
      text: `Which catalog role does ${alert.agentId} fill? The request form comes next; the agent keeps its id, so its telemetry counts once the request is approved.`,
      submitLabel: 'Next',
      promptVerb: 'alert_register',
      payload: { alertId: alert.id },
      inputs: [input],
    });
  }

  private sponsorPrompt(alert: AlertRecord): CardModel {
    return prompt({
      title: 'Assign a sponsor',
      text:
        alert.kind === 'shadow'
          ? `Who answers for the unregistered agent ${alert.agentId}? They are told and may register it.`
          : `Who answers for ${typeof alert.details.agentName === 'string' ? alert.details.agentName : alert.agentId} now that it has no sponsor? They become its sponsor.`,
      submitLabel: 'Assign',
      promptVerb: 'alert_assign_sponsor',
      payload: { alertId: alert.id },
      inputs: [
        { name: 'sponsor', kind: 'user', label: 'Sponsor', placeholder: 'Type a name or an e-mail', multiline: false, maxLength: 320 },
      ],
    });
  }

  private notePrompt(verb: 'alert_note' | 'checkin_note', payload: Ids, agent: AgentRecord, about?: string): CardModel {
    return prompt({
      title: 'Add a knowledge note',
      text: `What should the next person know about ${agent.name}${about ? ` after "${about.slice(0, 300)}"` : ''}? It is kept as a failure mode on its profile, handed to a successor and archived at retirement.`,
      submitLabel: 'Save note',
      promptVerb: verb,
      payload,
      inputs: [{ name: 'text', kind: 'text', label: 'Note', multiline: true, maxLength: 2000 }],
    });
  }

  /** The knowledge-note form opened from a profile or by `note <agent>`: what kind of note, and its words. */
  agentNotePrompt(agent: AgentRecord): CardModel {
    return prompt({
      title: 'Add a knowledge note',
      text: `What should the next person know about ${agent.name}? Notes are kept on its profile, handed to a successor and archived at retirement.`,
      submitLabel: 'Save note',
      promptVerb: 'agent_note',
      payload: { agentId: agent.id },
      inputs: this.noteInputs(),
    });
  }

  private noteInputs(): PromptInput[] {
    return [
      {
        name: 'kind',
        kind: 'choice',
        label: 'Kind',
        multiline: false,
        maxLength: 30,
        optional: false,
        options: NOTE_KINDS.map((k) => ({ value: k.value, label: k.label })),
        selectedId: 'failure-mode',
      },
      { name: 'text', kind: 'text', label: 'Note', multiline: true, maxLength: 2000, optional: false },
    ];
  }

  /**
   * The new-version form: the version and what changed, plus where the new version runs (roles
   * Roster measures) or its results typed as for `update` (roles it does not, or an IT admin's).
   */
  versionPrompt(agent: AgentRecord): CardModel {
    const measured = this.services.evaluations.suite(agent.catalogRoleId) !== undefined;
    return prompt({
      title: 'Propose a new version',
      text: measured
        ? `Roster runs ${agent.name}'s suite against the new version and compares it with the live ${agent.version}; it goes to approval only if it passes and does not regress.`
        : `${agent.name} is on ${agent.version}. The new version must meet its role's thresholds and not regress; another sponsor and an IT admin approve it before it goes live.`,
      submitLabel: 'Propose',
      promptVerb: 'version_propose',
      payload: { agentId: agent.id },
      inputs: [
        { name: 'version', kind: 'text', label: 'Version', placeholder: '1.2.0', multiline: false, maxLength: 20 },
        { name: 'text', kind: 'text', label: 'What changed', multiline: true, maxLength: 3000 },
        measured
          ? { name: 'url', kind: 'text', label: 'Endpoint of the new version', multiline: false, maxLength: 500, optional: true }
          : {
              name: 'metrics',
              kind: 'text',
              label: 'Results',
              placeholder: 'acc=0.95 p95=3000 cost=0.02 fit=all',
              multiline: false,
              maxLength: 200,
            },
      ],
    });
  }

  /**
   * The new-version form for `update <agent>` typed without a version, for its sponsors and IT
   * admins; `update` alone picks the agent.
   */
  async versionForm(person: Person, agentKey?: string): Promise<CardModel> {
    if (!agentKey) return this.pickerPrompt(person, 'version_propose');
    return this.versionPrompt(await this.openVersionForm(person, agentKey));
  }

  /** The knowledge-note form for `note <agent>` typed without words, for those who may add notes; `note` alone picks the agent. */
  async noteForm(person: Person, agentKey?: string): Promise<CardModel> {
    if (!agentKey) return this.pickerPrompt(person, 'agent_note');
    const { agent } = await this.services.bus.execute(person, { type: 'agent.note.open', agent: agentKey });
    return this.agentNotePrompt(agent);
  }

  /** The postpone form for `retrain <agent> postpone` without days; `retrain` alone picks among the agents due. */
  async postponeForm(person: Person, agentKey?: string): Promise<CardModel> {
    if (!agentKey) return this.pickerPrompt(person, 'retrain_postpone');
    return this.postponePrompt(await this.services.bus.execute(person, { type: 'retraining.postpone.open', agent: agentKey }));
  }

  /** The reactivation form for `reactivate` typed alone: its suspended agents to pick from. */
  reactivateForm(person: Person): Promise<CardModel> {
    return this.pickerPrompt(person, 'agent_reactivate');
  }

  /** The endpoint form for `eval` typed alone: the agents Roster can evaluate for this person to pick from. */
  evaluateForm(person: Person): Promise<CardModel> {
    return this.pickerPrompt(person, 'eval_register');
  }

  /** The agents of a picker whose name holds `query`, as choices (the search behind a long picker). */
  async searchAgents(person: Person, purpose: PickPurpose, query: string): Promise<Array<{ value: string; label: string }>> {
    const { agents } = await this.services.bus.execute(person, { type: 'agents.pick', purpose, query });
    return agents.map((a) => ({ value: a.id, label: agentChoiceLabel(a) }));
  }

  /** The agent picked, when the picker offers it to this person (`agents.pick`). */
  private async picked(person: Person, verb: PickerVerb, agentId: string): Promise<AgentRecord | undefined> {
    const { purpose } = PICKER_FORMS[verb]!;
    return (await this.services.bus.execute(person, { type: 'agents.pick', purpose, agentId })).agents[0];
  }

  /** Why a picked agent is refused (none picked, unknown, or not one the picker offers this person). */
  private async pickRefusal(person: Person, verb: PickerVerb, agentId: string): Promise<string | undefined> {
    if (!agentId) return 'Choose an agent.';
    const offered = await this.picked(person, verb, agentId);
    return offered ? undefined : `Choose one of the agents offered: you can't ${PICKER_FORMS[verb]!.cannot} that one.`;
  }

  /**
   * A form opened without an agent: its first field picks one of the agents the person may act on
   * with it (a list, or a search when they are too many); `selectedId` is kept when it is one.
   */
  async pickerPrompt(person: Person, verb: PickerVerb, selectedId?: string): Promise<CardModel> {
    const form = PICKER_FORMS[verb]!;
    const picked = await this.services.bus.execute(person, { type: 'agents.pick', purpose: form.purpose });
    if (!picked.search && picked.agents.length === 0) throw new InvalidInputError(form.none);
    const wanted = selectedId ? await this.picked(person, verb, selectedId) : undefined;
    const only = !picked.search && picked.agents.length === 1 ? picked.agents[0] : undefined;
    const chosen = wanted ?? only;
    const listed = picked.search ? (chosen ? [chosen] : []) : picked.agents;
    const agentInput: PromptInput = {
      name: 'agent',
      kind: 'choice',
      label: 'Agent',
      placeholder: picked.search ? 'Type part of its name' : 'Choose an agent',
      multiline: false,
      maxLength: 200,
      optional: false,
      typeahead: true,
      options: listed.map((a) => ({ value: a.id, label: agentChoiceLabel(a) })),
      ...(picked.search ? { search: agentDataset(form.purpose) } : {}),
      ...(chosen ? { selectedId: chosen.id } : {}),
    };
    const base = (this.promptShapes[verb] as () => Omit<PromptData, 'promptVerb' | 'payload'>)();
    return promptCard({ ...base, promptVerb: verb, payload: {}, inputs: [agentInput, ...base.inputs] });
  }

  /** The forms that pick their agent, without it: the agent input comes first (see {@link pickerPrompt}). */
  private readonly promptShapes: Record<PickerVerb, () => Omit<PromptData, 'promptVerb' | 'payload'>> = {
    agent_note: () => ({
      title: 'Add a knowledge note',
      text: 'What should the next person know about the agent? Notes are kept on its profile, handed to a successor and archived at retirement.',
      submitLabel: 'Save note',
      inputs: this.noteInputs(),
    }),
    version_propose: () => ({
      title: 'Propose a new version',
      text:
        "The new version must meet its role's thresholds and not regress on the live one; another sponsor and an IT admin approve it before it goes live. " +
        'For a role Roster measures, give where the new version runs (empty: the endpoint registered before); for the others, its results.',
      submitLabel: 'Propose',
      inputs: [
        { name: 'version', kind: 'text', label: 'Version', placeholder: '1.2.0', multiline: false, maxLength: 20, optional: false },
        { name: 'text', kind: 'text', label: 'What changed', multiline: true, maxLength: 3000, optional: false },
        {
          name: 'url',
          kind: 'text',
          label: 'Endpoint of the new version (roles Roster measures)',
          multiline: false,
          maxLength: 500,
          optional: true,
        },
        {
          name: 'metrics',
          kind: 'text',
          label: 'Results (roles Roster does not measure)',
          placeholder: 'acc=0.95 p95=3000 cost=0.02 fit=all',
          multiline: false,
          maxLength: 200,
          optional: true,
        },
      ],
    }),
    retrain_postpone: () => ({
      title: 'Postpone retraining',
      text: 'Say why the retraining waits; IT admins are told if the agent is still not retrained when the postponement ends.',
      submitLabel: 'Postpone',
      inputs: this.postponeInputs(),
    }),
    agent_reactivate: () => ({
      title: 'Reactivate agent',
      text: 'What was fixed, so the agent may work again? One of its sponsors and an IT admin approve; they see its last check-in.',
      submitLabel: 'Ask to reactivate',
      inputs: [{ name: 'text', kind: 'text', label: 'What was fixed', multiline: true, maxLength: 1000, optional: false }],
    }),
    eval_register: () => {
      const endpoint = this.chat.endpointPromptInputs();
      return {
        title: 'Evaluate with Roster',
        text: "Roster runs the agent's role suite against it and measures accuracy, latency, cost and role fit. Only hosts IT allows can be reached. A secret is stored encrypted and never shown again.",
        submitLabel: 'Run the suite',
        inputs: endpoint,
      };
    },
  };

  /** Postpone… on "retraining due": since when it is due (in the reader's zone, once rendered), the days and why. */
  private async postponePrompt(agent: AgentRecord): Promise<CardModel> {
    const retraining = await this.services.development.retraining(agent.id);
    const since = retraining ? ` since ${displayDate(retraining.dueAt)}` : '';
    return prompt({
      title: 'Postpone retraining',
      text: `${agent.name} is due for retraining${since}. Say why it waits; IT admins are told if it is still not retrained when the postponement ends.`,
      submitLabel: 'Postpone',
      promptVerb: 'retrain_postpone',
      payload: { agentId: agent.id },
      inputs: this.postponeInputs(),
    });
  }

  private postponeInputs(): PromptInput[] {
    return [
      {
        name: 'days',
        kind: 'choice',
        label: 'Postpone by',
        multiline: false,
        maxLength: 3,
        optional: false,
        options: POSTPONE_DAYS.map((d) => ({ value: d, label: `${d} days` })),
        selectedId: '14',
      },
      { name: 'text', kind: 'text', label: 'Why?', multiline: true, maxLength: 1000, optional: false },
    ];
  }

  /** "Start the fix" on a compliance gap (the `compliance.gap.fix` command). */
  private async fixGap(person: Person, agentId: string | undefined, gap: string): Promise<CardModel> {
    const result = await this.services.bus.execute(person, { type: 'compliance.gap.fix', agentId, gap });
    return notice(result.started ? 'success' : 'info', result.title, result.text);
  }

  private governance(): GovernanceChat {
    return new GovernanceChat(this.services, this.org);
  }

  private alertCard(alert: AlertRecord, person: Person): CardModel {
    return this.services.supervision.cards.alert(alert, person.email);
  }

  private async openAlert(alertId: string | undefined): Promise<AlertRecord> {
    const alert = await this.alert(alertId);
    if (alert.status === 'resolved') throw new RequestClosedError('completed', alert.resolvedAt ? new Date(alert.resolvedAt) : undefined);
    return alert;
  }

  private async alertAgent(alertId: string | undefined): Promise<{ alert: AlertRecord; agent: AgentRecord }> {
    const alert = await this.alert(alertId);
    return { alert, agent: await this.agent(alert.agentId) };
  }

  private async checkIn(checkInId: string | undefined) {
    const id = parseCheckInId(checkInId);
    const record = await this.services.supervision.checkinRepo.get(id);
    if (!record) throw new NotFoundError('the check-in', id);
    return { record, agent: await this.agent(record.agentId) };
  }

  private async alert(alertId: string | undefined): Promise<AlertRecord> {
    const id = parseAlertId(alertId);
    const alert = await this.services.supervision.alertRepo.get(id);
    if (!alert) throw new NotFoundError('the alert', id);
    return alert;
  }

  private async agent(agentId: string | undefined): Promise<AgentRecord> {
    const id = parseAgentId(agentId);
    const agent = await this.services.agents.get(id);
    if (!agent) throw new NotFoundError('the agent', id);
    return agent;
  }
}

function notice(level: 'info' | 'success' | 'warning', title: string, text: string): CardModel {
  return noticeCard({ level, title, text });
}

function prompt(
  data: Omit<PromptData, 'inputs'> & { inputs: Array<Partial<PromptInput> & Pick<PromptInput, 'name' | 'kind' | 'label'>> },
): CardModel {
  return promptCard(data);
}
