import type { Person } from '../config/schemas.js';
import type { AuditInput } from '../core/audit.js';
import type { AgentActor } from './actor.js';
import type { AgentCommandType, CommandType, Parsed } from './command.js';

/**
 * One command's code, in the bus's order: `load` reads what the who-may rule needs, `authorise`
 * asks src/core/policies.ts (the bus runs it, once, before `handle`; a handler never checks again),
 * `handle` does the work, `audit` names a read's entry. A handler file builds one from a small
 * interface of its own dependencies, never the whole set of services.
 */
export interface CommandHandler<T extends CommandType, Subject, Result> {
  /** What the rule is about (the run, the agent); a record that does not exist is refused here, with its coded error. */
  load(actor: Person, command: Parsed<T>): Promise<Subject>;
  /** The who-may rule: a coded error (forbidden, not found, separation of duties) when the actor may not. */
  authorise(actor: Person, subject: Subject, command: Parsed<T>): void;
  handle(actor: Person, command: Parsed<T>, subject: Subject): Promise<Result>;
  /**
   * The audit entry of a read (`show`, `list`), which the bus records in the read log. A command
   * that changes state has none here: its entry is written with the change itself (the engine's
   * or the service's outbox), so a crash can never keep one without the other.
   */
  audit?(actor: Person, command: Parsed<T>, result: Result): AuditInput;
}

/**
 * An agent's command's code: the same stages, the actor being the agent of the bearer token. Its
 * changes are audited with the change (the services' outboxes); its reads are the agent's own
 * records, which are not a person's look at an agent, so it names no read audit.
 */
export interface AgentCommandHandler<T extends AgentCommandType, Subject, Result> {
  /** What the rule is about (the agent's live access); an agent Roster does not know is refused here. */
  load(actor: AgentActor, command: Parsed<T>): Promise<Subject>;
  /** The who-may rule (policies.ts): a suspended or retired agent may not act. */
  authorise(actor: AgentActor, subject: Subject, command: Parsed<T>): void;
  handle(actor: AgentActor, command: Parsed<T>, subject: Subject): Promise<Result>;
}
