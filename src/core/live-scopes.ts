import { z } from 'zod';
import type { OrgConfig } from '../config/schemas.js';
import { scopeById } from '../config/directory.js';
import type { AgentRecord, GrantRecord } from './agents.js';
import type { AgentStatus } from './lifecycle.js';
import type { BoundaryOverride } from './boundaries.js';
import type { BoundaryChangeRecord } from './boundary-changes.js';
import { ReadThroughCache, type ReadThroughCacheOptions } from './read-through-cache.js';
import type { AgentId, GrantId } from './ids.js';

/*
 * What an agent may do right now, computed from the stored agent and its grants at every call.
 * The token endpoint, introspection and the access check all ask this one module, so a
 * revocation, an expiry or a suspension changes all three answers at the same moment.
 */

/** Statuses in which an agent may hold a token and use its grants; every other status is refused. */
export const TOKEN_STATUSES: readonly AgentStatus[] = ['active', 'probation'];

/** One scope an agent holds now, with the grant that gives it. */
export interface LiveScope {
  scope: string;
  grantId: GrantId;
  /** ISO time the grant ends. */
  expiresAt: string;
  source: string;
}

/** An agent's live access: who it is and the scopes it holds at `at`. */
export interface LiveAccess {
  agent: AgentRecord;
  /** False when the agent's status forbids any use of its grants (suspended, retiring, retired, …). */
  eligible: boolean;
  /** Active grants not past their expiry, one per scope (the longest-lasting when several). */
  scopes: LiveScope[];
  at: Date;
}

/** May the calling agent use a scope now? (`POST /api/v1/access/check`, the MCP tool `check_access`.) */
export const accessCheckRequestSchema = z
  .strictObject({
    scope: z.string().trim().min(1).max(120).meta({ example: 'crm:read' }),
    resource: z.url().max(2048).optional().meta({ description: 'The resource the scope would be used on (a configured resource URI).' }),
  })
  .meta({ id: 'AccessCheckRequest' });

/** Why a scope is or is not usable now; the `reason` codes of the access check. */
export type AccessReason =
  'granted' | 'not_granted' | 'expired' | 'revoked' | 'unknown_scope' | 'unknown_resource' | 'agent_not_active' | 'unknown_agent';

/** The answer to "may this agent use this scope now?". */
export interface AccessDecision {
  allowed: boolean;
  reason: AccessReason;
  /** A sentence for the agent's logs and the person debugging it. */
  message: string;
  /** The grant behind an allow, or the last one behind a deny for an expired/revoked scope. */
  grantId?: GrantId;
  /** When the allowing grant ends (ISO). */
  expiresAt?: string;
  /** When the last grant ended (expired/revoked). */
  endedAt?: string;
}

/** The active grants of an agent at `at`, one per scope: its live scopes. */
export function liveScopesOf(grants: readonly GrantRecord[], at: Date): LiveScope[] {
  const now = at.getTime();
  const byScope = new Map<string, LiveScope>();
  for (const g of grants) {
    if (g.status !== 'active' || !g.expiresAt) continue;
    const ends = Date.parse(g.expiresAt);
    // The expiry job may run a little late; a grant past its expiry is not live, whatever its status says.
    if (!(ends > now)) continue;
    if (g.startsAt && Date.parse(g.startsAt) > now) continue;
    const known = byScope.get(g.scope);
    if (!known || Date.parse(known.expiresAt) < ends)
      byScope.set(g.scope, { scope: g.scope, grantId: g.id, expiresAt: new Date(ends).toISOString(), source: g.source });
  }
  return [...byScope.values()].sort((a, b) => a.scope.localeCompare(b.scope));
}

/** RFC 6749 §3.3 scope-token characters; anything else cannot be a scope. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/** The outcome of narrowing an agent's live scopes to the ones a token request names. */
export type ScopeSelection = { ok: true; scopes: LiveScope[] } | { ok: false; description: string };

/**
 * The scopes a token gets: all live scopes, or the requested subset. A request never widens:
 * a scope that does not exist or that the agent does not hold now fails the whole request.
 */
export function selectScopes(org: OrgConfig, live: readonly LiveScope[], requested: string | undefined): ScopeSelection {
  if (requested === undefined) return { ok: true, scopes: [...live] };
  const names = requested.split(' ').filter(Boolean);
  if (names.length === 0) return { ok: true, scopes: [...live] };
  if (names.length > 100) return { ok: false, description: 'Too many scopes requested.' };
  const chosen = new Map<string, LiveScope>();
  for (const name of names) {
    if (!SCOPE_TOKEN.test(name) || name.length > 120) return { ok: false, description: 'A requested scope is malformed.' };
    const held = live.find((s) => s.scope === name);
    if (!held) {
      return {
        ok: false,
        description: scopeById(org, name) ? `The agent does not hold ${name} now.` : `${name} is not a scope Roster knows.`,
      };
    }
    chosen.set(name, held);
  }
  return { ok: true, scopes: [...chosen.values()].sort((a, b) => a.scope.localeCompare(b.scope)) };
}

/** A token's expiry: the configured lifetime, or earlier when an included grant ends first. */
export function tokenExpiry(at: Date, lifetimeMs: number, scopes: readonly LiveScope[]): Date {
  let ends = at.getTime() + lifetimeMs;
  for (const s of scopes) ends = Math.min(ends, Date.parse(s.expiresAt));
  return new Date(ends);
}

/**
 * Whether a token naming `scopes` is still good at `live.at`: the agent may hold tokens and every
 * scope in it is still live. A revoked or expired grant makes every token that carries it inactive.
 */
