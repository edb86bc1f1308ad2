import type { OrgConfig, Person } from '../config/schemas.js';
import { findPersonByEmail, roleById, scopeById } from '../config/directory.js';
import { cardModel, type CardModel } from '../cards/view-models.js';
import { grantNotice } from '../views/access-cards.js';
import { checkedCard } from '../views/card-builders.js';
import { accessCap, grantableScopes, type AccessRequestResult } from '../core/access.js';
import type { AgentRecord, GrantRecord } from '../core/agents.js';
import { displayDate, relativeInWords } from '../core/time.js';
import type { Services } from '../services.js';
import { type AgentId, type GrantId, idOrUndefined } from '../core/ids.js';

/** The access words of the chat: `access <agent> <scope> [duration] [reason]` and `break-glass <agent> <scope> <reason>`. */
export type AccessChatCommand =
  | { name: 'access'; agent?: string; scope?: string; duration?: string; reason?: string }
  | { name: 'break-glass'; agent?: string; scope?: string; reason?: string };

/** Buttons of a `grant-notice` card. */
export type GrantAction = 'extend' | 'let-expire' | 'revoke' | 'confirm';

export const ACCESS_CHAT_COMMANDS = [
  {
    usage: 'access <agent> <scope> [duration] [reason]',
    description: 'Request time-bound access for an agent you sponsor, e.g. `access Support Copilot crm:read 30d order lookups`.',
  },
  { usage: 'break-glass <agent> <scope> <reason>', description: 'Emergency access at once for a few hours; security reviews it.' },
];

const DURATION = /^(?:\d+[wdhms])+$/;
const SCOPE = /^[a-z][a-z0-9-]*(?::[a-z0-9-]+)+$/i;

/**
 * Reads the words after `access` or `break-glass`. Agent names may contain spaces, so the scope
 * (the first `system:permission` word) separates the agent from the rest.
 */
export function parseAccessCommand(word: 'access' | 'break-glass', rest: string[]): AccessChatCommand {
  const at = rest.findIndex((w) => SCOPE.test(w));
  const agent = (at === -1 ? rest : rest.slice(0, at)).join(' ').trim() || undefined;
  const scope = at === -1 ? undefined : rest[at]!.toLowerCase();
  const after = at === -1 ? [] : rest.slice(at + 1);
  if (word === 'break-glass') {
    return {
      name: 'break-glass',
      ...(agent ? { agent } : {}),
      ...(scope ? { scope } : {}),
      ...(after.length ? { reason: after.join(' ') } : {}),
    };
  }
  const duration = after[0] && DURATION.test(after[0]) ? after[0] : undefined;
  const reason = (duration ? after.slice(1) : after).join(' ').trim();
  return {
    name: 'access',
    ...(agent ? { agent } : {}),
    ...(scope ? { scope } : {}),
    ...(duration ? { duration } : {}),
    ...(reason ? { reason } : {}),
  };
}

/** Chat handling of access: typed commands and grant-card buttons, on both platforms. */
/** One choice of the access form: an agent and a scope, with the scope's risk and longest grant. */
export interface AccessTarget {
  targetId: string;
  label: string;
  detail: string;
}

/** The access form's values as both platforms read them. */
export interface AccessFormValues {
  targetId: string;
  duration?: string;
  reason: string;
}

/** The most agent and scope pairs the access form lists; more are searched as the person types. */
const STATIC_TARGETS = 100;

export class AccessChat {
  constructor(
    private readonly org: OrgConfig,
    private readonly services: Services,
  ) {}

  async run(person: Person, command: AccessChatCommand): Promise<CardModel> {
    if (!command.agent || !command.scope || !command.reason) return this.usage(person, command);
    const { bus } = this.services;
    if (command.name === 'break-glass') {
      const { grant } = await bus.execute(person, {
        type: 'access.break-glass',
        agentId: command.agent,
        scope: command.scope,
        reason: command.reason,
      });
      const agent = await this.services.agents.get(grant.agentId);
      if (grant.status !== 'active') {
        return cardModel('notice', {
          level: 'warning',
          title: 'Break-glass not granted',
          text: `${agent?.name ?? grant.agentId} did not get ${grant.scope}: ${grant.endReason ?? grant.status}.`,
        });
      }
      return grantNotice(
        this.org,
        grant,
        { name: agent?.name ?? grant.agentId },
        {
          level: 'warning',
          title: `Break-glass: ${agent?.name ?? grant.agentId} has ${grant.scope} now`,
          text: `Granted at once until ${displayDate(grant.expiresAt)} (${relativeInWords(new Date(grant.expiresAt), new Date())}). Security has been paged and will review this use; the sponsors are told.`,
        },
        ['revoke'],
      );
    }
    const result = await bus.execute(person, {
      type: 'access.request',
      agentId: command.agent,
      scope: command.scope,
      ...(command.duration ? { duration: command.duration } : {}),
      reason: command.reason,
    });
    return this.requested(result);
  }

