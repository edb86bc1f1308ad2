import type { Outbox } from './outbox.js';
import type { PendingEffect } from './ports.js';
import { AUDIT_EFFECT } from './audit-effects.js';
import { CHAT_SEND_EFFECT, type ChatSend } from './chat-effects.js';
import { z } from 'zod';
import { isBreakGlassEligible, type CatalogRole, type OrgConfig, type Person, type Scope } from '../config/schemas.js';
import { businessUnitById, findPersonByEmail, peopleWithRole, roleById, scopeById } from '../config/directory.js';
import { formatDuration, parseDuration } from '../config/duration.js';
import { durationInWords } from './time.js';
import type { FlowEngine, RunStart } from '../flows/engine.js';
import type { FlowRun, RunRepository, StepContext, StepRegistry } from '../flows/types.js';
import type { Actor, AuditLog, AuditInput } from './audit.js';
import type { AgentRecord, AgentRepository, GrantRecord, GrantRepository } from './agents.js';
import {
  ConflictError,
  DuplicateError,
  ForbiddenError,
  InvalidInputError,
  InvalidTransitionError,
  isRosterError,
  NotFoundError,
  RosterError,
  ScopeForbiddenError,
  UnknownPersonError,
} from './errors.js';
import type { Notifier, OutgoingCard } from './notifications.js';
import { type AgentId, type GrantId, type RunId, grantIdSchema, newGrantId } from './ids.js';

export const ACCESS_REQUEST_FLOW = 'access-request';
export const BREAK_GLASS_FLOW = 'break-glass';
/** The end reason of a break-glass use refused after it was stored (a race): it does not count as a use. */
const BREAK_GLASS_REFUSED = 'refused: another break-glass use came first';
/**
 * How long a break-glass claim whose grant is not stored yet holds its key: the claimer stores the
 * grant right after claiming; a claim left by a process that died in between frees itself then.
 */
const CLAIM_LEASE_MS = 60_000;
/** Rounds of claiming before racing break-glass uses give up (each lost round means another use moved first). */
const CLAIM_ROUNDS = 6;

const HOUR = 60 * 60_000;
const DAY = 24 * HOUR;

/** When grants are reminded about; injectable so tests can use seconds. */
export interface AccessSettings {
  /** How long before expiry each reminder goes out (default 1 day and 1 hour). */
  reminderOffsetsMs: number[];
  /** Only grants lasting longer than this get reminders (default 1 day). */
  remindGrantsLongerThanMs: number;
  /** How long sponsors have to answer an access review before IT admins are told and enforcement applies (default 14 days). */
  reviewGraceMs: number;
  /** What happens to a grant nobody attested in time: `revoke` it, or `flag` it for IT (default revoke). */
  reviewEnforcement: 'revoke' | 'flag';
}

export const DEFAULT_ACCESS_SETTINGS: AccessSettings = {
  reminderOffsetsMs: [DAY, HOUR],
  remindGrantsLongerThanMs: DAY,
  reviewGraceMs: 14 * DAY,
  reviewEnforcement: 'revoke',
};

/** Durable timers of a grant's life (Agenda jobs in src/jobs/grants.ts). */
export interface GrantTimers {
  /**
   * Schedules the expiry at `expiresAt` and the reminders before it. With `key` (an outbox effect
   * id), scheduling again with the same key keeps one job of each.
   */
  activated(grant: GrantRecord, key?: string): Promise<void>;
  /** Schedules the end of an access review's grace period. */
  reviewDue(cycle: string, at: Date): Promise<void>;
}

/** The run context of an access request or a break-glass use: facts the steps and cards read. */
export interface AccessContext {
  [key: string]: unknown;
  grantId: GrantId;
  agentId: AgentId;
  agentName: string;
  /** Shown as the request's title, e.g. "Access to crm:read for 30 days". */
  roleTitle: string;
  catalogRoleId: string;
  scope: string;
  /** The scope's system (`crm` for `crm:read`): its data owner approves. */
  system: string;
  /** The scope's risk, named like the agent request's so cards and lists read it the same way. */
  riskTier: 'low' | 'medium' | 'high';
  dataClasses: string[];
  requiredApprovers: string[];
  businessUnit: string;
  sponsors: string[];
  durationMs: number;
  durationText: string;
  /** Set when the requested duration was above the cap: what was asked and why it was reduced. */
  capNote?: string;
  reason: string;
  /** The card's "purpose" line: scope, what it allows, duration (and cap). */
  purpose: string;
  justification: string;
  extends?: GrantId;
  expiresAt?: string;
}

export const accessRequestInputSchema = z.object({
  agentId: z.string().trim().min(1, 'Name the agent.').max(120),
  scope: z.string().trim().min(1, 'Name the scope, e.g. crm:read.').max(120),
  duration: z.string().trim().max(20).optional(),
  reason: z.string().trim().min(3, 'Say why the agent needs this access (at least 3 characters).').max(1000),
  /** The active grant this request extends (the Extend button). */
  extends: z
    .string()
    .trim()
    .transform((v) => v || undefined)
    .pipe(grantIdSchema.optional())
    .optional(),
});
export type AccessRequestInput = z.input<typeof accessRequestInputSchema>;
/** An access request as parsed (the bus's `access.request` parses it; an Extend builds one). */
export type AccessRequest = z.output<typeof accessRequestInputSchema>;

export const breakGlassInputSchema = z.object({
  agentId: z.string().trim().min(1, 'Name the agent.').max(120),
  scope: z.string().trim().min(1, 'Name the scope, e.g. crm:read.').max(120),
  reason: z.string().trim().min(5, 'Say what the emergency is (at least 5 characters).').max(1000),
});
/** A break-glass request as parsed (the bus's `access.break-glass` parses it). */
export type BreakGlassRequest = z.output<typeof breakGlassInputSchema>;

export interface AccessRequestResult {
  run: FlowRun;
  grant: GrantRecord;
  durationText: string;
  capNote?: string;
}

/**
 * A unique claim on a key: `bg:scope:<agent>:<scope>` (one break-glass grant of a scope per agent
 * at a time) or a cap slot `bg:agent:<agent>:<k>` / `bg:person:<email>:<k>` (at most as many uses
 * in the window as there are slots). Held by the grant `grantId`, used by `by`, taken at `at`.
 */
