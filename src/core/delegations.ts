import { randomBytes } from 'node:crypto';
import { findPersonByEmail } from '../config/directory.js';
import type { OrgConfig } from '../config/schemas.js';
import type { AuditInput } from './audit.js';
import { AUDIT_EFFECT } from './audit-effects.js';
import { CHAT_SEND_EFFECT, type ChatSend } from './chat-effects.js';
import { InvalidInputError, UnknownPersonError } from './errors.js';
import type { Outbox } from './outbox.js';
import type { PendingEffect } from './ports.js';
import type { OutgoingCard } from './notifications.js';

/** One person's approvals handed to another for a period (out of office). Dates are whole UTC days. */
export interface Delegation {
  id: string;
  principal: string;
  delegate: string;
  /** First day away, 00:00 UTC. */
  startsAt: string;
  /** The day after the last day away, 00:00 UTC. */
  endsAt: string;
  status: 'scheduled' | 'active' | 'ended';
  createdAt: string;
  endedAt?: string;
}

export interface DelegationRepository {
  /** Stores a new delegation with the effects it implies, in one write. */
  insert(delegation: Delegation, effects?: readonly PendingEffect[]): Promise<void>;
  get(id: string): Promise<Delegation | undefined>;
  /** Delegations not ended where the person is the principal (or the delegate), or any of `principals` is. */
  openFor(filter: { principal?: string; delegate?: string; principals?: readonly string[] }): Promise<Delegation[]>;
  /**
   * Moves a delegation from one status to another atomically, storing `effects` in its outbox in
   * the same update; false when it was not in `from` (and nothing is stored).
   */
  transition(
    id: string,
    from: Delegation['status'][],
    to: Delegation['status'],
    at: string,
    effects?: readonly PendingEffect[],
  ): Promise<boolean>;
}

/** A delegation's start or end, as a durable timer carries it. */
export interface DelegationTimer {
  id: string;
  kind: 'start' | 'end';
}

/** Durable timers that start and end delegations on their dates. */
export interface DelegationTimers {
  /** `key` makes scheduling idempotent: the same key twice keeps one timer. */
  schedule(at: Date, job: DelegationTimer, key: string): Promise<void>;
}

/** The holder kind of delegations in the outbox (collection `delegations`). */
export const DELEGATION_HOLDER = 'delegation';
/** The outbox effect types of delegations (`audit.append` and `chat.send` are shared). */
export const DELEGATION_EFFECTS = {
  /** Schedules a start or end timer: `{ at, id, kind }`. */
  timer: 'delegation.timer',
  /** Brings the approvals waiting on `{ principal }` in line with who decides for them now. */
  reroute: 'delegation.reroute',
} as const;

export interface DelegationDeps {
  org: OrgConfig;
  repo: DelegationRepository;
  /** Where the effects of delegation changes (audit, notices, timers, re-routing) are stored and performed. */
  outbox: Outbox;
  timers: DelegationTimers;
  /** Hands the approvals already waiting on the principal to the delegate (or back). */
  reroute: (principal: string, delegate: string | undefined) => Promise<number>;
  /** The delegate's notice (src/views/offboarding-cards.ts). */
  cards: DelegationCards;
  clock?: () => Date;
}

/** Presenter port: what the delegate is told when someone delegates their approvals to them. */
export interface DelegationCards {
  /** `from` and `to` as the principal typed them, e.g. `2026-12-20`. */
  delegated(principalName: string, from: string, to: string): OutgoingCard;
}

const DAY_MS = 24 * 60 * 60_000;
const MAX_DAYS = 366;

/** `2026-12-20` → that day at 00:00 UTC; anything else is an input error naming the field. */
export function parseDay(text: string, field: string): Date {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text.trim());
  const date = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : undefined;
  if (!date || Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== text.trim()) {
    throw new InvalidInputError(`"${text}" is not a date: write it as YYYY-MM-DD, e.g. 2026-12-20.`, {
      [field === 'to' ? 'until' : field]: 'Use YYYY-MM-DD.',
    });
  }
  return date;
}

/**
 * Out of office: a person delegates their approvals to someone else between two dates. While it
 * runs, approval cards go to the delegate, who decides on the person's behalf; separation of
 * duties still applies to the delegate (the engine refuses their own requests). It ends on its
 * last day, with `back`, or when either of them leaves the directory.
 */
export class Delegations {
  private readonly clock: () => Date;

  constructor(private readonly deps: DelegationDeps) {
    this.clock = deps.clock ?? (() => new Date());
    this.registerPerformers();
  }

