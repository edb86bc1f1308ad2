import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { InvalidInputError, NotFoundError } from './errors.js';

/*
 * Branded ids. An id that reaches a repository or a domain service is one of these types, and the
 * only ways to get one are the schemas and parse functions below (at an edge: a card's payload,
 * a CLI argument, an HTTP path or body), the `new…Id` constructors, and records read back from
 * the store. A plain string no longer type-checks where an AgentId is wanted, so an id can no
 * longer arrive unchecked, or as the empty string a missing field used to default to.
 */

/** What every id Roster issues or accepts looks like: the characters a card may carry (cardIdSchema). */
const ID_PATTERN = /^[\w.:-]{1,200}$/;

/** The kinds of ids, with the words a refusal uses for them. */
const KINDS = {
  AgentId: 'agent id',
  RunId: 'request id',
  StepId: 'step id',
  GrantId: 'grant id',
  AlertId: 'alert id',
  CheckInId: 'check-in id',
  ReviewId: 'access review id',
  ApprovalId: 'approval id',
  HandoffId: 'hand-off id',
  EvalRunId: 'evaluation run id',
  BoundaryChangeId: 'boundary change id',
  WebhookSubscriptionId: 'webhook subscription id',
} as const;

/** The name of an id kind. */
export type IdKind = keyof typeof KINDS;

function idSchema<K extends IdKind>(kind: K) {
  return z
    .string({ error: `expected ${KINDS[kind]}` })
    .regex(ID_PATTERN, { error: `expected ${KINDS[kind]} of letters, digits, _ . : or - (at most 200)` })
    .brand<K>();
}

/**
 * The id of a record Roster derives from an agent's idempotency key (`<prefix>_` + 24 hex digits
 * of a digest): nothing else can name one, so anything else names none.
 */
function derivedIdSchema<K extends IdKind>(kind: K, prefix: string) {
  return z
    .string({ error: `expected ${KINDS[kind]}` })
    .regex(new RegExp(`^${prefix}_[0-9a-f]{24}$`), { error: `expected ${KINDS[kind]} (${prefix}_ and 24 hex digits)` })
    .brand<K>();
}

/** One schema per kind, built from {@link KINDS}: the only place a kind's id is checked. */
const SCHEMAS = {
  AgentId: idSchema('AgentId'),
  RunId: idSchema('RunId'),
  StepId: idSchema('StepId'),
  GrantId: idSchema('GrantId'),
  AlertId: idSchema('AlertId'),
  CheckInId: idSchema('CheckInId'),
  ReviewId: idSchema('ReviewId'),
  ApprovalId: derivedIdSchema('ApprovalId', 'apr'),
  HandoffId: derivedIdSchema('HandoffId', 'hof'),
  EvalRunId: idSchema('EvalRunId'),
  BoundaryChangeId: derivedIdSchema('BoundaryChangeId', 'bch'),
  // A subscription is named in the org config (config/webhooks), not issued by Roster.
  WebhookSubscriptionId: idSchema('WebhookSubscriptionId'),
} as const;

/** The id type of a kind. */
export type IdOf<K extends IdKind> = z.output<(typeof SCHEMAS)[K]>;

/** An agent's id (`agt_…`). */
export type AgentId = IdOf<'AgentId'>;
/** A flow run's id (`run_…`): what people see as a request id. */
export type RunId = IdOf<'RunId'>;
/** A step of a flow, by the id its flow file gives it (`approvals`). */
export type StepId = IdOf<'StepId'>;
/** A grant's id (`grt_…`). */
export type GrantId = IdOf<'GrantId'>;
/** An alert's id (`alr_…`). */
export type AlertId = IdOf<'AlertId'>;
/** A check-in's id (`chk_…`). */
export type CheckInId = IdOf<'CheckInId'>;
/** An access review cycle's id. */
export type ReviewId = IdOf<'ReviewId'>;

/** A runtime approval's id (`apr_…`), derived from the asking agent and its idempotency key. */
export type ApprovalId = IdOf<'ApprovalId'>;
/** A hand-off's id (`hof_…`), derived from the agent and its idempotency key. */
export type HandoffId = IdOf<'HandoffId'>;

/** An evaluation run's id (`evr_…`). */
export type EvalRunId = IdOf<'EvalRunId'>;
/** A boundary change's id (`bch_…`), derived from the agent, the action and how many changes it had. */
export type BoundaryChangeId = IdOf<'BoundaryChangeId'>;
/** A webhook subscription's id, as the org config names it. */
export type WebhookSubscriptionId = IdOf<'WebhookSubscriptionId'>;