export interface Claim {
  key: string;
  grantId: GrantId;
  by: string;
  at: Date;
}

/** Storage of break-glass claims (src/store/claim-store.ts). */
export interface ClaimRepository {
  /** The stored claims among `keys`. */
  get(keys: readonly string[]): Promise<Claim[]>;
  /**
   * Takes `claim.key` if nobody holds it (`previous` undefined) or the grant `previous` still does
   * (one atomic write); false when another writer came first.
   */
  take(claim: Claim, previous: string | undefined): Promise<boolean>;
  /** Gives `key` up if the grant `grantId` still holds it. */
  release(key: string, grantId: GrantId): Promise<void>;
}

export interface AccessDeps {
  org: OrgConfig;
  agents: AgentRepository;
  grants: GrantRepository;
  audit: AuditLog;
  notifier: Notifier;
  runs: RunRepository;
  engine: FlowEngine;
  timers: GrantTimers;
  /** Break-glass claims: how racing uses of one scope or one cap end with exactly the allowed number granted. */
  claims: ClaimRepository;
  /** Where the effects of grant changes are stored and performed. */
  outbox: Outbox;
  /** The cards that tell sponsors what happened to a grant (built by src/views/access-cards.ts). */
  cards: GrantCards;
  clock?: () => Date;
  settings?: Partial<AccessSettings>;
}

/** The buttons a grant's card may offer; each shows only while the grant allows it. */
export type GrantButton = 'extend' | 'let-expire' | 'revoke' | 'confirm';

/** What a grant's card says about it. */
export interface GrantWords {
  level: 'info' | 'success' | 'warning' | 'error';
  title: string;
  text: string;
  /** Set when the duration asked for was above the cap, saying so. */
  capNote?: string;
}

/** Presenter port: the card about one grant. The core says what happened; the views decide how it looks. */
export interface GrantCards {
  notice(grant: GrantRecord, agent: Pick<AgentRecord, 'name'>, words: GrantWords, buttons?: GrantButton[]): OutgoingCard;
}

/** The holder kind of grants in the outbox. */
export const GRANT_HOLDER = 'grant';
/** Updates the cards that show a grant after its status changed. */
export const GRANT_REFRESH_EFFECT = 'grant.refresh-cards';
/** The other effects of grant changes. */
export const GRANT_EFFECTS = {
  /** Cancels the request (run) of a grant revoked while pending. */
  cancelRequest: 'grant.cancel-request',
  /** Schedules an activated grant's expiry and reminders (once per effect). */
  scheduleTimers: 'grant.schedule-timers',
  /**
   * Starts the run (access request or break-glass use) of a pending grant: stored with the grant,
   * so a crash before the run exists leaves the worker to start it, once.
   */
  startRun: 'grant.start-run',
} as const;

const personActor = (email: string): Actor => ({ kind: 'person', email });
const scheduler: Actor = { kind: 'system', name: 'scheduler' };
const flowEngine: Actor = { kind: 'system', name: 'flow-engine' };

function parseInput<T extends z.ZodType>(schema: T, input: unknown, what: string): z.output<T> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const fields: Record<string, string> = {};
  for (const issue of parsed.error.issues) fields[String(issue.path[0] ?? 'form')] ??= issue.message;
  throw new InvalidInputError(`Please fix the ${what}: ${Object.values(fields).join(' ')}`, fields);
}

/** Scopes an agent of this role may ever be granted: its defaults and its allowed scopes. */
export function grantableScopes(role: CatalogRole): string[] {
  return [...new Set([...role.defaultScopes, ...role.allowedScopes])];
}

/**
 * Longest grant of a scope for a role: `text` in words for people ("90 days"), `written` as the
 * configuration says it ("90d", for the audit), and the words that explain it.
 */
export function accessCap(org: OrgConfig, role: CatalogRole, scope: Scope): { ms: number; text: string; written: string; why: string } {
  const cap = scope.maxTtl.ms <= role.maxAccessTtl.ms ? scope.maxTtl : role.maxAccessTtl;
  const why = cap === scope.maxTtl ? `the longest ${scope.id} may be granted` : `the longest a ${role.title} may hold any access`;
  return { ms: cap.ms, text: durationInWords(cap.ms, { exact: true }), written: cap.text, why };
}

/**
 * Access requests, revocation, break-glass and the grant lifecycle (SPEC.md "Grants"). Who may
 * is asked before a person's command reaches these methods (the command bus's handlers, through
 * src/core/policies.ts); each change is audited with it. Grant status changes are atomic
 * conditional updates, so expiry, revocation and approval racing each other end in one
 * consistent state.
 */
export class AccessCommands {
  private readonly clock: () => Date;
  readonly settings: AccessSettings;

  private readonly grantSteps: GrantSteps;

  constructor(private readonly deps: AccessDeps) {
    this.clock = deps.clock ?? (() => new Date());
    this.settings = { ...DEFAULT_ACCESS_SETTINGS, ...deps.settings };
    this.grantSteps = new GrantSteps(deps);
    this.registerPerformers();
  }

  /** Starts an access request for one of the agent's allowed scopes; the clock starts at approval. */
  requestAccess(actor: Person, agent: AgentRecord, request: Omit<AccessRequest, 'extends'>): Promise<AccessRequestResult> {
    // Who may (the agent's sponsors and IT admins) is asked before, by the bus's access.request.
    return this.request(actor, agent, request);
  }

