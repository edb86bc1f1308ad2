import {
  fleetFacts,
  GOVERNANCE_CHAT_COMMANDS,
  GOVERNANCE_WORDS,
  isGovernanceCommand,
  GovernanceChat,
  parseGovernanceCommand,
  type GovernanceChatCommand,
} from './chat-governance.js';
import {
  isOffboardingCommand,
  OFFBOARDING_CHAT_COMMANDS,
  OFFBOARDING_WORDS,
  OffboardingChat,
  parseOffboardingCommand,
  type OffboardingChatCommand,
} from './chat-offboarding.js';
import { DEFAULT_SEARCH_RATE_LIMIT, type OrgConfig, type Person } from '../config/schemas.js';
import { businessUnitById, catalogRolesFor, findPeople, findPersonByEmail, roleById } from '../config/directory.js';
import { cardModel, type CardModel, type DataOf } from '../cards/view-models.js';
import { reportedByAgent } from '../cards/text.js';
import { ACCESS_DATASET, HOME_SURFACE, PEOPLE_DATASET } from '../cards/ids.js';
import type { Services } from '../services.js';
import type { AgentRecord } from '../core/agents.js';
import type { FlowRun } from '../flows/types.js';
import type { BoundaryChangeRecord } from '../core/boundary-changes.js';
import type { HandoffRecord } from '../core/handoffs.js';
import { InvalidInputError, isRosterError, NotFoundError, RateLimitedError, RosterError } from '../core/errors.js';
import { parseAgentRequest, validateAgentRequest, type AgentRequestInput } from '../core/agent-request.js';
import { offersCancel } from '../core/requests.js';
import { typedInReasonGiven, typedInRefusal, TYPED_IN_REASON_NEEDED } from '../core/evaluation.js';
import type { ListScope } from '../commands/index.js';
import {
  isDashboardReader,
  isItAdmin,
  mayTypeInResults,
  mayAddKnowledgeNote,
  mayAskReactivation,
  mayListAllAgents,
  mayProposeVersion,
  mayReadComplianceReport,
  mayRotateKey,
  mayRequestInUnit,
} from '../core/policies.js';
import { didYouMean, FIND_PAGE_SIZE, findChoices, findFormWords, formatFindQuery, type FindFormValues } from '../core/agent-search.js';
import { Sponsorships } from '../core/sponsorships.js';
import { isAgentStatus, type AgentStatus } from '../core/lifecycle.js';
import { evaluationFormBase } from '../views/run-presenter.js';
import { boundaryChangeCard } from '../views/boundary-change-cards.js';
import { handoffCard } from '../views/handoff-cards.js';
import { displayDate, durationInWords } from '../core/time.js';
import { keysManageable } from '../core/agent-keys.js';
import { RateLimiter } from '../core/rate-limit.js';
import { PICK_PURPOSES, type PickPurpose } from '../core/agent-pickers.js';
import type { Logger } from '../logger.js';
import { chatWords } from './chat-words.js';
import { CardActionsChat } from './chat-actions.js';
import { AccessChat, ACCESS_CHAT_COMMANDS, parseAccessCommand, type AccessChatCommand } from './chat-access.js';
import { EvaluationChat } from './chat-evaluation.js';
import type { PromptValues } from './chat-actions.js';
import type { EvalCaseRecord, EvalRunRecord } from '../evals/types.js';
import {
  DELEGATION_CHAT_COMMANDS,
  DELEGATION_WORDS,
  DelegationChat,
  isDelegationCommand,
  parseDelegationCommand,
  type DelegationChatCommand,
} from './chat-delegation.js';
import type { AgentId, RunId } from '../core/ids.js';

/** A chat command as typed (`/roster <words>` in Slack, a plain message in Teams). */
export type ChatCommand =
  | { name: 'help' }
  | { name: 'catalog' }
  | { name: 'request'; roleId?: string }
  | { name: 'list'; scope: ListScope; status?: AgentStatus[] }
  | { name: 'find'; query: string }
  | { name: 'show'; agent: string }
  | { name: 'eval'; agent: string; selfReported?: boolean }
  | { name: 'home' }
  | { name: 'pending' }
  | { name: 'cancel'; runId?: string; reason?: string }
  | { name: 'boundary'; agent: string; action: string; mode: string; reason: string }
  | AccessChatCommand
  | OffboardingChatCommand
  | GovernanceChatCommand
  | DelegationChatCommand
  | { name: 'unknown'; text: string };

/** The commands people see in help, in the same words on both platforms. */
export const CHAT_COMMANDS = [
  { usage: 'help', description: 'Show what Roster can do.' },
  { usage: 'catalog', description: 'Browse the agent roles your business unit may request.' },
  { usage: 'request [role]', description: 'Request a new agent (opens the request form).' },
  {
    usage: 'list [mine|all|<business-unit>]',
    description: 'List agents: yours, every agent (IT, security, compliance), or a business unit.',
  },
  { usage: 'show <agent>', description: "Show an agent's profile: status, sponsors, access, baseline." },
  {
    usage: 'eval [agent] [self-reported]',
    description:
      "Evaluate an agent: Roster runs its role's suite against it (IT admins may type results in, with a reason); alone, the form picks the agent.",
  },
  { usage: 'pending', description: 'What agents are waiting for you to decide or take: runtime approvals and hand-offs.' },
  { usage: 'home', description: "What waits for you, your agents and your open requests, at a glance (in Slack: Roster's Home tab)." },
  ...ACCESS_CHAT_COMMANDS,
  ...OFFBOARDING_CHAT_COMMANDS,
  ...GOVERNANCE_CHAT_COMMANDS,
  ...DELEGATION_CHAT_COMMANDS,
  {
    usage: 'find [words] [status:…] [role:…] [bu:…] [sponsor:…] [scope:…] [data:…] [risk:…] [checkin:…] [cost>N] [page:N]',
    description:
      'Find agents you may see by name, status, role, business unit, sponsor, scope held, data class, risk, last check-in (healthy|watch|degraded|none) and cost (USD over 30 days), e.g. `find status:active risk:high cost>100`.',
  },
  {
    usage: 'boundary <agent> <action> <autonomous|needs-approval|forbidden> <reason>',
    description: 'Sponsors: ask IT to change what one of your agents may do alone; it applies once an IT admin approves.',
  },
  {
    usage: 'cancel [request] [reason]',
    description: 'Cancel an agent or access request of yours that still waits for approval (without a request: list them).',
  },
];

/**
 * Commands only some people may use. Everyone else's help leaves them out; the command itself
 * still refuses them (the rule is the command API's, this only keeps help honest).
 */
const COMMAND_AUDIENCE: ReadonlyArray<{ usage: RegExp; may: (person: Person) => boolean }> = [
  { usage: /^sponsor confirm\b/, may: isItAdmin },
  { usage: /^compliance\b/, may: mayReadComplianceReport },
  { usage: /^(fleet|dashboard)\b/, may: isDashboardReader },
];

