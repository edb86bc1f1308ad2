import { findPersonByEmail, findPersonBySlackId } from '../config/directory.js';
import type { OrgConfig, Person } from '../config/schemas.js';
import { cardModel, type CardModel } from '../cards/view-models.js';
import { InvalidInputError } from '../core/errors.js';
import type { Services } from '../services.js';

/** `away <from> <to> to <person>` and `back`: out of office, in the same words on Slack and Teams. */
export type DelegationChatCommand = { name: 'away'; from?: string; to?: string; delegate?: string } | { name: 'back' };

/** The chat words this module parses and runs. */
export const DELEGATION_WORDS: ReadonlySet<string> = new Set(['away', 'back']);

export function isDelegationCommand<C extends { name: string }>(command: C): command is Extract<C, DelegationChatCommand> {
  return DELEGATION_WORDS.has(command.name);
}

export const DELEGATION_CHAT_COMMANDS = [
  {
    usage: 'away <first-day> <last-day> to <person>',
    description: 'Out of office: your approvals go to someone else for those days (e.g. away 2026-12-20 2027-01-04 to @noah).',
  },
  { usage: 'back', description: 'End your out-of-office delegation now; waiting approvals come back to you.' },
];

/** Parses the words after `away` / `back` (mentions kept: the delegate may be one). */
export function parseDelegationCommand(word: string, rest: string[]): DelegationChatCommand {
  if (word === 'back') return { name: 'back' };
  const [from, to, maybeTo, ...who] = rest;
  const delegate = (maybeTo?.toLowerCase() === 'to' ? who : [maybeTo, ...who]).filter(Boolean).join(' ').trim();
  return { name: 'away', ...(from ? { from } : {}), ...(to ? { to } : {}), ...(delegate ? { delegate } : {}) };
}

/**
 * The person a delegate is written as: a Slack mention (`<@U…>`), a Teams mention
 * (`<at>Noah Fischer</at>`), an e-mail, or a handle or name (`@noah`, `Noah Fischer`) that
 * matches exactly one person.
 */
export function resolveMentionedPerson(org: OrgConfig, text: string): Person {
  const slack = /^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$/.exec(text.trim());
  if (slack) {
    const found = findPersonBySlackId(org, slack[1]!);
    if (found) return found;
    throw new InvalidInputError('That Slack user is not in Roster’s directory.', { delegate: 'Not in the directory.' });
  }
  const plain = text
    .replace(/<\/?at>/gi, '')
    .trim()
    .replace(/^@/, '')
    .toLowerCase();
  if (plain.includes('@')) {
    const found = findPersonByEmail(org, plain);
    if (found) return found;
    throw new InvalidInputError(`${plain} is not in Roster’s directory.`, { delegate: 'Not in the directory.' });
  }
  // A name or handle: matched against names and e-mail local parts. Only this command does it,
  // never a decision, so the scan does not weigh on approvals.
  const matches = org.people.filter((p) => {
    const local = p.email.split('@')[0]!;
    const name = p.name.toLowerCase();
    return local === plain || local.startsWith(`${plain}.`) || name === plain || name.split(/\s+/)[0] === plain;
  });
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1)
    throw new InvalidInputError(`Several people match "${text}": write their e-mail instead.`, { delegate: 'Ambiguous.' });
  throw new InvalidInputError(`Nobody in Roster’s directory matches "${text}".`, { delegate: 'Not in the directory.' });
}

/** Runs `away` and `back` for a person through the bus; the delegate a mention or a name stands for is resolved here. */
export class DelegationChat {
  constructor(
    private readonly services: Services,
    private readonly org: OrgConfig,
  ) {}

  async run(person: Person, command: DelegationChatCommand): Promise<CardModel> {
    if (command.name === 'back') {
      const ended = await this.services.bus.execute(person, { type: 'delegation.back' });
      return notice(
        ended ? 'success' : 'info',
        ended ? 'Welcome back' : 'You were not away',
        ended
          ? 'Your out-of-office delegation has ended: approvals waiting for you come back to you.'
          : 'You had no out-of-office delegation. To set one: away <first-day> <last-day> to <person>.',
      );
    }
    if (!command.from || !command.to || !command.delegate) {
      const current = await this.services.bus.execute(person, { type: 'delegation.current' });
      const status = current
        ? `You are away from ${current.startsAt.slice(0, 10)} until ${new Date(Date.parse(current.endsAt) - 1).toISOString().slice(0, 10)}; ${findPersonByEmail(this.org, current.delegate)?.name ?? current.delegate} decides for you. Type "back" to end it.`
        : 'You are not away.';
      return notice('info', 'Out of office', `${status} To delegate your approvals: away 2026-12-20 2027-01-04 to @noah`);
    }
    const delegate = resolveMentionedPerson(this.org, command.delegate);
    const d = await this.services.bus.execute(person, {
      type: 'delegation.away',
      from: command.from,
      to: command.to,
      delegate: delegate.email,
    });
    return notice(
      'success',
      `Away from ${command.from} to ${command.to}`,
      `${delegate.name} decides your approvals ${d.status === 'active' ? 'from now' : `from ${command.from}`} until ${command.to}, on your behalf; the audit trail names you both. Type "back" to end it early.`,
    );
  }
}

function notice(level: 'info' | 'success', title: string, text: string): CardModel {
  return cardModel('notice', { level, title, text });
}