  /** The access request itself, for an actor already authorised to request access for the agent. */
  private async request(actor: Person, agent: AgentRecord, request: AccessRequest): Promise<AccessRequestResult> {
    const { role, scope } = this.grantableScope(agent, request.scope);

    const cap = accessCap(this.deps.org, role, scope);
    let requestedMs = cap.ms;
    if (request.duration) {
      try {
        requestedMs = parseDuration(request.duration);
      } catch {
        throw new InvalidInputError(`"${request.duration}" is not a duration; use e.g. 8h, 30d or 2w.`, { duration: 'Not a duration.' });
      }
    }
    const durationMs = Math.min(requestedMs, cap.ms);
    // People read the duration in words; the audit keeps it as configured or typed.
    const durationText = durationInWords(durationMs, { exact: true });
    const durationWritten = durationMs === cap.ms ? cap.written : formatDuration(durationMs);
    const capNote =
      requestedMs > cap.ms
        ? `You asked for ${durationInWords(requestedMs, { exact: true })}; ${cap.text} is ${cap.why}, so the grant is capped at ${cap.text}.`
        : undefined;

    const existing = (await this.deps.grants.listForAgent(agent.id)).filter((g) => g.scope === scope.id);
    let extended: GrantRecord | undefined;
    if (request.extends) {
      extended = existing.find((g) => g.id === request.extends && g.status === 'active');
      if (!extended) throw new InvalidTransitionError(`The grant ${request.extends}`, 'not active', 'extended');
    }
    const pending = existing.find((g) => g.status === 'pending');
    if (pending)
      throw new DuplicateError(`${agent.name} already has a pending request for ${scope.id}; wait for its approvers.`, {
        grantId: pending.id,
      });
    const active = existing.find((g) => g.status === 'active' && g.id !== extended?.id);
    if (active) {
      throw new DuplicateError(
        `${agent.name} already holds ${scope.id} until ${active.expiresAt}${active.source === 'default' ? ' (a catalog default)' : ''}. Use Extend on its reminder to renew it.`,
        { grantId: active.id },
      );
    }

    const now = this.clock().toISOString();
    const grant: GrantRecord = {
      ...pendingGrant(agent.id, scope.id, request.reason, actor.email, '', now, durationMs),
      ...(extended ? { extends: extended.id } : {}),
    };
    const context = this.context(agent, role, scope, grant, durationText, capNote);
    // The request's audit entry and the start of its run are stored with the new grant (one insert).
    const requested = [
      grantEntry(this.deps, grant, personActor(actor.email), 'grant.requested', {
        scope: scope.id,
        duration: durationWritten,
        ...(request.duration ? { requested: request.duration } : {}),
        ...(capNote ? { capped: true } : {}),
        reason: request.reason,
        ...(extended ? { extends: extended.id } : {}),
      }),
    ];
    const startRun = this.startRunEffect(grant, {
      id: this.deps.engine.allocateRunId(),
      flowId: ACCESS_REQUEST_FLOW,
      requester: actor.email,
      subject: { type: 'grant', id: grant.id, agentId: agent.id },
      context,
    });
    if (await this.deps.grants.insert(grant, [...requested, startRun])) {
      await this.deps.outbox.settle({ kind: GRANT_HOLDER, id: grant.id }, requested, 'grant.requested');
    }
    const { run, grant: stored } = await this.startStoredRun(grant, startRun);
    return { run, grant: stored, durationText, ...(capNote ? { capNote } : {}) };
  }

  /** Emergency access: granted at once for at most the configured break-glass TTL, reviewed by security afterwards. */
  async breakGlass(actor: Person, agent: AgentRecord, request: BreakGlassRequest): Promise<{ run: FlowRun; grant: GrantRecord }> {
    // Who may (the agent's sponsors and IT admins) is asked before, by the bus's access.break-glass.
    const { role, scope } = this.grantableScope(agent, request.scope);
    if (!isBreakGlassEligible(scope)) {
      throw new ForbiddenError(
        `${scope.id} (${scope.risk} risk; data: ${scope.dataClasses.join(', ')}) cannot be granted by break-glass. Request it with \`access ${agent.name} ${scope.id} <reason>\`: its approvers decide.`,
        { scope: scope.id },
      );
    }
    const cap = accessCap(this.deps.org, role, scope);
    const limit = this.deps.org.settings.breakGlassMaxTtl;
    const durationMs = Math.min(limit.ms, cap.ms);
    const durationText = durationInWords(durationMs, { exact: true });
    const durationWritten = durationMs === limit.ms ? limit.text : cap.written;
    const now = this.clock().toISOString();
    const grant = pendingGrant(agent.id, scope.id, request.reason, actor.email, 'break-glass', now, durationMs);
    // The scope and a slot of each cap are claimed (unique keys) before the grant is stored: of
    // racing uses exactly the allowed number get through, the others are refused saying why.
    const keys = await this.claimBreakGlass(actor, agent, scope.id, grant);
    // The start of its run, which holds the use's audit entry, is stored with the grant (one insert).
    const startRun = this.startRunEffect(grant, {
      id: this.deps.engine.allocateRunId(),
      flowId: BREAK_GLASS_FLOW,
      requester: actor.email,
      subject: { type: 'grant', id: grant.id, agentId: agent.id },
      context: this.context(agent, role, scope, grant, durationText, undefined),
      effects: [
        grantEntry(this.deps, grant, personActor(actor.email), 'grant.break-glass', {
          scope: scope.id,
          duration: durationWritten,
          reason: request.reason,
        }),
      ],
    });
    await this.deps.grants.insert(grant, [startRun]);
    this.deps.outbox.stored('grant.break-glass');
    // A claimer stalled past the claims' lease may have lost one to another use meanwhile.
    const held = await this.deps.claims.get(keys);
    if (held.length !== keys.length || held.some((c) => c.grantId !== grant.id)) {
      await this.deps.grants.transition(grant.id, ['pending'], {
        status: 'denied',
        endedAt: this.clock().toISOString(),
        endedBy: actor.email,
        endReason: BREAK_GLASS_REFUSED,
      });
      await Promise.all(keys.map((key) => this.deps.claims.release(key, grant.id)));
      throw new ConflictError(`break-glass ${agent.id} ${scope.id}`);
    }
    return this.startStoredRun(grant, startRun);
  }

  /** The effect that starts a grant's run, to store with the grant. */
  private startRunEffect(grant: GrantRecord, start: RunStart): PendingEffect<{ grantId: GrantId; start: RunStart }> {
    return this.deps.outbox.effect(GRANT_EFFECTS.startRun, { grantId: grant.id, start });
  }