/** The schema of a run (request) id, for payloads parsed whole with zod. */
export const runIdSchema = SCHEMAS.RunId;
/** The schema of a step id, for payloads parsed whole with zod. */
export const stepIdSchema = SCHEMAS.StepId;
/** The schema of a grant id, for payloads parsed whole with zod. */
export const grantIdSchema = SCHEMAS.GrantId;

/** The schema of a kind's id, for edges that parse a whole payload with zod. */
export function idSchemaOf<K extends IdKind>(kind: K): (typeof SCHEMAS)[K] {
  return SCHEMAS[kind];
}

/**
 * Parses an id from outside (a card, a command, a URL): the branded id, or an `invalid_input`
 * error that names what was expected (`field` names where it came from, for forms and APIs).
 */
export function parseId<K extends IdKind>(kind: K, raw: unknown, field?: string): IdOf<K> {
  const parsed = SCHEMAS[kind].safeParse(raw);
  if (parsed.success) return parsed.data as IdOf<K>;
  const message = refusalOfId(kind, raw);
  throw new InvalidInputError(message, field ? { [field]: message } : {});
}

/** How {@link parseId} refuses a value that is no id of `kind`. */
function refusalOfId(kind: IdKind, raw: unknown): string {
  const shown = typeof raw === 'string' && raw.length > 0 ? ` "${raw.slice(0, 40)}"` : '';
  return `That${shown} is not a valid ${KINDS[kind]}${typeof raw === 'string' && raw.length > 0 ? '' : ': none was given'}.`;
}

/** The schema of an id of `kind` in a command (a card's payload), refusing in {@link parseId}'s words. */
export function commandIdSchema<K extends IdKind>(kind: K) {
  return z.unknown().transform((raw, ctx): IdOf<K> => {
    const parsed = SCHEMAS[kind].safeParse(raw);
    if (parsed.success) return parsed.data as IdOf<K>;
    ctx.addIssue({ code: 'custom', message: refusalOfId(kind, raw) });
    return z.NEVER;
  });
}

/** Whether a value has the shape of an id of any kind (for ids no kind names, such as an outbox effect's). */
export function isWellFormedId(raw: unknown): raw is string {
  return typeof raw === 'string' && ID_PATTERN.test(raw);
}

/** The id when the value is a well-formed one of this kind, else undefined (never throws). */
export function idOrUndefined<K extends IdKind>(kind: K, raw: unknown): IdOf<K> | undefined {
  const parsed = SCHEMAS[kind].safeParse(raw);
  return parsed.success ? (parsed.data as IdOf<K>) : undefined;
}

/**
 * The id to look up, for a door where a malformed id means the same as an unknown one (a card's
 * record that is not there): the branded id, or the NotFoundError the look-up would have thrown.
 */
export function idToLookUp<K extends IdKind>(kind: K, raw: unknown, what: string): IdOf<K> {
  const id = idOrUndefined(kind, raw);
  if (id === undefined) throw new NotFoundError(what, typeof raw === 'string' ? raw.slice(0, 100) : '');
  return id;
}

/** Parses an agent id from outside (see {@link parseId}). */
export const parseAgentId = (raw: unknown, field?: string): AgentId => parseId('AgentId', raw, field);
/** Parses a run (request) id from outside (see {@link parseId}). */
export const parseRunId = (raw: unknown, field?: string): RunId => parseId('RunId', raw, field);
/** Parses an alert id from outside (see {@link parseId}). */
export const parseAlertId = (raw: unknown, field?: string): AlertId => parseId('AlertId', raw, field);
/** Parses a check-in id from outside (see {@link parseId}). */
export const parseCheckInId = (raw: unknown, field?: string): CheckInId => parseId('CheckInId', raw, field);

/**
 * Brands an id Roster itself issued or stored (a generated id, a record read back from the store,
 * a flow file's step id): no check, because nothing outside chose it. Edges use {@link parseId}.
 */
export function trustedId<K extends IdKind>(_kind: K, id: string): IdOf<K> {
  return id as IdOf<K>;
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

/** A new agent id: `agt_` + 16 hex characters. */
export function newAgentId(): AgentId {
  return trustedId('AgentId', `agt_${hex(8)}`);
}

/** A new run id: `run_` + 16 hex characters. */
export function newRunId(): RunId {
  return trustedId('RunId', `run_${hex(8)}`);
}

/** A new grant id: `grt_` + 16 hex characters. */
export function newGrantId(): GrantId {
  return trustedId('GrantId', `grt_${hex(8)}`);
}

/** A new alert id: `alr_` + 16 hex characters. */
export function newAlertId(): AlertId {
  return trustedId('AlertId', `alr_${hex(8)}`);
}

/** A new check-in id: `chk_` + 16 hex characters. */
export function newCheckInId(): CheckInId {
  return trustedId('CheckInId', `chk_${hex(8)}`);
}
