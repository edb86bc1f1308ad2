import type { OrgConfig, Person } from '../config/schemas.js';
import { findPersonByEmail } from '../config/directory.js';
import type { AccessRequestResult } from '../core/access.js';
import type { AgentRecord, GrantRecord } from '../core/agents.js';
import type { IssuedKey } from '../core/agent-keys.js';
import type { AlertRecord } from '../core/alerts.js';
import type { BoundaryChangeRecord } from '../core/boundary-changes.js';
import type { ComplianceRemediationResult } from '../core/compliance-remediation.js';
import type { AuditInput, ReadLog } from '../core/audit.js';
import type { CheckInRecord } from '../core/checkin-service.js';
import { isRosterError, UnknownPersonError } from '../core/errors.js';
import type { EvaluationVerdict } from '../core/evaluation.js';
import type { HandoffRecord } from '../core/handoffs.js';
import type { FlowRun } from '../flows/types.js';
import { assertMayGiveCommand } from '../core/policies.js';
import { actorName, asPerson, type Actor, type AgentActor, type PersonActor } from './actor.js';
import {
  isAgentCommandType,
  parseCommand,
  type AgentCommandType,
  type CommandOf,
  type CommandType,
  type Parsed,
  type PersonCommandType,
} from './command.js';
import type { AgentCommandHandler, CommandHandler } from './handler.js';
import type { AgentCommandResults } from './handlers/agent-runtime.js';
import type { AgentView } from './handlers/show-agent.js';
import type { FindResult } from '../core/agent-search.js';
import type { Delegation } from '../core/delegations.js';
import type { FleetView } from '../core/fleet.js';
import type { ComplianceReport } from '../core/governance.js';
import type { RetrainingRecord } from '../core/development.js';
import type { DecisionsView } from './handlers/governance.js';
import type { ArchiveView, ProposedVersion } from './handlers/offboarding.js';
import type { AcceptedSponsorship } from './handlers/answer-sponsorship.js';
import type { TakenOffer } from './handlers/leaver-offer.js';
import type { OutgoingCard } from '../core/notifications.js';
import type { EvalRunRecord } from '../evals/types.js';
import type { ShadowRegistration } from './handlers/register-shadow.js';
import type { EvaluationRegistered } from './handlers/evaluation-buttons.js';
import type { KnowledgeNote } from '../core/agents.js';
import type { EvalCaseRecord } from '../evals/types.js';
import type { NoteAdded, NoteSubject } from './handlers/add-note.js';
import type { WaitingTasks } from './handlers/waiting-tasks.js';
import type { PickedAgents } from '../core/agent-pickers.js';
import type { EvaluationOpened } from './handlers/open-evaluation.js';