  /**
   * Starts the run stored with a grant at once (people wait for its cards), then performs the
   * stored effect, which finds the run and only leaves the outbox: the worker starts the run only
   * when this writer died first. Resolves with the run and the grant as it is once the run started.
   */
  private async startStoredRun(
    grant: GrantRecord,
    effect: PendingEffect<{ grantId: GrantId; start: RunStart }>,
  ): Promise<{ run: FlowRun; grant: GrantRecord }> {
    const started = await this.endedMeanwhile(grant.id, await this.deps.engine.start(effect.data.start));
    await this.deps.outbox.settle({ kind: GRANT_HOLDER, id: grant.id }, [effect], 'grant.run-started');
    return { run: started.run, grant: started.grant ?? grant };
  }

  /**
   * A just-started run of a grant that ended while the run was being created (revoked, say): the
   * revocation looked for the grant's runs before this one existed, so it is cancelled here. The
   * grant is read after the run is stored and the revocation looks for runs after the grant is
   * changed, so one of the two always sees the other and no request waits on a grant that ended.
   */
  private async endedMeanwhile(grantId: GrantId, run: FlowRun): Promise<{ run: FlowRun; grant: GrantRecord | undefined }> {
    const grant = await this.deps.grants.get(grantId);
    if (!grant || grant.status === 'pending' || grant.status === 'active') return { run, grant };
    const reason = `Access ${grant.status}${grant.endReason ? `: ${grant.endReason}` : ''}`;
    // A run that ended already (it denied the grant itself) refuses with a coded error: nothing to do.
    const cancelled = await this.deps.engine.cancel(run.id, grant.endedBy ?? 'roster', reason).catch((err: unknown) => {
      if (!isRosterError(err)) throw err;
      return run;
    });
    return { run: cancelled, grant };
  }

  /**
   * Break-glass is an emergency, not a standing bypass: refused while the agent already holds or
   * awaits the scope, and after `settings.breakGlassLimits` uses per agent or per person within
   * the window. The scope and a free slot of each cap are claimed for `mine` (unique keys, see
   * {@link Claim}); resolves with the claimed keys. A claim lost to a racing use is followed by a
   * fresh look, which then names the use that came first: of uses racing for one scope exactly one
   * is granted, and the caps hold without a transaction. Every use counts (except ones refused
   * here), whenever it was made, including uses stored before claims existed.
   */
  private async claimBreakGlass(actor: Person, agent: AgentRecord, scopeId: string, mine: GrantRecord): Promise<string[]> {
    const limits = this.deps.org.settings.breakGlassLimits;
    const scopeKey = `bg:scope:${agent.id}:${scopeId}`;
    const agentKeys = Array.from({ length: limits.perAgent }, (_, k) => `bg:agent:${agent.id}:${k}`);
    const personKeys = Array.from({ length: limits.perPerson }, (_, k) => `bg:person:${actor.email}:${k}`);
    const since = Date.parse(mine.createdAt) - limits.window.ms;
    for (let round = 0; round < CLAIM_ROUNDS; round++) {
      const [agentGrants, byPerson, claims] = await Promise.all([
        this.deps.grants.listForAgent(agent.id),
        this.deps.grants.list({ requestedBy: actor.email, source: 'break-glass' }),
        this.deps.claims.get([scopeKey, ...agentKeys, ...personKeys]),
      ]);
      const now = this.clock().getTime();
      const grants = new Map([...agentGrants, ...byPerson].map((g) => [g.id, g]));
      const claimOf = new Map(claims.map((c) => [c.key, c]));
      // A claim whose grant is not stored yet is a use being granted right now (until its lease runs out).
      const inFlight = (c: Claim) => !grants.has(c.grantId) && now - c.at.getTime() < CLAIM_LEASE_MS;

      const held = agentGrants.find((g) => g.scope === scopeId && (g.status === 'active' || g.status === 'pending'));
      if (held) {
        throw new DuplicateError(
          `${agent.name} already ${held.status === 'active' ? `holds ${scopeId}${held.expiresAt ? ` until ${held.expiresAt}` : ''}` : `has a pending request for ${scopeId}`}${held.source === 'break-glass' && held.requestedBy !== actor.email ? ` (break-glass by ${this.name(held.requestedBy)})` : ''}; break-glass is not needed.`,
          { grantId: held.id },
        );
      }
      const scopeClaim = claimOf.get(scopeKey);
      if (scopeClaim && inFlight(scopeClaim)) {
        throw new DuplicateError(
          `${this.name(scopeClaim.by)} is using break-glass for ${scopeId} on ${agent.name} right now; it came first, so yours is not needed.`,
          { scope: scopeId },
        );
      }

      const counted = (g: GrantRecord) =>
        g.source === 'break-glass' && Date.parse(g.createdAt) >= since && g.endReason !== BREAK_GLASS_REFUSED;
      const occupied = (c: Claim | undefined): c is Claim =>
        c !== undefined && c.at.getTime() >= since && (grants.has(c.grantId) ? counted(grants.get(c.grantId)!) : inFlight(c));
      /** Uses in the window: the occupied slots, and uses no slot names (stored before claims existed). */
      const slots = (keys: string[], history: GrantRecord[]) => {
        const named = new Set(keys.flatMap((k) => claimOf.get(k)?.grantId ?? []));
        const used = keys.filter((k) => occupied(claimOf.get(k))).length + history.filter((g) => counted(g) && !named.has(g.id)).length;
        return { used, free: keys.find((k) => !occupied(claimOf.get(k))) };
      };
      const forAgent = slots(agentKeys, agentGrants);
      const forPerson = slots(personKeys, byPerson);
      const over =
        forAgent.used >= limits.perAgent || !forAgent.free
          ? `${agent.name} has used break-glass ${forAgent.used} times in the last ${durationInWords(limits.window.ms, { exact: true })}`
          : forPerson.used >= limits.perPerson || !forPerson.free
            ? `you have used break-glass ${forPerson.used} times in the last ${durationInWords(limits.window.ms, { exact: true })}`
            : undefined;
      if (over) {
        throw new ForbiddenError(
          `${over}, the most allowed. Break-glass is for emergencies: request the access normally with \`access ${agent.name} ${scopeId} <reason>\`, and its approvers decide.`,
          { limit: true },
        );
      }

      // The scope first: racing uses of one scope meet there, and the losers are told who came first.
      const wanted: Array<[string, string | undefined]> = [
        [scopeKey, scopeClaim?.grantId],
        [forAgent.free!, claimOf.get(forAgent.free!)?.grantId],
        [forPerson.free!, claimOf.get(forPerson.free!)?.grantId],
      ];
      const taken: string[] = [];
      for (const [key, previous] of wanted) {
        if (!(await this.deps.claims.take({ key, grantId: mine.id, by: actor.email, at: new Date(now) }, previous))) break;
        taken.push(key);
      }
      if (taken.length === wanted.length) return taken;
      await Promise.all(taken.map((key) => this.deps.claims.release(key, mine.id)));
    }
    throw new ConflictError(`break-glass ${agent.id} ${scopeId}`);
  }

