import type { OrgConfig, Person } from '../config/schemas.js';
import { findPersonByEmail } from '../config/directory.js';
import type { CardModel } from '../cards/view-models.js';
import { archiveContents } from '../core/retirement.js';
import type { Services } from '../services.js';

/** `retire`, `note` and `archive`, typed as chat words. Agents are named by id or by name in quotes. */
export type OffboardingChatCommand =
  | { name: 'retire'; agent: string; successor?: string; reason: string }
  | { name: 'note'; agent: string; text: string; kind: 'failure-mode' | 'high-value-interaction' | 'note' }
  | { name: 'archive'; agent: string }
  | { name: 'update'; agent: string; version: string; metrics: Record<string, string>; changelog: string }
  /** `days` absent: the postpone form asks them; present, even mistyped, it is checked (1 to 90). */
  | { name: 'retrain'; agent: string; days?: number; reason: string }
  | { name: 'sponsor'; agent: string; confirm?: string }
  | { name: 'reactivate'; agent: string; reason: string };

/** The chat words this module parses and runs. */
export const OFFBOARDING_WORDS: ReadonlySet<string> = new Set(['retire', 'note', 'archive', 'update', 'retrain', 'sponsor', 'reactivate']);

/** Whether a parsed command is one of this module's. */
export function isOffboardingCommand<C extends { name: string }>(command: C): command is Extract<C, OffboardingChatCommand> {
  return OFFBOARDING_WORDS.has(command.name);
}

export const OFFBOARDING_CHAT_COMMANDS = [
  {
    usage: 'retire <agent> [successor <agent>] <reason>',
    description: 'Start retiring an agent: sign-offs, revocation, archive and hand-over.',
  },
  {
    usage: 'note [agent] [failure|value] [text]',
    description:
      "Record a knowledge note (a failure mode or a high-value interaction) on an agent's profile; without text, the note form (alone, it picks the agent).",
  },
  { usage: 'archive <agent>', description: "Show a retired agent's archive bundle digest and whether it still verifies." },
  {
    usage: 'update [agent] [<version> [endpoint=<url> | acc=<0..1> p95=<ms> cost=<usd> [fit=all]] <changelog>]',
    description:
      'Propose a new version: evaluated against the catalog and the live version, then approved; without a version, the form (alone, it picks the agent).',
  },
  {
    usage: 'retrain [agent postpone <days> <reason>]',
    description: 'Postpone a due retraining, saying why; alone, the form picks the agent.',
  },
  {
    usage: 'sponsor accept <agent>',
    description: 'Accept sponsoring an agent you were named for, or one whose sponsor left and was offered to you.',
  },
  { usage: 'sponsor confirm <agent> <e-mail>', description: 'IT admins: confirm a person named as sponsor (not one you named yourself).' },
  {
    usage: 'reactivate [agent] <what was fixed>',
    description:
      'Ask to bring a suspended agent back: a sponsor and an IT admin approve, seeing its last check-in; alone, the form picks the agent.',
  },
];

/**
 * The results words of `update` (`acc=… p95=… cost=… fit=… endpoint=…`, keys in lower case) and
 * the words that are not results, for the typed command and the new-version form alike.
 */
export function versionMetrics(given: readonly string[]): { metrics: Record<string, string>; words: string[] } {
  const metrics: Record<string, string> = {};
  const words = given.filter((w) => {
    const m = /^(acc|p95|cost|fit|endpoint)=(.+)$/i.exec(w);
    if (m) metrics[m[1]!.toLowerCase()] = m[2]!;
    return !m;
  });
  return { metrics, words };
}

