import { createHash } from 'node:crypto';
import { z } from 'zod';
import {
  actionBoundarySchema,
  type ActionBoundary,
  type ActionField,
  type ApprovalBoundary,
  type CatalogRole,
  type HandoffQueue,
  type OrgConfig,
} from '../config/schemas.js';
import { peopleWithRole, roleById } from '../config/directory.js';
import type { AgentRecord } from './agents.js';
import { AgentRefusal, NotFoundError } from './errors.js';

/*
 * Decision boundaries at run time (catalog `boundaries`): which of an agent's actions it takes
 * alone, asks a human for, or may never take, and whom it hands cases to. Pure: the API, the MCP
 * server and the chat all ask these functions, so one rule answers every door.
 */

/** Largest details object (serialised JSON) an agent may send with a request. */
export const MAX_DETAILS_BYTES = 4096;

/** A value of a declared detail field. */
export type DetailValue = string | number | boolean;
export type Details = Record<string, DetailValue>;

/** What the boundary says about one request, after its condition was applied to the details. */
export type BoundaryVerdict =
  | { mode: 'autonomous'; boundary: ActionBoundary }
  | { mode: 'forbidden'; boundary: Extract<ActionBoundary, { mode: 'forbidden' }> }
  | { mode: 'needs-approval'; boundary: ApprovalBoundary };

/** The role's boundary of an action, or a coded `unknown_action` error naming the known ones. */
export function boundaryOf(role: CatalogRole | undefined, action: string): ActionBoundary {
  const boundary = role?.boundaries?.actions[action];
  if (!boundary) {
    const known = Object.keys(role?.boundaries?.actions ?? {});
    throw new AgentRefusal(
      400,
      'unknown_action',
      `${action} is not an action of the ${role?.title ?? 'agent’s'} role${known.length ? ` (known: ${known.join(', ')})` : ''}.`,
    );
  }
  return boundary;
}

function fieldSchema(name: string, spec: ActionField): z.ZodType {
  let schema: z.ZodType;
  if (spec.type === 'string')
    schema = z
      .string()
      .trim()
      .min(spec.required ? 1 : 0)
      .max(spec.maxLength);
  else if (spec.type === 'boolean') schema = z.boolean();
  else {
    let n = z.number().finite();
    if (spec.min !== undefined) n = n.min(spec.min);
    if (spec.max !== undefined) n = n.max(spec.max);
    schema = n;
  }
  return (spec.required ? schema : schema.optional()).meta({ description: spec.label ?? name });
}

/** Built schemas by the declared fields they check (an override keeps the catalog's fields object). */
const detailsSchemas = new WeakMap<ActionBoundary['fields'], z.ZodType<Details>>();

/**
 * The zod schema of an action's details, from its declared fields (unknown fields refused). Built
 * once per fields declaration: building it cost more than parsing with it, on every request.
 */
export function detailsSchema(boundary: ActionBoundary): z.ZodType<Details> {
  const known = detailsSchemas.get(boundary.fields);
  if (known) return known;
  const schema = z.strictObject(
    Object.fromEntries(Object.entries(boundary.fields).map(([name, spec]) => [name, fieldSchema(name, spec)])),
  ) as never as z.ZodType<Details>;
  detailsSchemas.set(boundary.fields, schema);
  return schema;
}

/** Parses details against the declared fields; an `invalid_details` error names the first problem. */
export function parseDetails(boundary: ActionBoundary, details: unknown): Details {
  const parsed = detailsSchema(boundary).safeParse(details ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length ? `details.${issue.path.join('.')}` : 'details';
    const message = issue.code === 'unrecognized_keys' ? `not a declared field: ${issue.keys.join(', ')}` : issue.message;
    throw new AgentRefusal(422, 'invalid_details', `${where}: ${message}`);
  }
  return parsed.data;
}

/** The three modes of an action's boundary. */
export type BoundaryMode = ActionBoundary['mode'];

/** An approved boundary change of one agent's action (src/core/boundary-changes.ts). */
export interface BoundaryOverride {
  mode: BoundaryMode;
  changeId: string;
}