  /**
   * Revokes a pending or active grant (sponsors and IT admins; security for break-glass). A
   * pending grant's request is cancelled; if its approval lands at the same moment, exactly one
   * of the two wins the conditional update and the other sees the grant already revoked.
   */
  async revokeGrant(actorEmail: string, grantId: GrantId, reason: string): Promise<GrantRecord> {
    // Who may revoke is asked before (the bus's grant.revoke, or the access review's stored answer):
    // the rule reads the grant's source and the agent's sponsors, not the status this update guards.
    const actor = this.person(actorEmail);
    const why = String(reason ?? '').trim();
    if (why.length < 3) throw new InvalidInputError('Please say why you revoke this access.', { reason: 'A reason is required.' });
    const grant = await this.grantOrThrow(grantId);
    const agent = await this.deps.agents.get(grant.agentId);
    const revoked = await this.storeRevocation(actor, grant, agent, why);
    if (!revoked) {
      const current = await this.grantOrThrow(grant.id);
      throw new InvalidTransitionError(`This grant of ${grant.scope}`, current.status, 'revoked');
    }
    return revoked;
  }

  /**
   * Pending or active → revoked, with its effects in the grant's outbox: the audit entry, the
   * cancelled request (a pending grant), the updated cards and the other sponsors' notices. The
   * status it is revoked from is the one stored at that moment (an approval may land in between).
   */
  private async storeRevocation(
    actor: Person,
    read: GrantRecord,
    agent: AgentRecord | undefined,
    why: string,
  ): Promise<GrantRecord | undefined> {
    const { outbox } = this.deps;
    let grant: GrantRecord | undefined = read;
    for (let attempt = 0; attempt < 3 && grant && ['pending', 'active'].includes(grant.status); attempt++) {
      const now = this.clock();
      const patch = { status: 'revoked' as const, endedAt: now.toISOString(), endedBy: actor.email, endReason: why };
      const effects: PendingEffect[] = [
        grantEntry(
          this.deps,
          grant,
          personActor(actor.email),
          'grant.revoked',
          { scope: grant.scope, from: grant.status, reason: why },
          now,
        ),
        ...(grant.status === 'pending'
          ? [outbox.effect(GRANT_EFFECTS.cancelRequest, { grantId: grant.id, by: actor.email, reason: `Access revoked: ${why}` })]
          : []),
        outbox.effect(GRANT_REFRESH_EFFECT, { grantId: grant.id, outcome: `Revoked by ${this.name(actor.email)}: ${why}` }),
        ...(agent?.sponsors ?? [])
          .filter((s) => s !== actor.email)
          .map((sponsor) =>
            outbox.effect(CHAT_SEND_EFFECT, {
              to: sponsor,
              card: this.deps.cards.notice({ ...grant!, ...patch }, agent!, {
                level: 'warning',
                title: `${agent!.name} lost ${grant!.scope}`,
                text: `${this.name(actor.email)} revoked ${agent!.name}'s access to ${grant!.scope}: ${why}`,
              }),
            } satisfies ChatSend),
          ),
      ];
      const revoked = await this.deps.grants.transition(grant.id, [grant.status], patch, effects);
      if (revoked) {
        await outbox.settle({ kind: GRANT_HOLDER, id: grant.id }, effects, 'grant.revoked');
        return revoked;
      }
      grant = await this.deps.grants.get(grant.id);
    }
    return undefined;
  }

  /** Security confirms a break-glass use after the fact; the grant keeps running until it expires. */
  async confirmBreakGlass(actorEmail: string, grantId: GrantId): Promise<GrantRecord> {
    // Who may confirm (security, not the user of the break-glass) is asked before, by the bus's grant.confirm.
    const actor = this.person(actorEmail);
    const grant = await this.grantOrThrow(grantId);
    if (grant.source !== 'break-glass') throw new InvalidInputError('This grant is not a break-glass grant.');
    const { outbox } = this.deps;
    let current = grant;
    // The status guards the update: if it changed meanwhile (expired, revoked), confirm what it is now.
    for (let attempt = 0; attempt < 3 && !current.confirmedBy; attempt++) {
      const now = this.clock();
      const effects: PendingEffect[] = [
        grantEntry(
          this.deps,
          current,
          personActor(actor.email),
          'grant.break-glass.confirmed',
          { scope: current.scope, status: current.status },
          now,
        ),
        outbox.effect(GRANT_REFRESH_EFFECT, { grantId: current.id, outcome: `Confirmed by ${this.name(actor.email)}` }),
      ];
      const confirmed = await this.deps.grants.transition(current.id, [current.status], { confirmedBy: actor.email }, effects);
      if (confirmed) {
        await outbox.settle({ kind: GRANT_HOLDER, id: current.id }, effects, 'grant.confirmed');
        return confirmed;
      }
      current = await this.grantOrThrow(current.id);
    }
    return current;
  }

  /**
   * The "Let expire" answer to a reminder: the grant runs until it expires, as it would anyway,
   * and the answer is recorded on it with its audit entry (one write), so the later reminders are
   * not sent and a second click changes nothing. A grant that already ended says so.
   */
  async letExpire(actorEmail: string, grantId: GrantId): Promise<GrantRecord> {
    // Who may answer (the agent's sponsors and IT admins) is asked before, by the bus's grant.let-expire.
    const actor = this.person(actorEmail);
    const grant = await this.grantOrThrow(grantId);
    if (grant.status !== 'active')
      throw new InvalidInputError(`This access is ${grant.status} already; there is nothing left to let expire.`, { status: grant.status });
    if (grant.letExpireBy) return grant;
    const { outbox } = this.deps;
    const now = this.clock();
    const effects: PendingEffect[] = [
      grantEntry(this.deps, grant, personActor(actor.email), 'grant.let-expire', { scope: grant.scope, expiresAt: grant.expiresAt }, now),
    ];
    const answered = await this.deps.grants.transition(
      grant.id,
      ['active'],
      { letExpireBy: actor.email, letExpireAt: now.toISOString() },
      effects,
    );
    if (!answered) return this.grantOrThrow(grant.id);
    await outbox.settle({ kind: GRANT_HOLDER, id: grant.id }, effects, 'grant.let-expire');
    return answered;
  }