  /** A click on a grant card; returns the clicker's fresh view of it, and a reply to post when there is one. */
  async click(person: Person, action: GrantAction, grantId: GrantId): Promise<{ card: CardModel; reply?: CardModel }> {
    const { bus } = this.services;
    switch (action) {
      case 'extend': {
        const result = await bus.execute(person, { type: 'grant.extend', grantId });
        return {
          card: await this.view(grantId, 'Extension requested', `A new request for the same access is waiting for approval.`),
          reply: this.requested(result),
        };
      }
      case 'let-expire':
        await bus.execute(person, { type: 'grant.let-expire', grantId });
        return { card: await this.view(grantId, 'Left to expire', `Noted: ${this.name(person.email)} lets this access expire on time.`) };
      case 'revoke':
        await bus.execute(person, { type: 'grant.revoke', grantId, reason: `Revoked now from the card by ${this.name(person.email)}` });
        return { card: await this.view(grantId, 'Revoked', `${this.name(person.email)} revoked this access.`) };
      case 'confirm':
        await bus.execute(person, { type: 'grant.confirm', grantId });
        return { card: await this.view(grantId, 'Confirmed', `${this.name(person.email)} confirmed this break-glass use.`) };
    }
  }

  /**
   * The access form (a Slack modal, a Teams card) when `access` lacks arguments: the agent and
   * scope pairs the person may request (the agents they may request access for, or the named one,
   * each with the scopes its role allows and it does not hold), each scope with its risk and the
   * longest grant; a search instead of a list when there are more than a list holds. Undefined
   * when there is nothing to request.
   */
  async form(person: Person, command: AccessChatCommand): Promise<CardModel | undefined> {
    if (command.name !== 'access' || (command.agent && command.scope && command.reason)) return undefined;
    let candidates: AgentRecord[];
    let search = false;
    if (command.agent) {
      const named = command.agent.toLowerCase();
      const found = await this.offered(person, command.agent);
      candidates = found.filter((a) => a.name.toLowerCase() === named || a.id === command.agent);
    } else {
      const picked = await this.services.bus.execute(person, { type: 'agents.pick', purpose: 'access' });
      candidates = picked.agents;
      search = picked.search;
    }
    const targets = search ? [] : await this.targetsOf(candidates);
    if (!search && targets.length === 0) return undefined;
    const searching = search || targets.length > STATIC_TARGETS;
    const preset = command.scope ? targets.find((t) => t.targetId.endsWith(`:${command.scope}`)) : undefined;
    const values = {
      ...(preset ? { targetId: preset.targetId } : {}),
      ...(command.name === 'access' && command.duration ? { duration: command.duration } : {}),
      ...(command.reason ? { reason: command.reason } : {}),
    };
    return cardModel('access-form', {
      targets: searching ? (preset ? [preset] : []) : targets,
      ...(searching ? { search: true } : {}),
      ...(Object.keys(values).length ? { values } : {}),
    });
  }

  /** The access form again with what was submitted and what was wrong (a target kept only when it may be requested). */
  async formAgain(
    person: Person,
    values: Partial<AccessFormValues>,
    errors: Partial<Record<'target' | 'duration' | 'reason', string>>,
  ): Promise<CardModel> {
    const form = await this.form(person, { name: 'access' });
    if (!form || form.kind !== 'access-form')
      return cardModel('notice', { level: 'warning', title: 'Your access request was not sent', text: Object.values(errors).join(' ') });
    const kept =
      values.targetId && !(await this.targetRefusal(person, values.targetId))
        ? (await this.targetsOf(await this.agentsOf([values.targetId]))).find((t) => t.targetId === values.targetId)
        : undefined;
    const targets =
      kept && !form.data.targets.some((t) => t.targetId === kept.targetId)
        ? [kept, ...form.data.targets].slice(0, STATIC_TARGETS)
        : form.data.targets;
    return cardModel('access-form', {
      ...form.data,
      targets,
      values: {
        ...(kept ? { targetId: kept.targetId } : {}),
        ...(values.duration ? { duration: values.duration } : {}),
        ...(values.reason ? { reason: values.reason } : {}),
      },
      errors,
    });
  }