/** The words a command starts with (`sponsor`, `find`, …), for "did you mean". */
function commandWords(commands: ReadonlyArray<{ usage: string }>): string[] {
  return [...new Set(commands.map((c) => c.usage.split(' ')[0]!))];
}

/** Commands whose answer shows nothing about agents or the person's own work: said in a channel, answered there. */
const PUBLIC_COMMANDS: ReadonlySet<ChatCommand['name']> = new Set(['help', 'unknown', 'catalog']);

/**
 * Whether an answer belongs in the person's 1:1 chat when asked in a channel or group chat:
 * everything that shows agents, people's requests, approvals or forms (and the errors about them).
 */
export function answersPrivately(command: ChatCommand): boolean {
  return !PUBLIC_COMMANDS.has(command.name);
}

/** One answer of a picker's search: the value submitted, what it is called, and more about it (a scope's risk). */
export interface SearchChoice {
  value: string;
  label: string;
  detail?: string;
}

/** The most people one directory search answers (Teams shows 15 at a time). */
const PEOPLE_SEARCH_MAX = 25;

/** The directory search of people pickers: choices valued by e-mail, named with it (two people may share a name). */
export function searchPeople(org: OrgConfig, text: string): Array<{ value: string; label: string }> {
  return findPeople(org, text, PEOPLE_SEARCH_MAX).map((p) => ({ value: p.email, label: `${p.name} (${p.email})` }));
}

/** The longest command text looked at (the rest is ignored). */
export const MAX_COMMAND_LENGTH = 500;