  /** The Extend button: a new access request for the same scope, duration and reason, extending this grant. */
  async extendGrant(actor: Person, grant: GrantRecord, agent: AgentRecord): Promise<AccessRequestResult> {
    // Who may extend (who may request access for the agent) is asked before, by the bus's grant.extend.
    const input: AccessRequestInput = {
      agentId: grant.agentId,
      scope: grant.scope,
      ...(grant.durationMs ? { duration: formatDuration(grant.durationMs) } : {}),
      reason: `Extension: ${grant.reason}`.slice(0, 1000),
      extends: grant.id,
    };
    return this.request(actor, agent, parseInput(accessRequestInputSchema, input, 'access request'));
  }

  /**
   * The `grants.expire` job (and the safety sweep): an active grant past its expiry becomes
   * `expired`, exactly once. The audit entry, the sponsors' notices and the card updates are
   * stored with the status change in the grant's outbox, so a crash cannot lose them.
   */
  async expireGrant(grantId: GrantId, options: { caughtBySweep?: boolean } = {}): Promise<boolean> {
    const grant = await this.deps.grants.get(grantId);
    if (!grant || grant.status !== 'active') return false;
    const now = this.clock();
    if (Date.parse(grant.expiresAt) > now.getTime() + 1000) return false;
    const patch = { status: 'expired' as const, endedAt: now.toISOString(), endedBy: 'scheduler', endReason: 'expired' };
    const agent = await this.deps.agents.get(grant.agentId);
    const { outbox } = this.deps;
    const effects: PendingEffect[] = [
      grantEntry(
        this.deps,
        grant,
        options.caughtBySweep ? { kind: 'system', name: 'safety-sweep' } : scheduler,
        'grant.expired',
        {
          scope: grant.scope,
          expiresAt: grant.expiresAt,
          source: grant.source,
          ...(options.caughtBySweep ? { caughtBy: 'the safety sweep' } : {}),
        },
        now,
      ),
      ...(agent?.sponsors ?? []).map((sponsor) =>
        outbox.effect(CHAT_SEND_EFFECT, {
          to: sponsor,
          card: this.deps.cards.notice({ ...grant, ...patch }, agent!, {
            level: 'info',
            title: `${agent!.name}'s access to ${grant.scope} expired`,
            text: `The grant of ${grant.scope} to ${agent!.name} ended at ${grant.expiresAt}, as approved. Request it again with \`access ${agent!.name} ${grant.scope}\` if it is still needed.`,
          }),
        } satisfies ChatSend),
      ),
      outbox.effect(GRANT_REFRESH_EFFECT, { grantId: grant.id, outcome: 'Expired' }),
    ];
    const expired = await this.deps.grants.transition(grant.id, ['active'], patch, effects);
    if (!expired) return false;
    await outbox.settle({ kind: GRANT_HOLDER, id: grant.id }, effects, 'grant.expired');
    return true;
  }

  /** The outbox performers of grant effects (registered once, at construction). */
  private registerPerformers(): void {
    this.deps.outbox.register<{ grantId: GrantId; outcome: string }>({
      type: GRANT_REFRESH_EFFECT,
      perform: async ({ grantId, outcome }) => {
        const grant = await this.deps.grants.get(grantId);
        if (grant) await this.refreshCards(grant, outcome);
      },
    });
    this.deps.outbox.register<{ grantId: GrantId }>({
      type: GRANT_EFFECTS.scheduleTimers,
      perform: async ({ grantId }, { effectId }) => {
        const grant = await this.deps.grants.get(grantId);
        // A grant that ended before its timers were scheduled needs none.
        if (grant?.status === 'active') await this.deps.timers.activated(grant, effectId);
      },
    });
    this.deps.outbox.register<{ grantId: GrantId; start: RunStart }>({
      type: GRANT_EFFECTS.startRun,
      perform: async ({ grantId, start }) => {
        const grant = await this.deps.grants.get(grantId);
        // A grant revoked or refused before its run started needs none.
        if (grant?.status === 'pending') await this.endedMeanwhile(grantId, await this.deps.engine.ensureStarted(start));
      },
    });
    this.deps.outbox.register<{ grantId: GrantId; by: string; reason: string }>({
      type: GRANT_EFFECTS.cancelRequest,
      perform: async ({ grantId, by, reason }) => {
        const grant = await this.deps.grants.get(grantId);
        if (!grant) return;
        for (const runId of await this.runsOf(grant)) {
          // A run that ended meanwhile (or was cancelled by an earlier attempt) refuses with a coded error: nothing to do.
          await this.deps.engine.cancel(runId, by, reason).catch((err: unknown) => {
            if (!isRosterError(err)) throw err;
          });
        }
      },
    });
  }

  /** The `grants.remind` job: tells the sponsors the grant ends soon, with Extend and Let expire. */
  async remindGrant(grantId: GrantId, offsetMs: number): Promise<boolean> {
    const grant = await this.deps.grants.get(grantId);
    // A sponsor already said to let it expire: asking again would be noise.
    if (!grant || grant.status !== 'active' || grant.letExpireBy) return false;
    const agent = await this.deps.agents.get(grant.agentId);
    if (!agent) return false;
    const { outbox } = this.deps;
    // Recorded on the grant with its effects: a reminder job run again (a crash, a second
    // scheduler) finds it recorded and neither audits nor sends it twice.
    const effects: PendingEffect[] = [
      grantEntry(this.deps, grant, scheduler, 'grant.reminded', {
        scope: grant.scope,
        expiresAt: grant.expiresAt,
        before: formatDuration(offsetMs),
      }),
      ...agent.sponsors.map((sponsor) =>
        outbox.effect(CHAT_SEND_EFFECT, {
          to: sponsor,
          card: this.deps.cards.notice(
            grant,
            agent,
            {
              level: 'warning',
              title: `${agent.name}'s access to ${grant.scope} ends in ${durationInWords(offsetMs)}`,
              text: `Extend it (a new request with the same scope, duration and reason) or let it expire.`,
            },
            ['extend', 'let-expire'],
          ),
          // Not urgent: it waits for the sponsor's working hours.
          quiet: true,
        } satisfies ChatSend),
      ),
    ];
    if (!(await this.deps.grants.markReminded(grant.id, offsetMs, effects))) return false;
    await outbox.settle({ kind: GRANT_HOLDER, id: grant.id }, effects, 'grant.reminded');
    return true;
  }