  /** `away <from> <to> to <delegate>`: replaces any delegation the person had. */
  async away(principalEmail: string, from: string, to: string, delegateEmail: string): Promise<Delegation> {
    const principal = findPersonByEmail(this.deps.org, principalEmail);
    if (!principal) throw new UnknownPersonError(principalEmail);
    const delegate = findPersonByEmail(this.deps.org, delegateEmail);
    if (!delegate)
      throw new InvalidInputError(`${delegateEmail} is not in Roster's directory.`, { delegate: 'Pick someone in the directory.' });
    if (delegate.email === principal.email)
      throw new InvalidInputError('Pick someone else: you cannot delegate to yourself.', { delegate: 'Pick someone else.' });
    const start = parseDay(from, 'from');
    const last = parseDay(to, 'to');
    const end = new Date(last.getTime() + DAY_MS);
    const today = new Date(Math.floor(this.clock().getTime() / DAY_MS) * DAY_MS);
    if (last < start)
      throw new InvalidInputError('The last day comes before the first one.', { until: 'Must be on or after the first day.' });
    if (end <= today) throw new InvalidInputError('That period is already over.', { until: 'Must be today or later.' });
    if ((end.getTime() - start.getTime()) / DAY_MS > MAX_DAYS)
      throw new InvalidInputError('Delegate for a year at most.', { until: 'At most a year.' });
    const theirs = await this.deps.repo.openFor({ principal: delegate.email });
    if (theirs.some((d) => Date.parse(d.startsAt) < end.getTime() && Date.parse(d.endsAt) > start.getTime())) {
      throw new InvalidInputError(`${delegate.name} is away then too; pick someone who is in.`, { delegate: 'Away in that period.' });
    }
    for (const existing of await this.deps.repo.openFor({ principal: principal.email })) await this.end(existing.id, principal.email);
    const now = this.clock();
    // A period that has begun is stored active, with the effects of its start: one write, so
    // neither a crash nor the start timer can leave it half started.
    const startsNow = start <= now;
    const delegation: Delegation = {
      id: `dlg_${randomBytes(6).toString('hex')}`,
      principal: principal.email,
      delegate: delegate.email,
      startsAt: start.toISOString(),
      endsAt: end.toISOString(),
      status: startsNow ? 'active' : 'scheduled',
      createdAt: now.toISOString(),
    };
    const { outbox } = this.deps;
    const effects = [
      outbox.effect(AUDIT_EFFECT, {
        actor: { kind: 'person', email: principal.email },
        action: 'delegation.created',
        subject: { type: 'person', id: principal.email },
        details: { id: delegation.id, delegate: delegate.email, from, to },
        at: now,
      } satisfies AuditInput),
      ...(startsNow
        ? this.startEffects(delegation, now)
        : [outbox.effect(DELEGATION_EFFECTS.timer, { at: delegation.startsAt, id: delegation.id, kind: 'start' })]),
      outbox.effect(DELEGATION_EFFECTS.timer, { at: delegation.endsAt, id: delegation.id, kind: 'end' }),
      outbox.effect(CHAT_SEND_EFFECT, {
        to: delegate.email,
        card: this.deps.cards.delegated(principal.name, from, to),
      } satisfies ChatSend),
    ];
    await this.deps.repo.insert(delegation, effects);
    await outbox.settle({ kind: DELEGATION_HOLDER, id: delegation.id }, effects, 'delegation.created');
    return (await this.deps.repo.get(delegation.id)) ?? delegation;
  }

  /** `back`: ends the person's delegations; their waiting approvals come back to them. */
  async back(principalEmail: string): Promise<number> {
    const open = await this.deps.repo.openFor({ principal: principalEmail.toLowerCase() });
    for (const d of open) await this.end(d.id, principalEmail.toLowerCase());
    return open.length;
  }

  /** The person's delegation that has not ended, if any (for the home card). */
  async current(principalEmail: string): Promise<Delegation | undefined> {
    return (await this.deps.repo.openFor({ principal: principalEmail.toLowerCase() }))[0];
  }

  /** Starts a scheduled delegation (timer or `away` from today); idempotent. */
  async start(id: string): Promise<void> {
    const d = await this.deps.repo.get(id);
    if (!d || d.status !== 'scheduled') return;
    const now = this.clock();
    const effects = this.startEffects(d, now);
    if (!(await this.deps.repo.transition(id, ['scheduled'], 'active', now.toISOString(), effects))) return;
    await this.deps.outbox.settle({ kind: DELEGATION_HOLDER, id }, effects, 'delegation.started');
  }