/** What each command returns, by type. */
export interface CommandResults {
  'run.decide': FlowRun;
  'run.show': FlowRun;
  'request.cancel': FlowRun;
  'agent.request': { run: FlowRun; agentId: string };
  'evaluation.submit': { verdict: EvaluationVerdict; run: FlowRun };
  'agents.list': AgentRecord[];
  'agent.show': AgentView;
  'requests.open': FlowRun[];
  'agent.suspension.request': { run: FlowRun; agent: AgentRecord };
  'checkin.decide': { record: CheckInRecord; agent: AgentRecord };
  'alert.acknowledge': AlertRecord;
  'alert.escalate': AlertRecord;
  'alert.snooze': AlertRecord;
  'alert.resolve': AlertRecord;
  'alert.block': AlertRecord;
  'grant.extend': AccessRequestResult;
  'grant.let-expire': GrantRecord;
  'grant.revoke': GrantRecord;
  'grant.confirm': GrantRecord;
  'access.request': AccessRequestResult;
  'access.break-glass': { run: FlowRun; grant: GrantRecord };
  'access.scopes': { agent: AgentRecord; scopes?: string[] };
  'access-review.answer': GrantRecord;
  'agent.decisions': DecisionsView;
  'compliance.report': ComplianceReport;
  'fleet.show': FleetView;
  'dashboard.link': { url: string };
  'agent.retire': FlowRun;
  'agent.archive': ArchiveView;
  'agent.version.propose': ProposedVersion;
  'delegation.away': Delegation;
  'delegation.back': number;
  'delegation.current': Delegation | undefined;
  'agents.find': FindResult;
  // The agent buttons and prompts.
  'handoff.take': HandoffRecord;
  'handoff.resolve': HandoffRecord;
  'agent.note.add': NoteAdded;
  'retraining.start': { agent: AgentRecord; retraining: RetrainingRecord };
  'retraining.postpone': { agent: AgentRecord; retraining: RetrainingRecord };
  'agent.reactivation.request': { agent: AgentRecord; run: FlowRun };
  'agent.key.rotate': { agent: AgentRecord; issued: IssuedKey };
  'agent.key.reissue': { agent: AgentRecord; issued: IssuedKey };
  'boundary.decide': BoundaryChangeRecord;
  'compliance.gap.fix': ComplianceRemediationResult;
  'sponsorship.answer': AcceptedSponsorship;
  'leaver.offer.accept': TakenOffer;
  'alert.retire': { alert: AlertRecord; run: FlowRun };
  'alert.sponsor.assign': AlertRecord;
  'webhook.act': OutgoingCard;
  'evaluation.cancel': EvalRunRecord;
  'checkin.numbers': { record: CheckInRecord; agent: AgentRecord };
  'alert.numbers': { alert: AlertRecord; agent: AgentRecord | undefined };
  // Register on a shadow alert, the interview's buttons, Record as failure mode.
  'alert.register': ShadowRegistration;
  'evaluation.register': EvaluationRegistered;
  'evaluation.show': { run: EvalRunRecord; cases: EvalCaseRecord[] };
  'decision.record': { agent: AgentRecord; note: KnowledgeNote };
  // Opening a command's form: what the form is about.
  'agent.note.open': NoteSubject;
  'agent.version.open': AgentRecord;
  'retraining.postpone.open': AgentRecord;
  'agent.reactivation.open': AgentRecord;
  'alert.sponsor.open': AlertRecord;
  // The typed boundary word.
  'boundary.request': BoundaryChangeRecord;
  // What waits for a person.
  'tasks.waiting': WaitingTasks;
  'home.fleet': FleetView | undefined;
  // A form's agent picker.
  'agents.pick': PickedAgents;
  // The typed eval word and the Evaluate button.
  'evaluation.open': EvaluationOpened;
}

/** What the agents' commands return, by type (src/commands/handlers/agent-runtime.ts). */
export type AllCommandResults = CommandResults & AgentCommandResults;

/** One handler per command type: the bus runs every command of a type through the same one. */
export type CommandHandlers = {
  // The subject a handler loads is its own business; the bus only passes it from load to authorise to handle.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each handler's subject type differs and stays internal to it
  [T in PersonCommandType]: CommandHandler<T, any, CommandResults[T]>;
} & {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above
  [T in AgentCommandType]: AgentCommandHandler<T, any, AgentCommandResults[T]>;
};

/** What the bus tells its observers about each command it ran. */
export interface CommandEvent {
  type: CommandType;
  /** Who gave it: a person's e-mail, or `agent:<id>` for an agent (see actorName). */
  actor: string;
  /** The handler that ran it (one per type, see {@link CommandHandlers}). */
  handler: object;
  /** `done`, or the coded error it was refused with (`error` for anything uncoded). */
  outcome: 'done' | string;
  /** How far it got: a refusal at `parse` or `authorise` never reached its handler's work. */
  stage: 'parse' | 'load' | 'authorise' | 'handle' | 'audit' | 'done';
}

/** What the bus is built from. */
export interface CommandBusDeps {
  /** The directory (live under SCIM), for {@link CommandBus.person}. */
  org: OrgConfig;
  handlers: CommandHandlers;
  /** Where reads (`show`, `list`) are recorded, beside the audit chain. */
  reads: Pick<ReadLog, 'record'>;
}

