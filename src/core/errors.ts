import { displayDate } from './time.js';

/**
 * Coded errors: one string code per failure, one class per code. The edge (Slack, Teams, HTTP,
 * CLI) maps them to a friendly message for the person and a log line for IT; `userMessage` is
 * written for the person who acted and never contains secrets or internals.
 */
export type ErrorCode =
  | 'not_found'
  | 'forbidden'
  | 'unknown_person'
  | 'invalid_input'
  | 'invalid_transition'
  | 'duplicate'
  | 'already_decided'
  | 'request_closed'
  | 'not_waiting'
  | 'separation_of_duties'
  | 'scope_forbidden'
  | 'conflict'
  | 'rate_limited';

/** Base class of every error Roster expects and explains. */
export class RosterError extends Error {
  constructor(
    readonly code: ErrorCode,
    /** What the person sees: plain words, no internals. */
    readonly userMessage: string,
    /** Structured facts for the log line (never secrets). */
    readonly details: Record<string, unknown> = {},
  ) {
    super(userMessage);
    this.name = new.target.name;
  }
}

export class NotFoundError extends RosterError {
  constructor(what: string, id: string, hint?: string) {
    super('not_found', `I couldn't find ${what} "${id}".${hint ? ` ${hint}` : ''}`, { what, id });
  }
}

export class ForbiddenError extends RosterError {
  constructor(userMessage: string, details: Record<string, unknown> = {}) {
    super('forbidden', userMessage, details);
  }
}

export class UnknownPersonError extends RosterError {
  constructor(identity: string) {
    super(
      'unknown_person',
      "You're not in Roster's directory yet, so I can't act on your behalf. Ask your IT admin to add you to config/people.yaml.",
      { identity },
    );
  }
}

export class InvalidInputError extends RosterError {
  constructor(
    userMessage: string,
    /** Field-level problems, for forms that show them next to the input. */
    readonly fields: Record<string, string> = {},
  ) {
    super('invalid_input', userMessage, { fields });
  }
}

export class InvalidTransitionError extends RosterError {
  constructor(subject: string, from: string, to: string) {
    super('invalid_transition', `${subject} can't go from ${from} to ${to}.`, { subject, from, to });
  }
}

export class DuplicateError extends RosterError {
  constructor(userMessage: string, details: Record<string, unknown> = {}) {
    super('duplicate', userMessage, details);
  }
}

export class AlreadyDecidedError extends RosterError {
  constructor(decision: string, at: Date) {
    super('already_decided', `You already ${decision === 'approve' ? 'approved' : 'denied'} this on ${displayDate(at)}; it counts once.`, {
      decision,
      at: at.toISOString(),
    });
  }
}

export class RequestClosedError extends RosterError {
  /** `cancel`: said to someone who tried to cancel it (the default is said to an approver). */
  constructor(status: string, at: Date | undefined, attempt?: 'cancel') {
    // Said to a person: an instant each reader's card shows in their zone (core/time.ts).
    const when = at ? ` on ${displayDate(at)}` : '';
    const cancelWords: Record<string, string> = {
      expired: `This request expired${when}; there is nothing left to cancel.`,
      denied: `This request was denied${when}; there is nothing left to cancel.`,
      rejected: `This request was rejected${when}; there is nothing left to cancel.`,
      cancelled: `This request was already cancelled${when}.`,
      completed: `This request was already approved and carried out${when}, so it can no longer be cancelled.`,
      failed: `This request failed${when}; there is nothing left to cancel.`,
    };
    const words: Record<string, string> =
      attempt === 'cancel'
        ? cancelWords
        : {
            expired: `This request expired${when} and can no longer be approved.`,
            denied: `This request was denied${when}; it is closed.`,
            rejected: `This request was rejected${when}; it is closed.`,
            cancelled: `This request was cancelled${when}; it is closed.`,
            completed: `This request was already completed${when}.`,
            failed: `This request failed${when}; IT has the details.`,
          };
    super('request_closed', words[status] ?? `This request is ${status}.`, { status });
  }
}

export class NotWaitingError extends RosterError {
  constructor(userMessage: string, details: Record<string, unknown> = {}) {
    super('not_waiting', userMessage, details);
  }
}

export class SeparationOfDutiesError extends RosterError {
  constructor(userMessage: string) {
    super('separation_of_duties', userMessage);
  }
}

export class ScopeForbiddenError extends RosterError {
  constructor(scope: string, reason: string | undefined) {
    super('scope_forbidden', `The scope ${scope} is forbidden for this role${reason ? `: ${reason}` : '.'}`, { scope });
  }
}

/** Raised when a write lost a race too many times; the person is asked to try again. */
export class ConflictError extends RosterError {
  constructor(subject: string) {
    super('conflict', 'Several people acted on this at the same moment. Please try again.', { subject });
  }
}

/** Too many requests from one person or key: the person is asked to slow down. */
export class RateLimitedError extends RosterError {
  constructor(readonly retryAfterSeconds: number) {
    super(
      'rate_limited',
      `You're going a bit fast. Please wait ${retryAfterSeconds} second${retryAfterSeconds === 1 ? '' : 's'} and try again.`,
      {
        retryAfterSeconds,
      },
    );
  }
}

/**
 * A refusal of an agent's call, with the HTTP status and the stable code the API and the MCP
 * server answer with (e.g. 400 `unknown_action`, 404 `not_found`, 409 `idempotency_key_reused`).
 */
export class AgentRefusal extends RosterError {
  constructor(
    readonly status: 400 | 403 | 404 | 409 | 413 | 422,
    readonly apiCode: string,
    message: string,
  ) {
    const code: ErrorCode = status === 404 ? 'not_found' : status === 403 ? 'forbidden' : status === 409 ? 'conflict' : 'invalid_input';
    super(code, message, { apiCode });
  }
}

export function isRosterError(err: unknown): err is RosterError {
  return err instanceof RosterError;
}