  /** The audit entry of a start, and the re-routing of the approvals already waiting on the principal. */
  private startEffects(d: Delegation, now: Date): PendingEffect[] {
    return [
      this.deps.outbox.effect(AUDIT_EFFECT, {
        actor: { kind: 'system', name: 'scheduler' },
        action: 'delegation.started',
        subject: { type: 'person', id: d.principal },
        details: { id: d.id, delegate: d.delegate },
        at: now,
      } satisfies AuditInput),
      this.deps.outbox.effect(DELEGATION_EFFECTS.reroute, { principal: d.principal }),
    ];
  }

  /** Ends a delegation (its last day passed, `back`, or a leaver); idempotent. */
  async end(id: string, by = 'scheduler'): Promise<void> {
    const before = await this.deps.repo.get(id);
    if (!before || before.status === 'ended') return;
    const now = this.clock();
    // The re-route goes with every end: its performer reads who decides now, so it changes
    // nothing for a delegation that had not started.
    const effects = [
      this.deps.outbox.effect(AUDIT_EFFECT, {
        actor: by === 'scheduler' || by === 'directory' ? { kind: 'system', name: by } : { kind: 'person', email: by },
        action: 'delegation.ended',
        subject: { type: 'person', id: before.principal },
        details: { id, delegate: before.delegate },
        at: now,
      } satisfies AuditInput),
      this.deps.outbox.effect(DELEGATION_EFFECTS.reroute, { principal: before.principal }),
    ];
    if (!(await this.deps.repo.transition(id, ['scheduled', 'active'], 'ended', now.toISOString(), effects))) return;
    await this.deps.outbox.settle({ kind: DELEGATION_HOLDER, id }, effects, 'delegation.ended');
  }

  /** Ends every delegation from or to someone who left the directory. */
  async endAllFor(email: string): Promise<void> {
    const open = [...(await this.deps.repo.openFor({ principal: email })), ...(await this.deps.repo.openFor({ delegate: email }))];
    for (const d of open) await this.end(d.id, 'directory');
  }

  /** Who decides for this person right now, if they are away and their delegate is still here. */
  delegateOf(email: string): Promise<string | undefined> {
    return activeDelegate({ ...this.deps, clock: this.clock }, email);
  }

  /** The outbox performers of delegation effects (registered once, at construction). */
  private registerPerformers(): void {
    this.deps.outbox.register<{ at: string } & DelegationTimer>({
      type: DELEGATION_EFFECTS.timer,
      perform: async ({ at, id, kind }, { effectId }) => this.deps.timers.schedule(new Date(at), { id, kind }, effectId),
    });
    this.deps.outbox.register<{ principal: string }>({
      type: DELEGATION_EFFECTS.reroute,
      // Derived from the stored delegations rather than carried in the effect, so performing it
      // late or twice, or after a later start or end, leaves the approvals where they belong now.
      // A principal who left is the directory job's: it re-assigns their approvals.
      perform: async ({ principal }) => {
        if (!findPersonByEmail(this.deps.org, principal)) return;
        await this.deps.reroute(principal, await this.delegateOf(principal));
      },
    });
  }
}

/**
 * {@link activeDelegate} for several people at once (an approval step's approvers): one read of
 * their open delegations instead of one each. Resolves who decides for each one who is away.
 */
export async function activeDelegates(
  deps: { repo: Pick<DelegationRepository, 'openFor'>; org: OrgConfig; clock: () => Date },
  emails: readonly string[],
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (emails.length === 0) return out;
  const now = deps.clock().getTime();
  const open = await deps.repo.openFor({ principals: [...new Set(emails)] });
  for (const email of emails) {
    const d = open.find((x) => x.principal === email && Date.parse(x.startsAt) <= now && now < Date.parse(x.endsAt));
    if (d && findPersonByEmail(deps.org, d.delegate)) out.set(email, d.delegate);
  }
  return out;
}

/**
 * Who decides for this person right now, if they are away and their delegate is still here: read
 * from the stored delegations alone, so the flow engine can ask it before the delegation service
 * (which re-routes approvals through the engine) exists.
 */
export async function activeDelegate(
  deps: { repo: Pick<DelegationRepository, 'openFor'>; org: OrgConfig; clock: () => Date },
  email: string,
): Promise<string | undefined> {
  const now = deps.clock().getTime();
  const open = await deps.repo.openFor({ principal: email });
  const d = open.find((x) => Date.parse(x.startsAt) <= now && now < Date.parse(x.endsAt));
  return d && findPersonByEmail(deps.org, d.delegate) ? d.delegate : undefined;
}