/**
 * The one way a person's command reaches the domain, from every door (Slack and Teams clicks and
 * words, the CLI, the agent-facing API and MCP): parse the command, let its handler load what the
 * rule is about, authorise through src/core/policies.ts, handle, record a read's audit entry, and
 * return the typed result. Refusals are the coded Roster errors, which each door maps to its words
 * or status code.
 */
export class CommandBus {
  private readonly observers = new Set<(event: CommandEvent) => void>();

  constructor(private readonly deps: CommandBusDeps) {}

  /** The directory entry of a person named by e-mail (a door that knows people by address), or the coded "not in the directory". */
  person(email: string): Person {
    const person = findPersonByEmail(this.deps.org, String(email));
    if (!person) throw new UnknownPersonError(String(email));
    return person;
  }

  /** Runs a person's `command` for `actor`, the person the door resolved (or an agent's, for the agent its token names). */
  execute<T extends PersonCommandType>(actor: Person | PersonActor, command: CommandOf<T>): Promise<CommandResults[T]>;
  execute<T extends AgentCommandType>(actor: AgentActor, command: CommandOf<T>): Promise<AgentCommandResults[T]>;
  async execute<T extends CommandType>(given: Person | Actor, command: CommandOf<T>): Promise<AllCommandResults[T]> {
    const actor: Actor = isActor(given) ? given : asPerson(given);
    let stage: CommandEvent['stage'] = 'parse';
    const type = command.type;
    const handler = this.deps.handlers[type] as unknown as RunnableHandler<AllCommandResults[T]>;
    // Each handler takes its own kind of actor: a person's command the Person, an agent's the agent actor.
    const who = actor.kind === 'person' ? actor.person : actor;
    try {
      const parsed = parseCommand(command) as Parsed<T>;
      // Who may give the command at all is asked before anything is loaded for it.
      stage = 'authorise';
      assertMayGiveCommand(actor.kind, isAgentCommandType(type) ? 'agent' : 'person');
      stage = 'load';
      const subject = await handler.load(who, parsed);
      stage = 'authorise';
      handler.authorise(who, subject, parsed);
      stage = 'handle';
      const result = await handler.handle(who, parsed, subject);
      stage = 'audit';
      if (handler.audit) await this.deps.reads.record(handler.audit(who, parsed, result));
      stage = 'done';
      this.tell({ type, actor: actorName(actor), handler, outcome: 'done', stage });
      return result;
    } catch (err) {
      this.tell({ type, actor: actorName(actor), handler, outcome: isRosterError(err) ? err.code : 'error', stage });
      throw err;
    }
  }

  /**
   * Hears every command the bus runs, once it is done or refused (metrics, tests proving which
   * handler a door reached). Returns the function that stops listening.
   */
  observe(observer: (event: CommandEvent) => void): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  private tell(event: CommandEvent): void {
    // An observer's failure is its own: the command's outcome stands.
    for (const observer of this.observers) {
      try {
        observer(event);
      } catch {
        /* ignored on purpose */
      }
    }
  }
}

/** A handler as the bus runs it, whatever its type: it hands each the actor and command of its kind. */
interface RunnableHandler<Result> {
  load(actor: Person | AgentActor, command: unknown): Promise<unknown>;
  authorise(actor: Person | AgentActor, subject: unknown, command: unknown): void;
  handle(actor: Person | AgentActor, command: unknown, subject: unknown): Promise<Result>;
  audit?(actor: Person | AgentActor, command: unknown, result: Result): AuditInput;
}

/** Whether the door gave an actor (rather than a Person, the chat's and CLI's shorthand). */
function isActor(given: Person | Actor): given is Actor {
  return (given as Partial<Actor>).kind === 'person' || (given as Partial<Actor>).kind === 'agent';
}