  /** `grant.activate` (see {@link GrantSteps.activate}). */
  activate(run: Readonly<FlowRun>): Promise<Record<string, unknown>> {
    return this.grantSteps.activate(run);
  }

  /** `grant.deny` (see {@link GrantSteps.deny}). */
  deny(run: Readonly<FlowRun>): Promise<void> {
    return this.grantSteps.deny(run);
  }

  private context(
    agent: AgentRecord,
    role: CatalogRole,
    scope: Scope,
    grant: GrantRecord,
    durationText: string,
    capNote: string | undefined,
  ): AccessContext {
    const bu = businessUnitById(this.deps.org, agent.businessUnit)?.name ?? agent.businessUnit;
    return {
      grantId: grant.id,
      agentId: agent.id,
      agentName: agent.name,
      roleTitle: `${grant.source === 'break-glass' ? 'Break-glass access' : 'Access'} to ${scope.id} for ${durationText}`,
      catalogRoleId: role.id,
      scope: scope.id,
      system: scope.id.split(':')[0]!,
      riskTier: scope.risk,
      dataClasses: scope.dataClasses,
      requiredApprovers: scope.requiredApprovers,
      businessUnit: agent.businessUnit,
      sponsors: agent.sponsors,
      durationMs: grant.durationMs ?? 0,
      durationText,
      ...(capNote ? { capNote } : {}),
      reason: grant.reason,
      purpose: [
        `${scope.id} (${scope.risk} risk; data: ${scope.dataClasses.join(', ')}): ${scope.description}`,
        `Duration: ${durationText}, starting at approval.${capNote ? ` ${capNote}` : ''}`,
        `Agent: ${agent.name} (${role.title}, ${bu}).`,
      ].join('\n'),
      justification: grant.reason,
      ...(grant.extends ? { extends: grant.extends } : {}),
    };
  }

  private grantableScope(agent: AgentRecord, scopeId: string): { role: CatalogRole; scope: Scope } {
    return grantableScope(this.deps.org, agent, scopeId);
  }

  private person(email: string): Person {
    const person = findPersonByEmail(this.deps.org, String(email));
    if (!person) throw new UnknownPersonError(String(email));
    return person;
  }

  private name(email: string): string {
    return findPersonByEmail(this.deps.org, email)?.name ?? email;
  }

  private async grantOrThrow(grantId: GrantId): Promise<GrantRecord> {
    const grant = await this.deps.grants.get(grantId);
    if (!grant) throw new NotFoundError('the grant', grantId);
    return grant;
  }

  /** Updates the cards sent about a grant (break-glass review, reminders) to show how it ended. */
  private async refreshCards(grant: GrantRecord, outcome: string): Promise<void> {
    const agent = await this.deps.agents.get(grant.agentId);
    if (!agent) return;
    for (const runId of await this.runsOf(grant)) {
      for (const m of await this.deps.runs.messages(runId, { kind: 'grant-notice' })) {
        const card = this.deps.cards.notice(grant, agent, {
          level: grant.status === 'active' ? 'success' : 'info',
          title: `${agent.name}: ${grant.scope} — ${outcome}`,
          text: `${grant.reason}`,
        });
        await this.deps.notifier.update(m.ref as never, card).catch(() => undefined);
      }
    }
  }

  /** The runs (access request or break-glass) that created a grant; its status card and review cards hang off them. */
  private async runsOf(grant: GrantRecord): Promise<RunId[]> {
    if (grant.source === 'default') return [];
    const runs = await this.deps.runs.list({ agentId: grant.agentId });
    return runs.filter((r) => (r.context as Partial<AccessContext>).grantId === grant.id).map((r) => r.id);
  }
}

/**
 * A grant's audit entry as an outbox effect, to be stored with the change it records; `at` is the
 * time of the change (now on the deps' clock unless the caller already read it).
 */
function grantEntry(
  deps: Pick<AccessDeps, 'outbox' | 'clock'>,
  grant: Pick<GrantRecord, 'id' | 'agentId'>,
  actor: Actor,
  action: string,
  details: Record<string, unknown>,
  at: Date = deps.clock?.() ?? new Date(),
): PendingEffect {
  return deps.outbox.effect(AUDIT_EFFECT, {
    actor,
    action,
    subject: { type: 'grant', id: grant.id, agentId: grant.agentId },
    details,
    at,
  } satisfies AuditInput);
}

/** The role and scope of a grant the agent may still be given; a coded error says why not. */
function grantableScope(org: OrgConfig, agent: AgentRecord, scopeId: string): { role: CatalogRole; scope: Scope } {
  const role = roleById(org, agent.catalogRoleId);
  if (!role) throw new NotFoundError('the catalog role', agent.catalogRoleId);
  if (!['active', 'probation'].includes(agent.status)) {
    throw new InvalidTransitionError(`${agent.name} (${agent.status})`, agent.status, 'holding new access');
  }
  const id = scopeId.trim().toLowerCase();
  const forbidden = role.forbiddenScopes.find((f) => f.scope === id);
  if (forbidden) throw new ScopeForbiddenError(id, forbidden.reason);
  const scope = scopeById(org, id);
  if (!scope || !grantableScopes(role).includes(id)) {
    throw new InvalidInputError(
      `${agent.name} (${role.title}) may be granted ${grantableScopes(role).join(', ')}; ${scope ? `${id} is not one of them` : `there is no scope "${id}"`}.`,
      { scope: 'Not an allowed scope.' },
    );
  }
  return { role, scope };
}