/**
 * The boundary in effect for one agent: the catalog's, or the approved override. An override back
 * to the catalog's own mode restores the catalog's boundary (with its approvers and threshold); an
 * override to `needs-approval` of an action the catalog does not ask about is decided by the
 * agent's sponsors within the default wait, and a timeout denies.
 */
export function applyOverride(boundary: ActionBoundary, override: BoundaryOverride | undefined): ActionBoundary {
  if (!override || override.mode === boundary.mode) return boundary;
  const base = { ...(boundary.title ? { title: boundary.title } : {}), fields: boundary.fields };
  if (override.mode === 'autonomous') return { mode: 'autonomous', ...base };
  if (override.mode === 'forbidden')
    return {
      mode: 'forbidden',
      ...base,
      reason: `An IT-approved boundary change (${override.changeId}) forbids this action for this agent.`,
    };
  return actionBoundarySchema.parse({ mode: 'needs-approval', ...base });
}

/** Applies the boundary's condition (an amount threshold) to the parsed details. */
export function verdictFor(boundary: ActionBoundary, details: Details): BoundaryVerdict {
  if (boundary.mode === 'autonomous') return { mode: 'autonomous', boundary };
  if (boundary.mode === 'forbidden') return { mode: 'forbidden', boundary };
  const when = boundary.when;
  if (when) {
    const value = details[when.field];
    // A threshold on an absent amount asks a human: not knowing the amount is not "below it".
    if (typeof value === 'number') {
      const over = when.above !== undefined ? value > when.above : value >= (when.atLeast ?? 0);
      if (!over) return { mode: 'autonomous', boundary };
    }
  }
  return { mode: 'needs-approval', boundary };
}

/** A stable JSON text (keys sorted) for hashing. */
function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
}

/** What an approval is bound to: `sha256:<hex>` of the action and its details, key order ignored. */
export function detailsHash(action: string, details: Details): string {
  return `sha256:${createHash('sha256').update(canonical({ action, details })).digest('hex')}`;
}

/** A hash of a whole request, to tell an idempotent replay from a different request under the same key. */
export function requestHash(parts: Record<string, unknown>): string {
  return createHash('sha256').update(canonical(parts)).digest('hex');
}

/** The people a decider form names for an agent: `sponsor`, `business-unit-approver` or a directory role. */
export function peopleFor(org: OrgConfig, agent: Pick<AgentRecord, 'sponsors' | 'businessUnit'>, decider: string): string[] {
  if (decider === 'sponsor' || decider === 'sponsors') return [...agent.sponsors];
  if (decider === 'business-unit-approver') return peopleWithRole(org, `approver:${agent.businessUnit}`).map((p) => p.email);
  if (decider.includes('@')) return [decider.toLowerCase()];
  if (decider.startsWith('oncall:')) {
    // An on-call rotation: its first level works the queue; later levels are the escalation.
    const rotation = org.rotations.find((r) => r.id === decider.slice('oncall:'.length));
    if (rotation?.levels[0]?.length) return [...rotation.levels[0]];
  }
  return peopleWithRole(org, decider).map((p) => p.email);
}

/** A role label for a decider form on cards and in errors. */
export function deciderLabel(decider: string): string {
  if (decider === 'sponsor') return 'sponsors';
  if (decider === 'business-unit-approver') return 'business-unit approver';
  return decider;
}

/** The hand-off queue a case kind goes to, or a coded `unknown_kind` error. */
export function queueFor(org: OrgConfig, roleId: string, kind: string): { id: string; queue: HandoffQueue } {
  const role = roleById(org, roleId);
  const id = role?.boundaries?.handoffs[kind];
  const queue = id ? role?.boundaries?.queues[id] : undefined;
  if (!id || !queue) {
    const known = Object.keys(role?.boundaries?.handoffs ?? {});
    throw new AgentRefusal(
      400,
      'unknown_kind',
      `${kind} is not a kind of case the ${role?.title ?? 'agent’s'} role hands off${known.length ? ` (known: ${known.join(', ')})` : ''}.`,
    );
  }
  return { id, queue };
}

/** The catalog role of an agent, or not found. */
export function roleOfAgent(org: OrgConfig, agent: AgentRecord): CatalogRole {
  const role = roleById(org, agent.catalogRoleId);
  if (!role) throw new NotFoundError('the catalog role', agent.catalogRoleId);
  return role;
}