  /**
   * Why a submitted target is refused before anything starts: none chosen, a scope Roster does not
   * know, or an agent the form would not offer this person (named by nobody: the form never showed it).
   */
  async targetRefusal(person: Person, targetId: string): Promise<string | undefined> {
    const at = targetId.indexOf(':');
    if (at < 1) return 'Choose an agent and a scope.';
    const scopeId = targetId.slice(at + 1);
    if (!scopeById(this.org, scopeId)) return `Roster knows no scope "${scopeId.slice(0, 80)}": choose one of the scopes offered.`;
    const picked = await this.services.bus.execute(person, { type: 'agents.pick', purpose: 'access', agentId: targetId.slice(0, at) });
    if (picked.agents.length === 0) return "Choose one of the agents offered: you can't request access for that one.";
    return undefined;
  }

  /** The pairs whose agent name or scope holds `query`, for the access form's search (at most 100). */
  async searchTargets(person: Person, query: string): Promise<Array<{ value: string; label: string; detail?: string }>> {
    const text = query.trim().toLowerCase();
    let agents = await this.offered(person, text);
    // A scope typed ("crm:read", "crm") matches no agent name: the person's agents, narrowed by scope.
    const byScope = agents.length === 0 && text.length > 0;
    if (byScope) agents = await this.offered(person, '');
    const targets = (await this.targetsOf(agents)).filter((t) => !byScope || t.targetId.slice(t.targetId.indexOf(':') + 1).includes(text));
    return targets.slice(0, STATIC_TARGETS).map((t) => ({ value: t.targetId, label: t.label, detail: t.detail }));
  }

  /** The agents the access form's picker offers the person whose name contains `query` (or whose id it is): `agents.pick`. */
  private async offered(person: Person, query: string): Promise<AgentRecord[]> {
    return (await this.services.bus.execute(person, { type: 'agents.pick', purpose: 'access', query })).agents;
  }

  private async agentsOf(targetIds: string[]): Promise<AgentRecord[]> {
    const ids = [...new Set(targetIds.map((t) => idOrUndefined('AgentId', t.slice(0, Math.max(0, t.indexOf(':'))))))].filter(
      (id): id is AgentId => id !== undefined,
    );
    return (await Promise.all(ids.map((id) => this.services.agents.get(id)))).filter((a): a is AgentRecord => a !== undefined);
  }

  /** Each agent's pairs: the scopes its role allows and it neither holds nor waits for. */
  private async targetsOf(agents: AgentRecord[]): Promise<AccessTarget[]> {
    if (agents.length === 0) return [];
    const held = new Set(
      (await this.services.grants.list({ agentIds: agents.map((a) => a.id), status: ['active', 'pending'] })).map(
        (g) => `${g.agentId}:${g.scope}`,
      ),
    );
    return agents.flatMap((agent) => {
      const role = roleById(this.org, agent.catalogRoleId);
      if (!role) return [];
      return grantableScopes(role)
        .filter((scopeId) => !held.has(`${agent.id}:${scopeId}`))
        .flatMap((scopeId) => {
          const scope = scopeById(this.org, scopeId);
          if (!scope) return [];
          const cap = accessCap(this.org, role, scope);
          return [
            {
              targetId: `${agent.id}:${scopeId}`,
              label: `${agent.name} · ${scopeId}`,
              detail: `${scope.risk} risk, up to ${cap.text}`,
            },
          ];
        });
    });
  }

  /** Field problems of a submitted access form that can be told before anything starts (Slack's 3-second ack). */
  static checkForm(values: {
    targetId?: string;
    duration?: string;
    reason?: string;
  }): Record<'target' | 'duration' | 'reason', string> | undefined {
    const errors: Partial<Record<'target' | 'duration' | 'reason', string>> = {};
    if (!values.targetId || !values.targetId.includes(':')) errors.target = 'Choose an agent and a scope.';
    if (values.duration && !DURATION.test(values.duration.trim())) errors.duration = 'Use a duration such as 8h, 30d or 2w.';
    if ((values.reason ?? '').trim().length < 3) errors.reason = 'Say why the agent needs this access (at least 3 characters).';
    return Object.keys(errors).length ? (errors as Record<'target' | 'duration' | 'reason', string>) : undefined;
  }