export function parseOffboardingCommand(word: string, rest: string[]): OffboardingChatCommand | { name: 'unknown'; text: string } {
  // `rest` comes from chatWords: a quoted name is already one word.
  const t = rest;
  const text = [word, ...rest].join(' ');
  if (word === 'archive') return t[0] ? { name: 'archive', agent: t[0] } : { name: 'unknown', text };
  if (word === 'update') {
    const [agent, version, ...more] = t;
    // Alone, the new-version form picks the agent.
    if (!agent) return { name: 'update', agent: '', version: '', metrics: {}, changelog: '' };
    // Without a version, the new-version form opens.
    if (!version) return { name: 'update', agent, version: '', metrics: {}, changelog: '' };
    const { metrics, words } = versionMetrics(more);
    return { name: 'update', agent, version, metrics, changelog: words.join(' ') };
  }
  if (word === 'sponsor') {
    if (t[0]?.toLowerCase() === 'confirm' && t[1] && t[2]) return { name: 'sponsor', agent: t[1], confirm: t[2].toLowerCase() };
    return t[0]?.toLowerCase() === 'accept' && t[1] ? { name: 'sponsor', agent: t[1] } : { name: 'unknown', text };
  }
  if (word === 'reactivate') {
    const [agent, ...reason] = t;
    // Alone, the reactivation form picks among the person's suspended agents.
    return { name: 'reactivate', agent: agent ?? '', reason: reason.join(' ') };
  }
  if (word === 'retrain') {
    const [agent, verb, days, ...reason] = t;
    // Alone (or `postpone` alone), the postpone form picks the agent; without days it asks them.
    // Days typed but not a number (`postpone abc`) are kept as such: the person is told they are wrong.
    if (!agent || agent.toLowerCase() === 'postpone') return { name: 'retrain', agent: '', reason: '' };
    if (verb?.toLowerCase() !== 'postpone') return { name: 'unknown', text };
    if (!days) return { name: 'retrain', agent, reason: '' };
    return { name: 'retrain', agent, days: Number(days), reason: reason.join(' ') };
  }
  if (word === 'note') {
    const [agent, maybeKind, ...words] = t;
    // Alone, the note form picks the agent.
    if (!agent) return { name: 'note', agent: '', kind: 'note', text: '' };
    // Without words, the note form opens.
    if (!maybeKind) return { name: 'note', agent, kind: 'note', text: '' };
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

/** The chat side of offboarding: each word becomes its bus command, and the result a notice or a status card. */
export class OffboardingChat {
  constructor(
    private readonly services: Services,
    private readonly org: OrgConfig,
  ) {}

  async run(person: Person, command: OffboardingChatCommand): Promise<CardModel> {
    const { bus } = this.services;
    switch (command.name) {
      case 'sponsor': {
        const { agent, via } = await bus.execute(person, {
          type: 'sponsorship.answer',
          agent: command.agent,
          answer: 'accept',
          ...(command.confirm ? { confirm: command.confirm } : {}),
        });
        if (via === 'offered')
          return {
            kind: 'notice',
            data: { level: 'success', title: `You sponsor ${agent.name} now`, text: `${agent.name} (${agent.id}) is yours to answer for.` },
          };
        const who = command.confirm ? (findPersonByEmail(this.org, command.confirm)?.name ?? command.confirm) : 'You';
        return {
          kind: 'notice',
          data: {
            level: 'success',
            title: `Sponsorship of ${agent.name} confirmed`,
            text: `${who} ${command.confirm ? 'answers' : 'answer'} for ${agent.name} (${agent.id}) now.`,
          },
        };
      }
      case 'reactivate': {
        const { run } = await bus.execute(person, { type: 'agent.reactivation.request', agent: command.agent, reason: command.reason });
        return this.services.presenter.status(run);
      }
      case 'retire': {
        const run = await bus.execute(person, {
          type: 'agent.retire',
          agent: command.agent,
          ...(command.successor ? { successor: command.successor } : {}),
          reason: command.reason,
        });
        return this.services.presenter.status(run);
      }
      case 'note': {
        const { agent, note } = await bus.execute(person, {
          type: 'agent.note.add',
          agent: command.agent,
          kind: command.kind,
          text: command.text,
        });
        return { kind: 'notice', data: { level: 'success', title: `Noted on ${agent.name}`, text: `${note.kind}: ${note.text}` } };
      }
      case 'update': {
        const proposed = await bus.execute(person, {
          type: 'agent.version.propose',
          agent: command.agent,
          version: command.version,
          metrics: command.metrics,
          changelog: command.changelog,
        });
        const { agent } = proposed;
        if ('measured' in proposed) {
          const run = proposed.measured;
          return {
            kind: 'notice',
            data: {
              level: 'info',
              title: `Version ${command.version} of ${agent.name} is being evaluated`,
              text: `Roster runs the same suite (${run.total} cases) against ${run.endpoint.url} and compares it with the live ${agent.version}; it goes to approval only if it passes and does not regress.`,
            },
          };
        }
        return {
          kind: 'notice',
          data: {
            level: 'success',
            title: `Version ${command.version} of ${agent.name} proposed`,
            text: `${proposed.verdict.summary} It goes live once approved (request ${proposed.run.id}); ${agent.version} stays live until then.`,
          },
        };
      }
      case 'retrain': {
        const { agent, retraining: record } = await bus.execute(person, {
          type: 'retraining.postpone',
          agent: command.agent,
          days: command.days ?? Number.NaN,
          reason: command.reason,
        });
        return {
          kind: 'notice',
          data: { level: 'info', title: `Retraining of ${agent.name} postponed`, text: `Until ${record.postponedUntil}: ${record.reason}` },
        };
      }
      case 'archive': {
        const { agent, archive } = await bus.execute(person, { type: 'agent.archive', agent: command.agent });
        const held = archiveContents(archive.bundle);
        const contents = `It holds the decision log (${held.decisionEvents} decisions, ${held.runtimeRequests} runtime requests), ${held.versions} versions, ${held.checkIns} check-ins, ${held.knowledgeNotes} knowledge notes and ${held.auditEntries} audit entries.`;
        return {
          kind: 'notice',
          data: {
            level: archive.verified ? 'success' : 'error',
            title: `Archive of ${agent.name}`,
            text: `SHA-256 ${archive.digest}, ${archive.bundle.length} bytes, stored ${archive.createdAt}. ${contents} ${archive.verified ? 'The digest still matches the bundle.' : 'The digest no longer matches the bundle: it was altered.'} Export it with: npx roster archive ${agent.id}`,
          },
        };
      }
    }
  }
}