export function tokenStillValid(live: LiveAccess, scopes: readonly string[]): boolean {
  if (!live.eligible) return false;
  return scopes.every((name) => live.scopes.some((s) => s.scope === name));
}

/** The access check: may the agent use `scope` now (on `resource`, when one is named and known)? */
export function decideAccess(
  org: OrgConfig,
  live: LiveAccess,
  grants: readonly GrantRecord[],
  scope: string,
  resourceKnown: boolean,
): AccessDecision {
  if (!live.eligible) {
    return {
      allowed: false,
      reason: 'agent_not_active',
      message: `The agent is ${live.agent.status}: it may use none of its access.`,
    };
  }
  if (!resourceKnown) return { allowed: false, reason: 'unknown_resource', message: 'That resource is not one Roster protects.' };
  if (!scopeById(org, scope)) return { allowed: false, reason: 'unknown_scope', message: `${scope} is not a scope Roster knows.` };
  const held = live.scopes.find((s) => s.scope === scope);
  if (held) {
    return {
      allowed: true,
      reason: 'granted',
      message: `Granted until ${held.expiresAt}.`,
      grantId: held.grantId,
      expiresAt: held.expiresAt,
    };
  }
  const past = grants
    .filter((g) => g.scope === scope && (g.status === 'revoked' || g.status === 'expired' || (g.status === 'active' && g.expiresAt)))
    .map((g) => ({ g, ended: g.endedAt ?? g.expiresAt }))
    .sort((a, b) => Date.parse(b.ended || '0') - Date.parse(a.ended || '0'))[0];
  if (past?.g.status === 'revoked') {
    return {
      allowed: false,
      reason: 'revoked',
      message: `${scope} was revoked${past.g.endReason ? `: ${past.g.endReason}` : ''}.`,
      grantId: past.g.id,
      endedAt: past.ended,
    };
  }
  if (past) {
    return { allowed: false, reason: 'expired', message: `The grant of ${scope} expired.`, grantId: past.g.id, endedAt: past.ended };
  }
  return { allowed: false, reason: 'not_granted', message: `The agent does not hold ${scope}; a sponsor can request it in chat.` };
}

/** What an agent's calls are decided from: the agent, every grant it holds or held, and its approved boundary changes. */
export interface AgentAccessRecords {
  agent: AgentRecord;
  grants: GrantRecord[];
  /** The IT-approved boundary changes of its actions (src/core/boundary-changes.ts), in any order. */
  boundaries: Array<Pick<BoundaryChangeRecord, 'id' | 'action' | 'to' | 'createdAt'>>;
}

export interface LiveScopesDeps {
  /** Reads an agent's records (one round trip); undefined for an agent Roster does not know. */
  read(agentId: AgentId): Promise<AgentAccessRecords | undefined>;
  clock?: () => Date;
  /**
   * Reads shared between calls (see {@link ReadThroughCache} for the bound); without it every call
   * reads. Whoever builds this must call {@link LiveScopes.forget} after every write to an agent,
   * its grants or its boundary changes made in this process.
   */
  cache?: ReadThroughCacheOptions;
}

/**
 * Reads an agent with its grants and boundary changes and answers with their live state. A read is shared between calls
 * for at most the cache's lifetime (it started at most that long ago; one read for every call
 * asking at once) and forgotten at every write in this process; what is live is decided at every
 * call from it, so a grant's expiry takes effect at its end time exactly.
 */
export class LiveScopes {
  private readonly reads: ReadThroughCache<string, AgentAccessRecords | undefined>;

  constructor(private readonly deps: LiveScopesDeps) {
    this.reads = new ReadThroughCache(deps.cache ?? { ttlMs: 0 });
  }

  private read(agentId: AgentId): Promise<AgentAccessRecords | undefined> {
    // An agent not found is not remembered: one created a moment ago elsewhere is known at once.
    return this.reads.get(
      agentId,
      () => this.deps.read(agentId),
      (found) => found !== undefined,
    );
  }

  /** The agent and whether it may act now; undefined for an agent Roster does not know. */
  async agent(agentId: AgentId): Promise<{ agent: AgentRecord; eligible: boolean } | undefined> {
    const found = await this.read(agentId);
    return found ? { agent: found.agent, eligible: TOKEN_STATUSES.includes(found.agent.status) } : undefined;
  }

  /** The agent's live access now, with its grants; undefined for an agent Roster does not know. */
  async of(agentId: AgentId): Promise<(LiveAccess & { grants: GrantRecord[] }) | undefined> {
    const found = await this.read(agentId);
    if (!found) return undefined;
    const { agent, grants } = found;
    const at = (this.deps.clock ?? (() => new Date()))();
    return { agent, eligible: TOKEN_STATUSES.includes(agent.status), scopes: liveScopesOf(grants, at), at, grants };
  }

  /**
   * The IT-approved boundary change in effect for one of the agent's actions (the newest approved
   * wins), from the same read as its access; undefined when none (or the agent is unknown).
   */
  async boundary(agentId: AgentId, action: string): Promise<BoundaryOverride | undefined> {
    const found = await this.read(agentId);
    let newest: AgentAccessRecords['boundaries'][number] | undefined;
    for (const change of found?.boundaries ?? []) {
      if (change.action !== action) continue;
      if (!newest || change.createdAt > newest.createdAt || (change.createdAt === newest.createdAt && change.id > newest.id))
        newest = change;
    }
    return newest ? { mode: newest.to, changeId: newest.id } : undefined;
  }

  /** Forgets what was read of an agent (it, one of its grants or boundary changes was written here); without an id, of every agent. */
  forget(agentId?: string): void {
    this.reads.forget(agentId);
  }
}