  /** Submits the access form: starts the request and returns what the requester sees. */
  async submitForm(person: Person, values: { targetId: string; duration?: string; reason: string }): Promise<CardModel> {
    const at = values.targetId.indexOf(':');
    const result = await this.services.bus.execute(person, {
      type: 'access.request',
      agentId: values.targetId.slice(0, at),
      scope: values.targetId.slice(at + 1),
      ...(values.duration?.trim() ? { duration: values.duration.trim() } : {}),
      reason: values.reason,
    });
    return this.requested(result);
  }

  /** Keep or Revoke on an access review card; returns the person's fresh review card. */
  async reviewClick(person: Person, answer: 'keep' | 'revoke', grantId: GrantId, cycle: string): Promise<CardModel> {
    await this.services.bus.execute(person, { type: 'access-review.answer', cycle, grantId, answer });
    const card = await this.services.reviews.card(cycle, person.email);
    return card ? checkedCard(card) : cardModel('notice', { level: 'info', title: 'Access review', text: 'Nothing left to review.' });
  }

  /** Profile extras: active grants labelled (break-glass ones marked) and the number of break-glass uses. */
  static profileGrants(grants: GrantRecord[]): { grants: { scope: string; expires: string }[]; breakGlassUses: number } {
    return {
      grants: grants
        .filter((g) => g.status === 'active')
        .map((g) => ({ scope: g.source === 'break-glass' ? `${g.scope} (break-glass)` : g.scope, expires: displayDate(g.expiresAt) })),
      breakGlassUses: grants.filter((g) => g.source === 'break-glass' && g.status !== 'denied').length,
    };
  }

  private requested(result: AccessRequestResult): CardModel {
    const { run, grant } = result;
    const waiting = run.waitingFor.map((e) => this.name(e));
    const agentName = String(run.context.agentName ?? grant.agentId);
    const closed = run.status !== 'waiting';
    return grantNotice(
      this.org,
      grant,
      { name: agentName },
      {
        level: closed ? (grant.status === 'active' ? 'success' : 'warning') : 'info',
        title: `Access requested: ${grant.scope} for ${agentName}, ${result.durationText}`,
        text: closed
          ? `The request ended: ${run.outcome ?? run.status}.`
          : `Waiting for approval from ${waiting.join(', ')}. The clock starts when it is approved.`,
        ...(result.capNote ? { capNote: result.capNote } : {}),
      },
    );
  }

  private async usage(person: Person, command: AccessChatCommand): Promise<CardModel> {
    const example =
      command.name === 'access'
        ? '`access <agent> <scope> [duration] [reason]`, e.g. `access Support Copilot crm:read 30d order lookups`'
        : '`break-glass <agent> <scope> <reason>`, e.g. `break-glass Support Copilot crm:read login outage`';
    let scopes = '';
    if (command.agent) {
      try {
        const { agent, scopes: grantable } = await this.services.bus.execute(person, { type: 'access.scopes', agent: command.agent });
        if (grantable) scopes = ` ${agent.name} may be granted: ${grantable.join(', ')}.`;
      } catch {
        scopes = '';
      }
    }
    const missing = !command.agent ? 'the agent' : !command.scope ? 'the scope' : 'a reason';
    return cardModel('notice', { level: 'warning', title: `Please name ${missing}`, text: `Use ${example}.${scopes}` });
  }

  private async view(grantId: GrantId, title: string, text: string): Promise<CardModel> {
    const grant = await this.services.grants.get(grantId);
    if (!grant) return cardModel('notice', { level: 'warning', title, text });
    const agent = await this.services.agents.get(grant.agentId);
    return grantNotice(
      this.org,
      grant,
      { name: agent?.name ?? grant.agentId },
      { level: 'info', title: `${agent?.name ?? grant.agentId}: ${grant.scope} — ${title}`, text },
    );
  }

  private name(email: string): string {
    return findPersonByEmail(this.org, email)?.name ?? email;
  }
}