/** Parses the words of a command; anything unrecognised becomes `unknown` (answered with help). */
export function parseChatCommand(raw: string): ChatCommand {
  // Cut first: on a megabyte of "<@" the mention pattern backtracks quadratically and stalls
  // the whole process for minutes; a command is never longer than this anyway.
  const cut = String(raw ?? '').slice(0, MAX_COMMAND_LENGTH);
  // `away … to @noah`: the delegate may be a Slack mention, which the other words drop.
  const words = chatWords(cut);
  const first = (words[0] ?? '').toLowerCase().replace(/^\//, '');
  if (DELEGATION_WORDS.has(first)) return parseDelegationCommand(first, words.slice(1));
  const text = cut.replace(/<@[^>]{1,100}>/g, ' ').trim();
  // Quoted names are one word here, so every parser below sees "Refund Triage" as one agent.
  const [head = '', ...rest] = chatWords(text);
  const word = head.toLowerCase().replace(/^\//, '');
  const arg = rest.join(' ').trim();
  if (OFFBOARDING_WORDS.has(word)) return parseOffboardingCommand(word, rest);
  if (GOVERNANCE_WORDS.has(word)) return parseGovernanceCommand(word, rest);
  switch (word) {
    case '':
    case 'help':
    case '?':
      return { name: 'help' };
    case 'catalog':
    case 'catalogue':
      return { name: 'catalog' };
    case 'home':
      return { name: 'home' };
    case 'pending':
      return { name: 'pending' };
    case 'cancel': {
      const [runId, ...reason] = rest;
      return runId ? { name: 'cancel', runId, ...(reason.length ? { reason: reason.join(' ') } : {}) } : { name: 'cancel' };
    }
    case 'boundary': {
      const [agent, action, mode, ...reason] = rest;
      return agent && action && mode
        ? { name: 'boundary', agent, action, mode: mode.toLowerCase(), reason: reason.join(' ') }
        : { name: 'unknown', text };
    }
    case 'request':
      return arg ? { name: 'request', roleId: arg.toLowerCase() } : { name: 'request' };
    case 'list': {
      const words = rest.map((w) => w.toLowerCase());
      const status = words.filter(isAgentStatus);
      const target = words.find((w) => !isAgentStatus(w)) ?? 'mine';
      const scope: ListScope = target === 'mine' || target === 'all' ? target : { businessUnit: target };
      return { name: 'list', scope, ...(status.length ? { status } : {}) };
    }
    case 'show':
      return arg ? { name: 'show', agent: arg } : { name: 'unknown', text };
    case 'find':
    case 'search':
      // The filters read the raw words: a sponsor may be a Slack mention, a role a quoted title.
      return { name: 'find', query: cut.trim().replace(/^\S+\s*/, '') };
    case 'eval':
    case 'evaluate': {
      const self = /\s+self-reported$/i.test(arg);
      const agent = arg.replace(/\s+self-reported$/i, '').trim();
      // Alone, the endpoint form picks the agent.
      return agent ? { name: 'eval', agent, ...(self ? { selfReported: true } : {}) } : { name: 'eval', agent: '' };
    }
    case 'access':
    case 'break-glass':
      return parseAccessCommand(word, rest);
    default:
      return { name: 'unknown', text };
  }
}

/** What a chat interaction produces: a card to show, and whether it is a form (modal in Slack). */
export interface ChatReply {
  card: CardModel;
  /** True when the card is a form (request, evaluation, deny reason). */
  form?: boolean;
}

/** Values of the find form (see {@link FindFormValues} in core). */
export type { FindFormValues } from '../core/agent-search.js';

/** Values of the request form, as both platforms read them. */
export interface RequestFormValues {
  roleId: string;
  /** Registering a shadow agent under its own id (see {@link CardActionsChat}). */
  registerAgentId?: AgentId;
  agentName?: string;
  purpose?: string;
  businessUnit?: string;
  sponsors?: string[];
  justification?: string;
}

/** The request form's values as the request they stand for: checked before Slack's acknowledgement and submitted, alike. */
function requestInput(values: RequestFormValues): AgentRequestInput {
  return {
    roleId: values.roleId,
    name: values.agentName ?? '',
    purpose: values.purpose ?? '',
    businessUnit: values.businessUnit ?? '',
    sponsors: values.sponsors ?? [],
    justification: values.justification ?? '',
  };
}

/** Values of the evaluation form. */
export interface EvaluationFormValues {
  runId?: string;
  /** Absent when the form came back without a well-formed one: refused with a clear error. */
  agentId?: AgentId;
  accuracy?: string | number;
  p95LatencyMs?: string | number;
  costPerTaskUsd?: string | number;
  /** Indexes of the ticked role-fit items. */
  roleFit?: number[];
  notes?: string;
}

/** Result of a submitted form: the confirmation to show, or the form again with field errors. */
export type FormResult = { ok: true; reply: ChatReply; agentId?: string } | { ok: false; errors: Record<string, string>; reply: ChatReply };

/**
 * The conversation both channels share: commands, forms and clicks in, card models out. The
 * adapters do transport (identity, acks, rendering, sending); every rule is in the command API.
 */
export class ChatService {
  /** Access requests, break-glass and the buttons of grant cards. */
  readonly access: AccessChat;
  /** The interview: endpoint prompt, suite runs, failing cases. */
  readonly evaluation: EvaluationChat;
  /** The agent buttons of alerts, check-ins and notices, and their prompts. */
  readonly actions: CardActionsChat;

  /** Clicks, commands and form submits per person (Slack and Teams), from `settings.rateLimits.chat`. */
  private readonly limiter: RateLimiter;
  /** Searches of pickers as a person types, from `settings.rateLimits.search` (typing asks often). */
  private readonly searchLimiter: RateLimiter;

  constructor(
    private readonly org: OrgConfig,
    private readonly services: Services,
    private readonly log: Logger,
  ) {
    this.access = new AccessChat(org, services);
    this.evaluation = new EvaluationChat(org, services);
    this.actions = new CardActionsChat(org, services, this);
    const { requests, per } = org.settings.rateLimits.chat;
    this.limiter = new RateLimiter({ requests, perMs: per.ms });
    const search = org.settings.rateLimits.search ?? DEFAULT_SEARCH_RATE_LIMIT;
    this.searchLimiter = new RateLimiter({ requests: search.requests, perMs: search.per.ms });
  }

  /**
   * Spends one picker search of a chat user (`slack:<id>`, `teams:<id>`): true when they search
   * faster than `settings.rateLimits.search` allows (the search is then answered with nothing).
   */
  searchTooFast(principal: string): boolean {
    const decision = this.searchLimiter.take(principal);
    if (!decision.ok) this.log.info({ principal, retryAfterSeconds: decision.retryAfterSeconds }, 'picker search rate limit reached');
    return !decision.ok;
  }

  /**
   * The choices of a picker that searches as the person types, answering `query`: `people` (the
   * directory: active people), `access` (the agent and scope pairs of the access form) or
   * `agents:<purpose>` (the agents of a form, see {@link PickPurpose}). An unknown dataset has none.
   */
  async search(person: Person, dataset: string, query: string): Promise<SearchChoice[]> {
    const text = query.trim().slice(0, 100);
    if (dataset === PEOPLE_DATASET) return searchPeople(this.org, text);
    if (dataset === ACCESS_DATASET) return this.access.searchTargets(person, text);
    const purpose = dataset.startsWith('agents:') ? PICK_PURPOSES.find((p) => `agents:${p}` === dataset) : undefined;
    return purpose ? this.actions.searchAgents(person, purpose as PickPurpose, text) : [];
  }

  /**
   * Spends one interaction of a chat user (`slack:<id>`, `teams:<id>`): undefined when allowed,
   * else the friendly "slow down" card to answer with instead of acting.
   */
  slowDown(principal: string): CardModel | undefined {
    const decision = this.limiter.take(principal);
    if (decision.ok) return undefined;
    this.log.info({ principal, retryAfterSeconds: decision.retryAfterSeconds }, 'chat rate limit reached');
    const err = new RateLimitedError(decision.retryAfterSeconds);
    return this.notice('warning', titleFor(err), err.userMessage);
  }

  person(email: string): Person | undefined {
    return findPersonByEmail(this.org, email);
  }

  /**
   * Runs a typed command for a known person. An agent name that is a near miss of one the
   * person may see gets "did you mean".
   */
  async run(person: Person, command: ChatCommand): Promise<ChatReply> {
    try {
      return await this.runCommand(person, command);
    } catch (err) {
      if (!(err instanceof NotFoundError) || err.details.what !== 'the agent') throw err;
      const typed = String(err.details.id ?? '');
      const near = await this.services.search.nearestName(person.email, typed).catch(() => undefined);
      throw near ? new NotFoundError('the agent', typed, `Did you mean "${near}"?`) : err;
    }
  }

  private async runCommand(person: Person, command: ChatCommand): Promise<ChatReply> {
    // `note <agent>` without words opens the note form (a modal in Slack, a card in Teams).
    // Without the agent too (`note`), the form picks it among the agents the person may note.
    if (command.name === 'note' && !command.text.trim())
      return { form: true, card: await this.actions.noteForm(person, command.agent || undefined) };
    // `update <agent>` without a version opens the new-version form (`update` alone picks the agent).
    if (command.name === 'update' && !command.version)
      return { form: true, card: await this.actions.versionForm(person, command.agent || undefined) };
    // `retrain` alone, or `retrain <agent> postpone` without days, opens the postpone form.
    if (command.name === 'retrain' && (!command.agent || command.days === undefined))
      return { form: true, card: await this.actions.postponeForm(person, command.agent || undefined) };
    // `reactivate` alone picks among the person's suspended agents.
    if (command.name === 'reactivate' && !command.agent) return { form: true, card: await this.actions.reactivateForm(person) };
    // `eval` alone picks among the agents Roster can evaluate for the person.
    if (command.name === 'eval' && !command.agent) return { form: true, card: await this.actions.evaluateForm(person) };
    // `access` with arguments missing opens the access form, of the pairs the person may request (none: the usage).
    const accessForm = command.name === 'access' ? await this.access.form(person, command) : undefined;
    if (accessForm) return { form: true, card: accessForm };
    if (isOffboardingCommand(command)) return { card: await new OffboardingChat(this.services, this.org).run(person, command) };
    if (isGovernanceCommand(command)) return { card: await new GovernanceChat(this.services, this.org).run(person, command) };
    if (isDelegationCommand(command)) return { card: await new DelegationChat(this.services, this.org).run(person, command) };
    switch (command.name) {
      case 'help':
        return { card: this.help(person) };
      case 'unknown': {
        const typed = command.text.slice(0, 100);
        const near = didYouMean((chatWords(typed)[0] ?? '').replace(/^\//, ''), commandWords(this.commandsFor(person)));
        return {
          card: this.help(
            person,
            near
              ? `I didn't understand "${typed}". Did you mean \`${near}\`? Here is what you can do:`
              : `I didn't understand "${typed}". Here is what I can do:`,
          ),
        };
      }
      case 'catalog':
        return { card: this.catalog(person) };
      case 'request':
        return command.roleId ? this.requestForm(person, command.roleId) : { card: this.catalog(person, 'Pick a role to request:') };
      case 'list':
        return { card: await this.list(person, command.scope, command.status) };
      case 'find':
        return { card: await this.find(person, command.query) };
      case 'show':
        return { card: await this.profile(person, command.agent) };
      case 'eval':
        return this.evaluationForm(person, command.agent, undefined, undefined, command.selfReported);
      case 'home':
        return { card: await this.home(person) };
      case 'pending':
        return { card: await this.pending(person) };
      case 'cancel':
        return { card: command.runId ? await this.cancelRequest(person, command.runId, command.reason) : await this.openRequests(person) };
      case 'boundary':
        return { card: await this.boundaryChange(person, command) };
      case 'access':
      case 'break-glass':
        return { card: await this.access.run(person, command) };
    }
  }

  /** Help with the commands this person can use: IT-only and oversight commands only for those who hold the role. */
  help(person: Person, intro?: string): CardModel {
    return cardModel('help', {
      intro: intro ?? `Hi ${person.name.split(' ')[0]}, here is what I can do:`,
      commands: this.commandsFor(person),
    });
  }

  /** {@link CHAT_COMMANDS} as this person may use them. */
  commandsFor(person: Person): Array<{ usage: string; description: string }> {
    return CHAT_COMMANDS.filter((c) => COMMAND_AUDIENCE.every((a) => !a.usage.test(c.usage) || a.may(person))).map((c) => {
      if (c.usage.startsWith('list ') && !mayListAllAgents(person))
        return {
          usage: 'list [mine|<business-unit>]',
          description: 'List agents: yours, or those of a business unit you belong to or approve for.',
        };
      if (c.usage.startsWith('eval ') && !mayTypeInResults(person))
        return {
          usage: 'eval [agent]',
          description: "Evaluate an agent: Roster runs its role's suite against it; alone, the form picks the agent.",
        };
      return c;
    });
  }

  /** The roles the person's unit may request (only `roleId`'s entry when given and offered). */
  catalog(person: Person, intro?: string, roleId?: string): CardModel {
    const offered = catalogRolesFor(this.org, person.businessUnit);
    const only = roleId ? offered.filter((r) => r.id === roleId) : [];
    const roles = only.length ? only : offered;
    const bu = businessUnitById(this.org, person.businessUnit)?.name ?? person.businessUnit;
    return cardModel('catalog', {
      intro: intro ?? `Agent roles available to ${bu}`,
      entries: roles.map((r) => ({
        roleId: r.id,
        title: r.title,
        description: r.description,
        riskTier: r.riskTier,
        vendor: r.vendor,
        model: r.model,
        dataClasses: r.dataClasses,
        defaultScopes: r.defaultScopes,
      })),
    });
  }

  /** The request form for a role, or a friendly notice when the role is unknown. */
  requestForm(person: Person, roleId: string, values?: Partial<RequestFormValues>, errors?: Record<string, string>): ChatReply {
    const role = roleById(this.org, roleId);
    if (!role) {
      return {
        card: this.notice(
          'warning',
          'Unknown role',
          `There is no catalog role "${roleId}". Type \`catalog\` to see the roles you can request.`,
        ),
      };
    }
    const registering = values?.registerAgentId !== undefined;
    const units = (role.businessUnits ?? this.org.businessUnits.map((b) => b.id))
      .filter((id) => this.org.businessUnits.some((b) => b.id === id) && mayRequestInUnit(person, id, registering))
      .map((id) => ({
        value: id,
        label: businessUnitById(this.org, id)?.name ?? id,
      }));
    if (units.length === 0) {
      const bu = businessUnitById(this.org, person.businessUnit)?.name ?? person.businessUnit;
      return {
        card: this.notice(
          'warning',
          `${role.title} is not offered to ${bu}`,
          `${role.title} may only be requested by ${(role.businessUnits ?? []).join(', ')}. Type \`catalog\` to see the roles ${bu} can request.`,
        ),
      };
    }
    const defaultBu = units.some((u) => u.value === person.businessUnit) ? person.businessUnit : units[0]?.value;
    const sponsors = values?.sponsors ?? [person.email];
    const slackIds = sponsors.map((s) => findPersonByEmail(this.org, s)?.slackUserId).filter((id): id is string => Boolean(id));
    return {
      form: true,
      card: cardModel('request-form', {
        roleId: role.id,
        roleTitle: role.title,
        ...(values?.registerAgentId ? { registerAgentId: values.registerAgentId } : {}),
        businessUnits: units,
        values: {
          ...(values?.agentName ? { agentName: values.agentName } : {}),
          ...(values?.purpose ? { purpose: values.purpose } : {}),
          ...((values?.businessUnit ?? defaultBu) ? { businessUnit: values?.businessUnit ?? defaultBu } : {}),
          sponsorSlackUserIds: slackIds,
          // A choice set's value: e-mails separated by commas alone (Teams splits on the comma).
          sponsorEmails: sponsors.join(','),
          sponsorChoices: sponsors
            .slice(0, 20)
            .map((email) => ({ value: email, label: findPersonByEmail(this.org, email)?.name ?? email })),
          ...(values?.justification ? { justification: values.justification } : {}),
        },
        ...(errors && Object.keys(errors).length ? { errors } : {}),
      }),
    };
  }

  /**
   * Checks the request form without starting anything (so Slack can show field errors in its
   * 3-second acknowledgement); returns problems keyed by form field, empty when it may be submitted.
   */
  async checkRequest(values: RequestFormValues, person?: Person): Promise<Record<string, string>> {
    try {
      const request = parseAgentRequest(requestInput(values));
      const problems = await validateAgentRequest(this.org, this.services.agents, request, person, values.registerAgentId !== undefined);
      return mapFields(problems, REQUEST_FIELD_NAMES);
    } catch (err) {
      if (err instanceof InvalidInputError) return refusalFields(err, REQUEST_FIELD_NAMES, 'agentName');
      throw err;
    }
  }

  /** Submits the request form; field problems come back keyed by form field. */
  async submitRequest(person: Person, values: RequestFormValues): Promise<FormResult> {
    try {
      const { run, agentId } = await this.services.bus.execute(person, {
        type: 'agent.request',
        ...requestInput(values),
        ...(values.registerAgentId ? { shadowAgentId: values.registerAgentId } : {}),
      });
      const card = this.services.presenter.status(run);
      return { ok: true, reply: { card }, agentId };
    } catch (err) {
      if (err instanceof InvalidInputError) {
        const errors = refusalFields(err, REQUEST_FIELD_NAMES, 'agentName');
        return { ok: false, errors, reply: this.requestForm(person, values.roleId, values, errors) };
      }
      throw err;
    }
  }

  async list(person: Person, scope: ListScope, status?: AgentStatus[]): Promise<CardModel> {
    const agents = await this.services.bus.execute(person, { type: 'agents.list', scope, ...(status ? { status } : {}) });
    const title =
      scope === 'mine'
        ? 'Your agents'
        : scope === 'all'
          ? 'All agents'
          : `Agents in ${businessUnitById(this.org, scope.businessUnit)?.name ?? scope.businessUnit}`;
    return cardModel('agent-list', {
      title: status?.length ? `${title} (${status.join(', ')})` : title,
      agents: agents.map((a) => this.listItem(a)),
      emptyText: scope === 'mine' ? 'You sponsor or requested no agents yet. Type `catalog` to request one.' : 'No agents match.',
    });
  }

  /** A page of `find` (typed words, or the words a form or paging button built), with Previous / Next. */
  async find(person: Person, query: string, page?: number): Promise<CardModel> {
    const result = await this.services.bus.execute(person, { type: 'agents.find', query, ...(page ? { page } : {}) });
    const words = formatFindQuery(result.query);
    const first = (result.page - 1) * FIND_PAGE_SIZE + 1;
    return cardModel('agent-list', {
      title: words ? 'Agents found' : 'Agents you may see',
      agents: result.agents.map((a) => this.listItem(a)),
      emptyText:
        result.total === 0
          ? 'No agent you may see matches. Loosen a filter, or type `help` for what `find` accepts.'
          : `There are ${result.total} matching agents; this page is past the last one.`,
      search: {
        query: words,
        summary:
          result.total === 0
            ? 'no agents'
            : `${first}–${first + result.agents.length - 1} of ${result.total} agent${result.total === 1 ? '' : 's'} · page ${result.page} of ${result.pageCount}`,
        ...(result.page > 1 ? { prev: Math.min(result.page - 1, result.pageCount) } : {}),
        ...(result.page < result.pageCount ? { next: result.page + 1 } : {}),
      },
    });
  }

  /** The find form (App Home on Slack, the home card on Teams), with what was chosen and what was wrong. */
  findForm(values: FindFormValues = {}, error?: string): CardModel {
    const option = (optionId: string, label: string) => ({ optionId, label });
    const choices = findChoices(this.org);
    return cardModel('find-form', {
      statuses: choices.statuses.map((st) => option(st, st)),
      roles: this.org.catalog.slice(0, 100).map((r) => option(r.id, r.title)),
      units: this.org.businessUnits.slice(0, 100).map((b) => option(b.id, b.name)),
      scopes: this.org.scopes.slice(0, 100).map((x) => option(x.id, `${x.id} (${x.risk} risk)`)),
      dataClasses: choices.dataClasses.map((d) => option(d, d)),
      risks: choices.risks.map((r) => option(r, r)),
      checkins: choices.checkins.map((c) => option(c, c === 'none' ? 'never checked in' : c)),
      values: Object.fromEntries(Object.entries(values).filter(([, v]) => typeof v === 'string' && v.trim())),
      ...(error ? { error } : {}),
    });
  }

  /**
   * The find form's values as a `find`: the first page of results, or the form again with the
   * filter that was wrong (and the field to mark, by filter name).
   */
  async findFromForm(
    person: Person,
    values: FindFormValues,
  ): Promise<{ ok: true; card: CardModel } | { ok: false; field: string; error: string; card: CardModel }> {
    const words = findFormWords(values);
    try {
      return { ok: true, card: await this.find(person, words) };
    } catch (err) {
      if (!(err instanceof InvalidInputError)) throw err;
      const field = Object.keys(err.fields)[0] ?? 'cost';
      return { ok: false, field, error: err.userMessage, card: this.findForm(values, err.userMessage) };
    }
  }

  async profile(person: Person, agentKey: string): Promise<CardModel> {
    const view = await this.services.bus.execute(person, { type: 'agent.show', agent: agentKey });
    const a = view.agent;
    const role = roleById(this.org, a.catalogRoleId);
    const linked = async (id?: AgentId) => {
      if (!id) return undefined;
      const other = await this.services.agents.get(id);
      return other ? { agentId: other.id, name: other.name } : undefined;
    };
    const [predecessor, successor, overrides] = await Promise.all([
      linked(a.predecessorId),
      linked(a.successorId),
      this.services.boundaryChanges.overridesOf(a),
    ]);
    const access = AccessChat.profileGrants(view.grants);
    return cardModel('agent-profile', {
      agentId: a.id,
      name: a.name,
      roleTitle: role?.title ?? a.catalogRoleId,
      version: a.version,
      status: a.status,
      sponsors: a.sponsors.map((s) => this.services.presenter.person(s)),
      businessUnit: businessUnitById(this.org, a.businessUnit)?.name ?? a.businessUnit,
      riskTier: role?.riskTier ?? 'low',
      grants: access.grants,
      baseline: a.baseline
        ? [
            { metric: 'Accuracy', value: a.baseline.accuracy.toFixed(2) },
            { metric: 'p95 latency', value: `${Math.round(a.baseline.p95LatencyMs)} ms` },
            { metric: 'Cost per task', value: `$${a.baseline.costPerTaskUSD.toFixed(4)}` },
          ]
        : [],
      ...(predecessor ? { predecessor } : {}),
      ...(successor ? { successor } : {}),
      knowledgeNotesCount: a.knowledgeNotes.length,
      complianceTags: [...a.complianceTags, ...(access.breakGlassUses ? [`break-glass used ${access.breakGlassUses}×`] : [])],
      versions: (await this.services.development.versionHistory(a.id)).map((v) => ({
        version: v.version,
        status: v.status,
        at: displayDate(v.promotedAt ?? v.proposedAt),
        changelog: v.changelog,
        evaluation: v.evaluation.verdict.passed ? 'evaluation passed' : 'evaluation failed',
      })),
      notes: [...a.knowledgeNotes].reverse().map((n) => ({ kind: n.kind, text: n.text })),
      boundaryOverrides: overrides.map((o) => o.text),
      createdAt: displayDate(a.createdAt),
      actions: [
        ...(keysManageable(a.status) && mayRotateKey(person, a)
          ? [{ action: 'agent_key_rotate' as const, label: 'Rotate key', value: { agentId: a.id } }]
          : []),
        ...this.profileActions(person, a),
      ],
    });
  }

  /** The viewer's buttons on a profile: Reactivate on a suspended agent (its sponsors and IT admins), Accept on a sponsorship waiting for them. */
  private profileActions(person: Person, a: AgentRecord): DataOf<'notice'>['actions'] & object {
    const actions: NonNullable<DataOf<'notice'>['actions']> = [];
    if (mayProposeVersion(person, a)) {
      actions.push({ action: 'version_propose', label: 'Propose version…', value: { agentId: a.id } });
    }
    if (a.status !== 'retired' && mayAddKnowledgeNote(this.org, person, a)) {
      actions.push({ action: 'agent_note', label: 'Add note…', value: { agentId: a.id } });
    }
    if (a.status === 'suspended' && mayAskReactivation(person, a)) {
      actions.push({ action: 'agent_reactivate', label: 'Reactivate…', value: { agentId: a.id } });
    }
    if (Sponsorships.proposalFor(a, person.email, true)) {
      actions.push(
        { action: 'sponsor_confirm', label: 'Accept sponsorship', style: 'primary', value: { agentId: a.id } },
        { action: 'sponsor_decline', label: 'Decline', value: { agentId: a.id } },
      );
    }
    return actions;
  }

  /** The endpoint prompt of the interview (see {@link EvaluationChat}). */
  endpointPromptCard(agent: AgentRecord): CardModel {
    return this.evaluation.endpointPromptCard(agent);
  }

  /** The inputs of the endpoint prompt (kind, URL, model or tool, secret). */
  endpointPromptInputs(): DataOf<'prompt'>['inputs'] {
    return this.evaluation.endpointInputs();
  }

  /** The endpoint the prompt's values name (see {@link EvaluationChat.endpointOf}). */
  endpointOf(values: PromptValues): ReturnType<EvaluationChat['endpointOf']> {
    return this.evaluation.endpointOf(values);
  }

  evaluationStartedCard(run: EvalRunRecord): CardModel {
    return this.evaluation.startedCard(run);
  }

  failingCasesCard(run: EvalRunRecord, cases: readonly EvalCaseRecord[]): CardModel {
    return this.evaluation.failingCasesCard(run, cases);
  }

  /**
   * Evaluating an agent (`evaluation.open`, one read of the agent): for a role with a suite, the
   * endpoint prompt (Roster measures it), for who may register its endpoint as the Register endpoint
   * and run button does; the typed-in form otherwise, or for an IT admin who asks for it
   * (`self-reported`, with a reason).
   */
  async evaluationForm(
    person: Person,
    agentKey: string,
    values?: EvaluationFormValues,
    errors?: Record<string, string>,
    selfReported = false,
  ): Promise<ChatReply> {
    const typedIn = values ? 'again' : selfReported ? 'asked' : undefined;
    const opened = await this.services.bus.execute(person, { type: 'evaluation.open', agent: agentKey, ...(typedIn ? { typedIn } : {}) });
    const { agent } = opened;
    if (opened.form === 'endpoint') return { form: true, card: this.evaluation.endpointPromptCard(agent) };
    if (opened.form === 'none') {
      if (opened.why === 'no-request') return { card: this.notice('warning', 'Nothing to evaluate', `${agent.name} has no open request.`) };
      if (opened.why === 'typed-in-refused')
        return {
          card: this.notice('warning', 'Typed-in results need an IT admin', typedInRefusal(opened.role, agent.name, opened.measured)),
        };
      return {
        card: this.notice(
          'info',
          'Evaluation not needed now',
          `${agent.name} isn't waiting for evaluation results (it is ${agent.status}).`,
        ),
      };
    }
    const { role, request } = opened;
    const numeric = (v: string | number | undefined) => (v === undefined || v === '' || Number.isNaN(Number(v)) ? undefined : Number(v));
    return {
      form: true,
      card: cardModel('evaluation-form', {
        ...evaluationFormBase(role, { runId: request.id, agentId: agent.id, agentName: agent.name }),
        ...(values
          ? {
              values: {
                ...(numeric(values.accuracy) !== undefined ? { accuracy: numeric(values.accuracy) } : {}),
                ...(numeric(values.p95LatencyMs) !== undefined ? { p95LatencyMs: numeric(values.p95LatencyMs) } : {}),
                ...(numeric(values.costPerTaskUsd) !== undefined ? { costPerTaskUsd: numeric(values.costPerTaskUsd) } : {}),
                ...(values.roleFit ? { roleFit: values.roleFit } : {}),
                ...(values.notes ? { notes: values.notes } : {}),
              },
            }
          : {}),
        ...(errors && Object.keys(errors).length ? { errors } : {}),
      }),
    };
  }

  /**
   * The evaluation form's required numbers, checked without side effects (so Slack can show them
   * in its 3-second acknowledgement); problems keyed by form field, empty when it may be submitted.
   */
  checkEvaluation(values: EvaluationFormValues): Record<string, string> {
    const missing: Record<string, string> = {};
    const labels = {
      accuracy: 'Enter the accuracy (0 to 1).',
      p95LatencyMs: 'Enter the p95 latency in ms.',
      costPerTaskUsd: 'Enter the cost per task in USD.',
    } as const;
    for (const [field, label] of Object.entries(labels) as Array<[keyof typeof labels, string]>) {
      const v = values[field];
      if (v === undefined || v === '' || Number.isNaN(Number(v))) missing[field] = label;
    }
    if (!typedInReasonGiven(values.notes)) missing.notes = TYPED_IN_REASON_NEEDED;
    return missing;
  }

  /** Submits evaluation results; the verdict card explains each metric. */
  async submitEvaluation(person: Person, values: EvaluationFormValues): Promise<FormResult> {
    // The form's agent is its hidden data: one malformed or missing names no agent Roster knows.
    const agentId = values.agentId;
    if (!agentId) throw new RosterError('not_found', "This form names no agent Roster knows: open it again from the agent's card.");
    const agent = await this.services.agents.get(agentId);
    const role = agent ? roleById(this.org, agent.catalogRoleId) : undefined;
    const roleFitChecked = (values.roleFit ?? []).map((i) => role?.evaluation.roleFit[i]).filter((s): s is string => Boolean(s));
    const missing = this.checkEvaluation(values);
    if (Object.keys(missing).length) {
      return { ok: false, errors: missing, reply: await this.evaluationForm(person, agentId, values, missing) };
    }
    try {
      const { verdict } = await this.services.bus.execute(person, {
        type: 'evaluation.submit',
        agentId,
        accuracy: values.accuracy as number,
        p95LatencyMs: values.p95LatencyMs as number,
        costPerTaskUSD: values.costPerTaskUsd as number,
        roleFitChecked,
        ...(values.notes ? { notes: values.notes } : {}),
      });
      const submitted = await this.services.agents.get(agentId);
      return {
        ok: true,
        reply: {
          card: cardModel('evaluation-verdict', {
            runId: submitted!.requestRunId,
            agentId: submitted!.id,
            agentName: submitted!.name,
            roleTitle: role?.title ?? submitted!.catalogRoleId,
            passed: verdict.passed,
            submittedBy: this.services.presenter.person(person.email),
            submittedAt: displayDate(new Date()),
            metrics: verdict.results
              .filter((r) => r.metric !== 'roleFit')
              .map((r) => ({ metric: r.label, value: r.value, threshold: r.threshold, passed: r.passed, explanation: r.explanation })),
            roleFit: (role?.evaluation.roleFit ?? []).map((item) => ({ item, passed: roleFitChecked.includes(item) })),
            ...(values.notes ? { notes: values.notes } : {}),
            source: 'self-reported',
          }),
        },
      };
    } catch (err) {
      if (err instanceof InvalidInputError) {
        const errors = refusalFields(
          err,
          {
            accuracy: 'accuracy',
            p95LatencyMs: 'p95LatencyMs',
            costPerTaskUSD: 'costPerTaskUsd',
            roleFitChecked: 'roleFit',
            notes: 'notes',
          },
          'accuracy',
        );
        return { ok: false, errors, reply: await this.evaluationForm(person, agentId, values, errors) };
      }
      throw err;
    }
  }

  /**
   * Cancels a request of this person's (or any, for an IT admin); returns their fresh status card,
   * which says who cancelled and has no buttons left. The approvers' cards are updated by the engine.
   */
  async cancelRequest(person: Person, runId: string, reason?: string): Promise<CardModel> {
    const run = await this.services.bus.execute(person, { type: 'request.cancel', runId, ...(reason !== undefined ? { reason } : {}) });
    const card = this.services.presenter.status(run);
    return card;
  }

  /** `cancel` without a request: this person's requests that may still be cancelled, each with its Cancel button. */
  private async openRequests(person: Person): Promise<CardModel> {
    const open = (await this.services.bus.execute(person, { type: 'requests.open' })).filter((run) => offersCancel(run));
    if (open.length === 0) return this.notice('info', 'Nothing to cancel', 'You have no agent or access request waiting for approval.');
    return cardModel('notice', {
      level: 'info',
      title: 'Your requests waiting for approval',
      text: open
        .slice(0, 10)
        .map(
          (run) =>
            `• ${String(run.context.agentName ?? run.subject.id)}${run.flowId === 'access-request' ? ` — access to ${String(run.context.scope ?? '')}` : ''} (request ${run.id}, ${displayDate(run.createdAt)})`,
        )
        .join('\n'),
      actions: open.slice(0, 5).map((run) => ({
        action: 'request_cancel' as const,
        label:
          `Cancel ${String(run.context.agentName ?? run.id)}${run.flowId === 'access-request' ? ` ${String(run.context.scope ?? '')}` : ''}`.slice(
            0,
            75,
          ),
        style: 'danger' as const,
        value: { runId: run.id },
      })),
    });
  }

  /**
   * A person's own view of an approval card (buttons only for those who may still decide). `decided`
   * is the run their own decision just returned, which concerns them by that decision.
   */
  async approvalCard(person: Person, runId: RunId, stepId: string, decided?: FlowRun): Promise<CardModel> {
    const run = decided ?? (await this.services.bus.execute(person, { type: 'run.show', runId }));
    const card = this.services.presenter.approval(run, stepId, person.email);
    return card;
  }

  /** The deny-reason form for an approval, for the people the request concerns only (it names the agent). */
  async denyForm(person: Person, runId: RunId, stepId: string, error?: string): Promise<CardModel> {
    const run = await this.services.bus.execute(person, { type: 'run.show', runId });
    const c = run.context as { agentName?: string; roleTitle?: string };
    return cardModel('deny-reason', {
      runId,
      stepId,
      agentName: c.agentName ?? run.subject.id,
      roleTitle: c.roleTitle ?? run.flowId,
      ...(error ? { error } : {}),
    });
  }

  /** Agents waiting on this person: runtime approvals (on their approval cards) and hand-offs to take or resolve. */
  async pending(person: Person): Promise<CardModel> {
    const { approvals: waiting, cases } = await this.services.bus.execute(person, { type: 'tasks.waiting' });
    const runtime = waiting.filter((run) => run.flowId === 'runtime-approval');
    const sections = [
      ...runtime.slice(0, 10).map((run) => {
        const c = run.context as Record<string, unknown>;
        const step = run.steps.decision;
        return {
          text: `Approval: ${String(c.agentName)} asks to ${String(c.actionTitle)} (${String(c.action)}). Reported by the agent: “${String(c.summary)}”${step?.expiresAt ? ` Decide by ${displayDate(step.expiresAt)}` : ''}; the buttons are on the approval card in this chat (request ${run.id}).`,
          actions: [],
        };
      }),
      ...cases.slice(0, 5).flatMap((h) => {
        const card = handoffCard(this.org, h, person.email).data;
        // One button per section: Slack refuses the same action id twice in one block.
        return [
          {
            // The summary is the agent's words: framed and defanged as on the hand-off's own card.
            text: `Hand-off to ${h.queueTitle} from ${h.agentName}: ${reportedByAgent(h.summary, 300)} (${h.status === 'open' ? 'nobody has taken it yet' : 'you took it'})`,
            actions: (card.actions ?? []).slice(0, 1),
          },
          ...(card.sections ?? []).filter((section) => (section.actions ?? []).length > 0),
        ];
      }),
    ];
    const total = runtime.length + cases.length;
    return cardModel('notice', {
      level: 'info',
      title: total ? `${total} waiting for you` : 'Nothing waiting for you',
      text: total
        ? `${runtime.length} runtime approval${runtime.length === 1 ? '' : 's'} and ${cases.length} hand-off${cases.length === 1 ? '' : 's'}.`
        : 'No agent is waiting for your decision or has handed you a case.',
      ...(sections.length ? { sections: sections.slice(0, 20) as never } : {}),
    });
  }

  /** A sponsor asks IT to change an action's boundary; the change waits for an IT admin's approval. */
  private async boundaryChange(person: Person, command: Extract<ChatCommand, { name: 'boundary' }>): Promise<CardModel> {
    const change = await this.services.bus.execute(person, {
      type: 'boundary.request',
      agent: command.agent,
      action: command.action,
      mode: command.mode,
      reason: command.reason,
    });
    const admins = change.deciders.map((email) => this.services.presenter.person(email).name).join(', ');
    return this.notice(
      'success',
      `Boundary change sent to IT`,
      `${change.actionTitle} (${change.action}) for ${change.agentName}: from ${change.from} to ${change.to}. It applies once an IT admin approves (${admins} asked; request ${change.id}). Until then the current boundary stays.`,
    );
  }

  /** The person's dashboard: their agents, approvals waiting for them, their open requests. */
  async home(person: Person, found?: CardModel): Promise<CardModel> {
    const [mine, { approvals: waiting, cases, changes }, open, fleet] = await Promise.all([
      this.services.bus.execute(person, { type: 'agents.list', scope: 'mine' }),
      this.services.bus.execute(person, { type: 'tasks.waiting' }),
      this.services.bus.execute(person, { type: 'requests.open' }),
      this.services.bus.execute(person, { type: 'home.fleet' }),
    ]);
    const now = Date.now();
    const away = await this.services.bus.execute(person, { type: 'delegation.current' });
    const lastDay = away ? new Date(Date.parse(away.endsAt) - 1).toISOString().slice(0, 10) : '';
    return cardModel('home', {
      offerFind: true,
      ...(found?.kind === 'agent-list' ? { found: found.data } : {}),
      ...(fleet ? { fleet: { title: `Fleet: ${fleet.total} agents`, facts: fleetFacts(fleet) } } : {}),
      away: away
        ? {
            text: `Out of office ${away.startsAt.slice(0, 10)} to ${lastDay}: ${this.services.presenter.person(away.delegate).name} decides your approvals${away.status === 'active' ? '' : ' from then'}.`,
            actions: [{ action: 'delegation_back', label: "I'm back", style: 'primary', value: {} }],
          }
        : {
            text: 'Going away? Hand your approvals to someone for those days.',
            actions: [{ action: 'delegation_away', label: 'Out of office…', value: {} }],
          },
      person: this.services.presenter.person(person.email),
      myAgents: mine.slice(0, 20).map((a) => this.listItem(a)),
      approvals: waiting.slice(0, 15).map((run) => {
        const c = run.context as Record<string, string>;
        const step = this.services.engine.flow(run.flowId).steps[run.current];
        const state = step ? run.steps[step.id] : undefined;
        return {
          runId: run.id,
          stepId: step?.id ?? '',
          agentName: c.agentName ?? run.subject.id,
          roleTitle: c.roleTitle ?? run.flowId,
          riskTier: (c.riskTier as 'low' | 'medium' | 'high') ?? 'low',
          businessUnit: businessUnitById(this.org, c.businessUnit ?? '')?.name ?? c.businessUnit ?? '',
          requester: this.services.presenter.person(run.requester),
          requestedAt: displayDate(run.createdAt),
          ...(state?.expiresAt ? { expiresAt: displayDate(state.expiresAt) } : {}),
          canDecide: true,
          ...(run.flowId === 'runtime-approval'
            ? { action: `${c.actionTitle ?? c.action} (${c.action}), ${reportedByAgent(String(c.summary ?? ''), 300)}` }
            : {}),
          age: ageText(now - Date.parse(run.createdAt)),
        };
      }),
      tasks: this.homeTasks(person, cases, changes, now).slice(0, 10),
      taskCount: cases.length + changes.length,
      openRequests: open.slice(0, 15).map((run) => {
        const c = run.context as Record<string, string>;
        return {
          runId: run.id,
          agentName: c.agentName ?? run.subject.id,
          roleTitle: c.roleTitle ?? run.flowId,
          statusLabel: this.services.presenter.statusLabel(run),
          requestedAt: displayDate(run.createdAt),
        };
      }),
    });
  }

  /**
   * Hand-offs and boundary changes on the home card: an open case with Take it, a case the person
   * took with one Resolve button per outcome, a change with Approve / Deny….
   */
  private homeTasks(person: Person, cases: HandoffRecord[], changes: BoundaryChangeRecord[], now: number) {
    const items: Array<{ text: string; actions: Array<Record<string, unknown>> }> = [];
    // Marked as clicked on the home card: Teams then answers the click with the home card again.
    const onHome = (actions: Array<Record<string, unknown>>) =>
      actions.map((a) => ({ ...a, value: { ...(a.value as Record<string, unknown>), surface: HOME_SURFACE } }));
    for (const h of cases.slice(0, 8)) {
      const card = handoffCard(this.org, h, person.email).data;
      items.push({
        text: `Hand-off from ${h.agentName} to ${h.queueTitle} · waiting ${ageText(now - Date.parse(h.createdAt))}\n${reportedByAgent(h.summary, 300)} ${h.status === 'open' ? '(nobody has taken it yet)' : '(you took it)'}`,
        actions: onHome((card.actions ?? []).slice(0, 1)),
      });
      for (const section of card.sections ?? [])
        if (section.actions?.length) items.push({ text: section.text, actions: onHome(section.actions.slice(0, 1)) });
    }
    for (const c of changes.slice(0, 5)) {
      const card = boundaryChangeCard(this.org, c, person.email).data;
      items.push({
        text: `Boundary change for ${c.agentName} · waiting ${ageText(now - Date.parse(c.createdAt))}\n${c.actionTitle} (${c.action}): ${c.from} → ${c.to}. ${this.services.presenter.person(c.requestedBy).name} says: “${c.reason}”`,
        actions: onHome((card.actions ?? []).slice(0, 2)),
      });
    }
    return items as never[];
  }

  notice(level: 'info' | 'success' | 'warning' | 'error', title: string, text: string): CardModel {
    return cardModel('notice', { level, title, text });
  }

  /** A friendly card for any error: the coded message for expected ones, a generic apology (and a log line) otherwise. */
  errorCard(err: unknown, context: Record<string, unknown> = {}): CardModel {
    if (isRosterError(err)) {
      this.log.info({ code: err.code, ...err.details, ...context }, 'refused: %s', err.code);
      return this.notice(err.code === 'invalid_input' ? 'warning' : 'error', titleFor(err), err.userMessage);
    }
    this.log.error({ err, ...context }, 'unexpected error while handling a chat interaction');
    return this.notice(
      'error',
      'Something went wrong',
      "Sorry, that didn't work because of a problem on our side. IT has the details; please try again in a minute.",
    );
  }

  /** "Not in the directory" for identities Roster cannot map to a person. */
  unknownPersonCard(): CardModel {
    return this.notice(
      'warning',
      "I don't know you yet",
      "You're not in Roster's directory, so I can't act for you. Ask your IT admin to add you (config/people.yaml).",
    );
  }

  private listItem(a: AgentRecord) {
    return {
      agentId: a.id,
      name: a.name,
      roleTitle: roleById(this.org, a.catalogRoleId)?.title ?? a.catalogRoleId,
      status: a.status,
      businessUnit: businessUnitById(this.org, a.businessUnit)?.name ?? a.businessUnit,
    };
  }
}

/** A wait as people say it: `under a minute`, `2 minutes`, `3 hours`, `4 days`. */
export function ageText(ms: number): string {
  return ms < 60_000 ? 'under a minute' : durationInWords(ms);
}

/** Command API field → request form field. */
const REQUEST_FIELD_NAMES: Record<string, string> = {
  name: 'agentName',
  sponsors: 'sponsors',
  purpose: 'purpose',
  businessUnit: 'businessUnit',
  justification: 'justification',
  roleId: 'agentName',
};

function titleFor(err: RosterError): string {
  const titles: Record<string, string> = {
    forbidden: "You can't do that",
    separation_of_duties: "You can't decide this one",
    already_decided: 'Already recorded',
    request_closed: 'This request is closed',
    not_waiting: 'Nothing to do right now',
    not_found: 'Not found',
    invalid_input: 'Please check your input',
    unknown_person: "I don't know you yet",
    conflict: 'Please try again',
    rate_limited: 'Slow down a little',
    duplicate: 'Already exists',
    scope_forbidden: 'That access is not allowed',
    invalid_transition: 'Not possible right now',
  };
  return titles[err.code] ?? 'That did not work';
}

function mapFields(fields: Record<string, string>, names: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [field, message] of Object.entries(fields)) {
    const target = names[field];
    if (target) out[target] = out[target] ? `${out[target]} ${message}` : message;
  }
  return out;
}

/**
 * A refusal's problems by form field: the fields the service named, as the form names them; a
 * refusal naming none (the agent is already being registered) goes on `fallback`, so it is never
 * lost: a form with no problem is taken as sent, and Slack, whose modal has closed, says nothing.
 */
function refusalFields(err: InvalidInputError, names: Record<string, string>, fallback: string): Record<string, string> {
  const errors = mapFields(err.fields, names);
  return Object.keys(errors).length > 0 ? errors : { [fallback]: err.userMessage };
}