/**
 * What the access flows' steps do to a grant (`access-request.valid`, `grant.activate`,
 * `grant.deny`). They need no flow engine, so they are built before it; the access commands,
 * which start and cancel runs, are built after it.
 */
export class GrantSteps {
  private readonly clock: () => Date;

  constructor(private readonly deps: Pick<AccessDeps, 'org' | 'agents' | 'grants' | 'outbox' | 'clock'>) {
    this.clock = deps.clock ?? (() => new Date());
  }

  /** `grant.activate`: pending → active with the clock starting now; supersedes the grant it extends. */
  async activate(run: Readonly<FlowRun>): Promise<Record<string, unknown>> {
    const c = run.context as AccessContext;
    const now = this.clock();
    const approvedBy = Object.values(run.steps).flatMap((s) =>
      (s.decisions ?? []).filter((d) => d.decision === 'approve').map((d) => d.by),
    );
    const expiresAt = new Date(now.getTime() + c.durationMs).toISOString();
    const source = run.flowId === BREAK_GLASS_FLOW ? 'break-glass' : run.id;
    const { outbox } = this.deps;
    // The audit entry and the expiry and reminder timers are stored with the activation.
    const effects: PendingEffect[] = [
      grantEntry(
        this.deps,
        { id: c.grantId, agentId: c.agentId },
        flowEngine,
        'grant.activated',
        { runId: run.id, scope: c.scope, startsAt: now.toISOString(), expiresAt, approvedBy, source },
        now,
      ),
      outbox.effect(GRANT_EFFECTS.scheduleTimers, { grantId: c.grantId }),
    ];
    const activated = await this.deps.grants.transition(
      c.grantId,
      ['pending'],
      { status: 'active', startsAt: now.toISOString(), expiresAt, approvedBy, source },
      effects,
    );
    if (!activated) {
      const current = await this.deps.grants.get(c.grantId);
      if (current?.status === 'active') return { expiresAt: current.expiresAt };
      throw new RosterError('invalid_transition', `The grant was ${current?.status ?? 'removed'} before it could become active.`, {
        grantId: c.grantId,
        status: current?.status,
      });
    }
    await outbox.settle({ kind: GRANT_HOLDER, id: c.grantId }, effects, 'grant.activated');
    if (c.extends) {
      const ended = [
        grantEntry(
          this.deps,
          { id: c.extends, agentId: c.agentId },
          flowEngine,
          'grant.superseded',
          { by: c.grantId, scope: c.scope },
          now,
        ),
      ];
      const superseded = await this.deps.grants.transition(
        c.extends,
        ['active'],
        { status: 'expired', endedAt: now.toISOString(), endedBy: 'flow-engine', endReason: `superseded by ${c.grantId}` },
        ended,
      );
      if (superseded) await outbox.settle({ kind: GRANT_HOLDER, id: c.extends }, ended, 'grant.superseded');
    }
    return { expiresAt, startsAt: activated.startsAt };
  }

  /** `grant.deny` (onFailure): a request that ends without approval never becomes active. */
  async deny(run: Readonly<FlowRun>): Promise<void> {
    const c = run.context as AccessContext;
    const effects = [
      grantEntry(this.deps, { id: c.grantId, agentId: c.agentId }, flowEngine, 'grant.denied', {
        runId: run.id,
        scope: c.scope,
        outcome: run.outcome ?? run.status,
      }),
    ];
    const denied = await this.deps.grants.transition(
      c.grantId,
      ['pending'],
      { status: 'denied', endedAt: this.clock().toISOString(), endReason: run.outcome ?? run.status },
      effects,
    );
    if (denied) await this.deps.outbox.settle({ kind: GRANT_HOLDER, id: c.grantId }, effects, 'grant.denied');
  }

  /** `access-request.valid`: the scope is still grantable and the agent still works here. */
  async validate(run: Readonly<FlowRun>): Promise<{ ok: true } | { ok: false; reason: string }> {
    const c = run.context as AccessContext;
    const agent = await this.deps.agents.get(c.agentId);
    if (!agent) return { ok: false, reason: `The agent ${c.agentId} no longer exists.` };
    try {
      grantableScope(this.deps.org, agent, c.scope);
      return { ok: true };
    } catch (err) {
      if (isRosterError(err)) return { ok: false, reason: err.userMessage };
      throw err;
    }
  }
}

const ctxOf = (ctx: StepContext) => ctx.run.context as AccessContext;
const needs = (ctx: StepContext, role: string) => (ctxOf(ctx).requiredApprovers ?? []).includes(role);

/** The named steps of the access flows. */
export function accessSteps(steps: GrantSteps): StepRegistry {
  return {
    checks: {
      'access-request.valid': (ctx) => steps.validate(ctx.run),
    },
    actions: {
      'grant.activate': (ctx) => steps.activate(ctx.run),
      'grant.deny': (ctx) => steps.deny(ctx.run),
    },
    conditions: {
      'access.data-owner': (ctx) => ctxOf(ctx).riskTier !== 'low' || needs(ctx, 'data-owner'),
      'access.security': (ctx) => ctxOf(ctx).riskTier === 'high' || needs(ctx, 'security'),
      'access.dpo': (ctx) => ctxOf(ctx).dataClasses.some((d) => d === 'pii' || d === 'health') || needs(ctx, 'dpo'),
      'access.compliance': (ctx) => needs(ctx, 'compliance'),
      'access.business-approver': (ctx) => needs(ctx, 'approver'),
    },
    gates: {},
  };
}

/** People who hold a role, by e-mail (security is paged for break-glass). */
export function emailsWithRole(org: OrgConfig, role: string): string[] {
  return peopleWithRole(org, role).map((p) => p.email);
}

/** A grant as requested: pending, no approvals, its clock not started (it starts at approval). */
function pendingGrant(
  agentId: AgentId,
  scope: string,
  reason: string,
  requestedBy: string,
  source: string,
  createdAt: string,
  durationMs: number,
): GrantRecord {
  return {
    id: newGrantId(),
    agentId,
    scope,
    reason,
    requestedBy,
    approvedBy: [],
    startsAt: '',
    expiresAt: '',
    status: 'pending',
    source,
    createdAt,
    durationMs,
  };
}
