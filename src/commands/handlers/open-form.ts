import type { AgentRecord } from '../../core/agents.js';
import type { AlertRecord } from '../../core/alerts.js';
import { NotFoundError, RequestClosedError } from '../../core/errors.js';
import type { CommandType, Parsed } from '../command.js';
import type { CommandHandler } from '../handler.js';
import type { NoteSubject } from './add-note.js';

/** The commands whose form a person opens before giving them, by handler: each opening asks its command's own. */
export interface FormCommandHandlers {
  'agent.note.add': CommandHandler<'agent.note.add', NoteSubject, unknown>;
  'agent.version.propose': CommandHandler<'agent.version.propose', AgentRecord, unknown>;
  'retraining.postpone': CommandHandler<'retraining.postpone', AgentRecord, unknown>;
  'agent.reactivation.request': CommandHandler<'agent.reactivation.request', AgentRecord, unknown>;
  'alert.sponsor.assign': CommandHandler<'alert.sponsor.assign', AlertRecord | undefined, unknown>;
}

/** The opening commands (command.ts), one per form. */
export type FormOpeningType =
  'agent.note.open' | 'agent.version.open' | 'retraining.postpone.open' | 'agent.reactivation.open' | 'alert.sponsor.open';

/**
 * Opening `command`'s form: its load and its who-may rule, asked of the command as the blank form
 * would give it (the form's values are checked when it is submitted, after who may), then `open`
 * answers what the form shows.
 */
function opening<O extends CommandType, T extends CommandType, S, R>(
  command: CommandHandler<T, S, unknown>,
  blank: (opened: Parsed<O>) => Parsed<T>,
  open: (subject: S, opened: Parsed<O>) => R,
): CommandHandler<O, S, R> {
  return {
    load: (actor, opened) => command.load(actor, blank(opened)),
    authorise: (actor, subject, opened) => command.authorise(actor, subject, blank(opened)),
    handle: async (_actor, opened, subject) => open(subject, opened),
  };
}

/**
 * The forms' openings (Add note, Propose version, Postpone…, Reactivate, Assign sponsor, and the
 * typed words that open them): whoever their command would refuse is refused the form, in its words.
 */
export function formOpeningHandlers(commands: FormCommandHandlers) {
  return {
    'agent.note.open': opening<'agent.note.open', 'agent.note.add', NoteSubject, NoteSubject>(
      commands['agent.note.add'],
      (opened) => ({ ...opened, type: 'agent.note.add', text: '' }),
      (subject) => subject,
    ),
    'agent.version.open': opening<'agent.version.open', 'agent.version.propose', AgentRecord, AgentRecord>(
      commands['agent.version.propose'],
      ({ agent }) => ({ type: 'agent.version.propose', agent, version: '', metrics: {}, changelog: '' }),
      (agent) => agent,
    ),
    'retraining.postpone.open': opening<'retraining.postpone.open', 'retraining.postpone', AgentRecord, AgentRecord>(
      commands['retraining.postpone'],
      (opened) => ({ ...opened, type: 'retraining.postpone', days: Number.NaN, reason: '' }),
      (agent) => agent,
    ),
    'agent.reactivation.open': opening<'agent.reactivation.open', 'agent.reactivation.request', AgentRecord, AgentRecord>(
      commands['agent.reactivation.request'],
      (opened) => ({ ...opened, type: 'agent.reactivation.request', reason: '' }),
      (agent) => agent,
    ),
    // The rule is asked before the alert is known to exist (as for the command); a resolved alert has no sponsor to assign.
    'alert.sponsor.open': opening<'alert.sponsor.open', 'alert.sponsor.assign', AlertRecord | undefined, AlertRecord>(
      commands['alert.sponsor.assign'],
      (opened) => ({ ...opened, type: 'alert.sponsor.assign', sponsor: '' }),
      (alert, { alertId }) => {
        if (!alert) throw new NotFoundError('the alert', alertId);
        if (alert.status === 'resolved')
          throw new RequestClosedError('completed', alert.resolvedAt ? new Date(alert.resolvedAt) : undefined);
        return alert;
      },
    ),
  } satisfies {
    'agent.note.open': CommandHandler<'agent.note.open', NoteSubject, NoteSubject>;
    'agent.version.open': CommandHandler<'agent.version.open', AgentRecord, AgentRecord>;
    'retraining.postpone.open': CommandHandler<'retraining.postpone.open', AgentRecord, AgentRecord>;
    'agent.reactivation.open': CommandHandler<'agent.reactivation.open', AgentRecord, AgentRecord>;
    'alert.sponsor.open': CommandHandler<'alert.sponsor.open', AlertRecord | undefined, AlertRecord>;
  };
}
