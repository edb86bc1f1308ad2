import { randomBytes } from 'node:crypto';
import { findPersonByEmail } from '../config/directory.js';
import type { OrgConfig } from '../config/schemas.js';
import type { AuditLog } from './audit.js';
import { InvalidInputError, UnknownPersonError } from './errors.js';
import type { Notifier } from './notifications.js';

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
  insert(delegation: Delegation): Promise<void>;
  get(id: string): Promise<Delegation | undefined>;
  /** Delegations not ended where the person is the principal (or the delegate). */
  openFor(filter: { principal?: string; delegate?: string }): Promise<Delegation[]>;
  /** Moves a delegation from one status to another atomically; false when it was not in `from`. */
  transition(id: string, from: Delegation['status'][], to: Delegation['status'], at: string): Promise<boolean>;
}

/** Durable timers that start and end delegations on their dates. */
export interface DelegationTimers {
  schedule(at: Date, job: { id: string; kind: 'start' | 'end' }): Promise<void>;
}

export interface DelegationDeps {
  org: OrgConfig;
  repo: DelegationRepository;
  audit: AuditLog;
  notifier: Notifier;
  timers: DelegationTimers;
  /** Hands the approvals already waiting on the principal to the delegate (or back). */
  reroute: (principal: string, delegate: string | undefined) => Promise<number>;
  clock?: () => Date;
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
    const delegation: Delegation = {
      id: `dlg_${randomBytes(6).toString('hex')}`,
      principal: principal.email,
      delegate: delegate.email,
      startsAt: start.toISOString(),
      endsAt: end.toISOString(),
      status: 'scheduled',
      createdAt: now.toISOString(),
    };
    await this.deps.repo.insert(delegation);
    await this.deps.audit.append({
      actor: { kind: 'person', email: principal.email },
      action: 'delegation.created',
      subject: { type: 'person', id: principal.email },
      details: { id: delegation.id, delegate: delegate.email, from, to },
    });
    await this.deps.timers.schedule(end, { id: delegation.id, kind: 'end' });
    if (start <= now) await this.start(delegation.id);
    else await this.deps.timers.schedule(start, { id: delegation.id, kind: 'start' });
    await this.deps.notifier
      .send(delegate.email, {
        kind: 'notice',
        data: {
          level: 'info',
          title: `You decide for ${principal.name} from ${from} to ${to}`,
          text: `${principal.name} is away and delegated their approvals to you. Their approval cards come to you; your decisions are recorded as yours, on their behalf. You still cannot approve your own requests.`,
        },
      })
      .catch(() => undefined);
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

  /** Starts a scheduled delegation (timer or `away` from today). */
  async start(id: string): Promise<void> {
    const at = this.clock().toISOString();
    if (!(await this.deps.repo.transition(id, ['scheduled'], 'active', at))) return;
    const d = (await this.deps.repo.get(id))!;
    await this.deps.audit.append({
      actor: { kind: 'system', name: 'scheduler' },
      action: 'delegation.started',
      subject: { type: 'person', id: d.principal },
      details: { id, delegate: d.delegate },
    });
    await this.deps.reroute(d.principal, d.delegate);
  }

  /** Ends a delegation (its last day passed, `back`, or a leaver); idempotent. */
  async end(id: string, by = 'scheduler'): Promise<void> {
    const before = await this.deps.repo.get(id);
    if (!before || !(await this.deps.repo.transition(id, ['scheduled', 'active'], 'ended', this.clock().toISOString()))) return;
    await this.deps.audit.append({
      actor: by === 'scheduler' || by === 'directory' ? { kind: 'system', name: by } : { kind: 'person', email: by },
      action: 'delegation.ended',
      subject: { type: 'person', id: before.principal },
      details: { id, delegate: before.delegate },
    });
    if (before.status === 'active') await this.deps.reroute(before.principal, undefined);
  }

  /** Ends every delegation from or to someone who left the directory. */
  async endAllFor(email: string): Promise<void> {
    const open = [...(await this.deps.repo.openFor({ principal: email })), ...(await this.deps.repo.openFor({ delegate: email }))];
    for (const d of open) await this.end(d.id, 'directory');
  }

  /** Who decides for this person right now, if they are away and their delegate is still here. */
  async delegateOf(email: string): Promise<string | undefined> {
    const now = this.clock().getTime();
    const open = await this.deps.repo.openFor({ principal: email });
    const d = open.find((x) => Date.parse(x.startsAt) <= now && now < Date.parse(x.endsAt));
    return d && findPersonByEmail(this.deps.org, d.delegate) ? d.delegate : undefined;
  }
}
