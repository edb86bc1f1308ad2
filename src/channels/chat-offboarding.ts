import type { Person } from '../config/schemas.js';
import type { CardModel } from '../cards/view-models.js';
import type { AgentRecord } from '../core/agents.js';
import { InvalidInputError } from '../core/errors.js';
import type { Services } from '../services.js';

/** `retire`, `note` and `archive`, typed as chat words. Agents are named by id or by name in quotes. */
export type OffboardingChatCommand =
  | { name: 'retire'; agent: string; successor?: string; reason: string }
  | { name: 'note'; agent: string; text: string; kind: 'failure-mode' | 'high-value-interaction' | 'note' }
  | { name: 'archive'; agent: string };

export const OFFBOARDING_CHAT_COMMANDS = [
  {
    usage: 'retire <agent> [successor <agent>] <reason>',
    description: 'Start retiring an agent: sign-offs, revocation, archive and hand-over.',
  },
  {
    usage: 'note <agent> [failure|value] <text>',
    description: "Record a knowledge note (a failure mode or a high-value interaction) on an agent's profile.",
  },
  { usage: 'archive <agent>', description: "Show a retired agent's archive bundle digest and whether it still verifies." },
];

/** Splits words, keeping "quoted names" together. */
function tokens(text: string): string[] {
  return [...text.matchAll(/"([^"]+)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? '');
}

export function parseOffboardingCommand(word: string, rest: string[]): OffboardingChatCommand | { name: 'unknown'; text: string } {
  const t = tokens(rest.join(' '));
  const text = [word, ...rest].join(' ');
  if (word === 'archive') return t[0] ? { name: 'archive', agent: t[0] } : { name: 'unknown', text };
  if (word === 'note') {
    const [agent, maybeKind, ...words] = t;
    if (!agent || !maybeKind) return { name: 'unknown', text };
    const kinds: Record<string, 'failure-mode' | 'high-value-interaction'> = { failure: 'failure-mode', value: 'high-value-interaction' };
    const kind = kinds[maybeKind.toLowerCase()];
    return { name: 'note', agent, kind: kind ?? 'note', text: (kind ? words : [maybeKind, ...words]).join(' ') };
  }
  const [agent, ...after] = t;
  if (!agent) return { name: 'unknown', text };
  if (after[0]?.toLowerCase() === 'successor' && after[1])
    return { name: 'retire', agent, successor: after[1], reason: after.slice(2).join(' ') };
  return { name: 'retire', agent, reason: after.join(' ') };
}

/** The chat side of offboarding; rules and authorisation are the Retirement service's. */
export class OffboardingChat {
  constructor(private readonly services: Services) {}

  async run(person: Person, command: OffboardingChatCommand): Promise<CardModel> {
    const agent = await this.find(person, command.agent);
    switch (command.name) {
      case 'retire': {
        const successor = command.successor ? await this.find(person, command.successor) : undefined;
        const run = await this.services.retirement.start(this.services.engine, person.email, {
          agentId: agent.id,
          ...(successor ? { successorId: successor.id } : {}),
          reason: command.reason,
        });
        const card = this.services.presenter.status(run);
        return { kind: card.kind, data: card.data } as CardModel;
      }
      case 'note': {
        const note = await this.services.retirement.addNote(person.email, agent.id, { kind: command.kind, text: command.text });
        return { kind: 'notice', data: { level: 'success', title: `Noted on ${agent.name}`, text: `${note.kind}: ${note.text}` } };
      }
      case 'archive': {
        const archive = await this.services.retirement.archive(agent.id);
        return {
          kind: 'notice',
          data: {
            level: archive.verified ? 'success' : 'error',
            title: `Archive of ${agent.name}`,
            text: `SHA-256 ${archive.digest}, ${archive.bundle.length} bytes, stored ${archive.createdAt}. ${archive.verified ? 'The digest still matches the bundle.' : 'The digest no longer matches the bundle: it was altered.'} Export it with: npx roster archive ${agent.id}`,
          },
        };
      }
    }
  }

  private async find(person: Person, key: string): Promise<AgentRecord> {
    if (!key) throw new InvalidInputError('Name the agent by id or by "name in quotes".');
    return (await this.services.commands.showAgent(person.email, key)).agent;
  }
}
