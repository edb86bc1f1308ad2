import { z } from 'zod';
import type { OrgConfig, Person } from '../config/schemas.js';
import { closestMatch } from '../config/did-you-mean.js';
import { businessUnitById, findPersonByEmail, findPersonBySlackId, roleById, scopeById } from '../config/directory.js';
import type { AgentRecord } from './agents.js';
import type { ReadLog } from './audit.js';
import { InvalidInputError, UnknownPersonError } from './errors.js';
import { AGENT_STATUSES, type AgentStatus } from './lifecycle.js';
import { agentVisibility, maySeeAgent } from './policies.js';

/** How many agents one page of `find` shows. */
export const FIND_PAGE_SIZE = 10;

/** The highest page anyone may ask for (a bound on the database's skip). */
const MAX_PAGE = 1000;

const RISKS = ['low', 'medium', 'high'] as const;
const CHECKIN_RESULTS = ['healthy', 'watch', 'degraded', 'none'] as const;
type CostOp = '>' | '>=' | '<' | '<=';

/** The last check-in verdict a search may ask for; `none` is an agent never checked in. */
export type CheckInResultFilter = (typeof CHECKIN_RESULTS)[number];

/** A parsed `find`: every filter optional, values resolved to ids (catalog role ids, a person's e-mail). */
export interface FindQuery {
  status?: AgentStatus[];
  role?: string;
  bu?: string;
  sponsor?: string;
  scope?: string;
  data?: string;
  risk?: (typeof RISKS)[number];
  checkin?: CheckInResultFilter;
  /** USD spent over the last {@link COST_WINDOW_DAYS} days, compared with `op`. */
  cost?: { op: CostOp; usd: number };
  /** Words without a filter name: part of the agent's name. */
  text?: string;
  /** 1-based. */
  page: number;
}

/** The days the `cost` filter adds up. */
export const COST_WINDOW_DAYS = 30;

/** Filter names people type, and the aliases each accepts. */
const FILTER_NAMES: Record<string, keyof Omit<FindQuery, 'text'>> = {
  status: 'status',
  role: 'role',
  bu: 'bu',
  unit: 'bu',
  'business-unit': 'bu',
  sponsor: 'sponsor',
  scope: 'scope',
  data: 'data',
  'data-class': 'data',
  risk: 'risk',
  checkin: 'checkin',
  'check-in': 'checkin',
  cost: 'cost',
  page: 'page',
};

/** What each filter accepts, as the error and help say it. */
export const FIND_FILTER_HELP: Record<keyof Omit<FindQuery, 'text'>, string> = {
  status: `status:<${AGENT_STATUSES.join('|')}> (several with commas)`,
  role: 'role:<catalog role id or "Title">',
  bu: 'bu:<business unit id or "Name">',
  sponsor: 'sponsor:<e-mail, @name or Slack mention>',
  scope: 'scope:<scope id, e.g. crm:write> (agents holding that access now)',
  data: 'data:<pii|financial|health|public|internal>',
  risk: 'risk:<low|medium|high>',
  checkin: `checkin:<${CHECKIN_RESULTS.join('|')}> (the last check-in's verdict)`,
  cost: `cost>N, cost<N, cost>=N or cost<=N (USD spent over the last ${COST_WINDOW_DAYS} days)`,
  page: 'page:<number>',
};

/** One typed filter: `name:value`, `name:"two words"`, `cost>100`, or a bare word. */
const TOKEN = /([a-z][\w-]*)(>=|<=|:|=|>|<)(?:"([^"]*)"|“([^”]*)”|(\S*))|"([^"]*)"|“([^”]*)”|(\S+)/giu;

function refuse(filter: string, message: string): never {
  throw new InvalidInputError(`Filter \`${filter}\`: ${message}`, { [filter]: message });
}

/**
 * The nearest of `choices` to what a person typed (case and separators aside), when it is close
 * enough to be a typo. More forgiving than for config keys: one edit for words of up to three
 * letters, then two or a third of the word (a swapped pair, `rsik`, is two to Levenshtein).
 */
export function didYouMean(typed: string, choices: readonly string[]): string | undefined {
  if (!typed) return undefined;
  return closestMatch(typed, choices, (length) => (length <= 3 ? 1 : Math.max(2, Math.floor(length / 3))));
}

const oneOf = <T extends string>(filter: string, values: readonly T[]) =>
  z.string().transform((raw, ctx): T => {
    const v = raw.toLowerCase();
    if ((values as readonly string[]).includes(v)) return v as T;
    const near = didYouMean(v, values);
    ctx.addIssue({
      code: 'custom',
      message: `"${raw.slice(0, 60)}" is not one of ${values.join(', ')}.${near ? ` Did you mean \`${filter}:${near}\`?` : ''}`,
    });
    return z.NEVER;
  });

/**
 * The values the chosen filters accept (statuses, risks, check-in verdicts, the organisation's
 * data classes), for the parser and for every find form (Slack, Teams, the dashboard).
 */
export function findChoices(org: OrgConfig) {
  return {
    statuses: AGENT_STATUSES,
    risks: RISKS,
    checkins: CHECKIN_RESULTS,
    dataClasses: [...new Set([...org.scopes.flatMap((s) => s.dataClasses), ...org.catalog.flatMap((r) => r.dataClasses)])].sort(),
  };
}

/** The schemas of the filter values; those naming config things resolve against the organisation. */
function valueSchemas(org: OrgConfig) {
  const roleOf = z.string().transform((raw, ctx) => {
    const byId = roleById(org, raw.toLowerCase());
    const byTitle = org.catalog.find((r) => r.title.toLowerCase() === raw.toLowerCase());
    const role = byId ?? byTitle;
    if (role) return role.id;
    const near = didYouMean(raw, [...org.catalog.map((r) => r.id), ...org.catalog.map((r) => r.title)]);
    ctx.addIssue({
      code: 'custom',
      message: `there is no catalog role "${raw.slice(0, 60)}".${near ? ` Did you mean "${near}"?` : ' Type `catalog` to see the roles.'}`,
    });
    return z.NEVER;
  });
  const buOf = z.string().transform((raw, ctx) => {
    const unit = businessUnitById(org, raw.toLowerCase()) ?? org.businessUnits.find((b) => b.name.toLowerCase() === raw.toLowerCase());
    if (unit) return unit.id;
    const near = didYouMean(
      raw,
      org.businessUnits.map((b) => b.id),
    );
    ctx.addIssue({
      code: 'custom',
      message: `there is no business unit "${raw.slice(0, 60)}"; the units are ${org.businessUnits.map((b) => b.id).join(', ')}.${near ? ` Did you mean \`bu:${near}\`?` : ''}`,
    });
    return z.NEVER;
  });
  const sponsorOf = z.string().transform((raw, ctx) => {
    const person = personNamed(org, raw);
    if (person) return person.email;
    ctx.addIssue({ code: 'custom', message: `nobody in the directory is "${raw.slice(0, 60)}". Use their e-mail.` });
    return z.NEVER;
  });
  const scopeOf = z.string().transform((raw, ctx) => {
    const scope = scopeById(org, raw.toLowerCase());
    if (scope) return scope.id;
    const near = didYouMean(
      raw,
      org.scopes.map((s) => s.id),
    );
    ctx.addIssue({
      code: 'custom',
      message: `there is no scope "${raw.slice(0, 60)}".${near ? ` Did you mean \`scope:${near}\`?` : ' Scopes look like crm:read.'}`,
    });
    return z.NEVER;
  });
  const { dataClasses } = findChoices(org);
  return {
    status: z.string().transform((raw, ctx): AgentStatus[] => {
      const out: AgentStatus[] = [];
      for (const part of raw.split(',').filter(Boolean)) {
        const parsed = oneOf('status', AGENT_STATUSES).safeParse(part);
        if (!parsed.success) {
          ctx.addIssue({ code: 'custom', message: parsed.error.issues[0]?.message ?? 'unknown status' });
          return z.NEVER;
        }
        out.push(parsed.data);
      }
      if (out.length === 0) ctx.addIssue({ code: 'custom', message: `name a status: ${AGENT_STATUSES.join(', ')}.` });
      return out;
    }),
    role: roleOf,
    bu: buOf,
    sponsor: sponsorOf,
    scope: scopeOf,
    data: oneOf('data', dataClasses.length ? dataClasses : ['pii', 'financial', 'health', 'public', 'internal']),
    risk: oneOf('risk', RISKS),
    checkin: oneOf('checkin', CHECKIN_RESULTS),
    cost: z.coerce
      .number({ error: 'is an amount in USD, e.g. cost>100.' })
      .finite({ error: 'is an amount in USD, e.g. cost>100.' })
      .min(0, { error: 'cannot be negative.' })
      .max(1e9, { error: 'is too large.' }),
    page: z.coerce
      .number({ error: 'is a page number, e.g. page:2.' })
      .int({ error: 'is a whole page number, e.g. page:2.' })
      .min(1, { error: 'starts at 1.' })
      .max(MAX_PAGE, { error: `goes up to ${MAX_PAGE}.` }),
  };
}

/** A person by e-mail, Slack mention (`<@U123>` or `<@U123|grace>`), or `@first-name` / `first.last` / full name when only one person matches. */
function personNamed(org: OrgConfig, raw: string): Person | undefined {
  const mention = /^<@([A-Z0-9]+)(?:\|[^>]*)?>$/i.exec(raw);
  if (mention) return findPersonBySlackId(org, mention[1]!);
  const word = raw.replace(/^@/, '').toLowerCase();
  if (word.includes('@')) return findPersonByEmail(org, word);
  const matches = org.people.filter((p) => {
    const name = p.name.toLowerCase();
    const local = p.email.split('@')[0]!.toLowerCase();
    return name === word || local === word || name.split(' ')[0] === word || local.split('.')[0] === word;
  });
  return matches.length === 1 ? matches[0] : undefined;
}

/**
 * Parses what follows `find`: `status:active role:"Refund Triage" bu:finance sponsor:@grace
 * scope:crm:write data:pii risk:high checkin:degraded cost>100 page:2`. Every value is checked
 * with zod against the organisation; a bad one is refused with an error naming the filter and
 * what it accepts.
 */
export function parseFindQuery(org: OrgConfig, raw: string): FindQuery {
  const schemas = valueSchemas(org);
  const query: FindQuery = { page: 1 };
  const words: string[] = [];
  for (const m of String(raw ?? '')
    .slice(0, 500)
    .matchAll(TOKEN)) {
    const [, key, op, q1, q2, bare, w1, w2, w3] = m;
    if (!key) {
      const word = (w1 ?? w2 ?? w3 ?? '').trim();
      if (word) words.push(word);
      continue;
    }
    const name = FILTER_NAMES[key.toLowerCase()];
    const value = (q1 ?? q2 ?? bare ?? '').trim();
    if (!name) {
      // `refund-bot:x` is not a filter anyone meant when the name itself has a colon: only a near miss is refused.
      const near = didYouMean(key, Object.keys(FILTER_NAMES));
      if (!near && op === ':' && !/^[a-z-]+$/i.test(key)) {
        words.push(m[0]);
        continue;
      }
      throw new InvalidInputError(
        `\`${key.slice(0, 40)}\` is not a filter.${near ? ` Did you mean \`${near}\`?` : ''} Filters: ${Object.values(FIND_FILTER_HELP).join('; ')}.`,
        { [key]: 'unknown filter' },
      );
    }
    if (name === 'cost') {
      if (op === ':' || op === '=') refuse('cost', `say cost>${value || 'N'} or cost<${value || 'N'} (USD over ${COST_WINDOW_DAYS} days).`);
      const parsed = schemas.cost.safeParse(value);
      if (!parsed.success) refuse('cost', `${parsed.error.issues[0]?.message ?? 'is an amount in USD'} ${FIND_FILTER_HELP.cost}.`);
      query.cost = { op: op as CostOp, usd: parsed.data };
      continue;
    }
    if (op !== ':' && op !== '=') refuse(name, `write it as ${FIND_FILTER_HELP[name]}.`);
    if (!value) refuse(name, `give a value: ${FIND_FILTER_HELP[name]}.`);
    const parsed = schemas[name].safeParse(value);
    if (!parsed.success) refuse(name, `${parsed.error.issues[0]?.message ?? 'not valid.'} Accepted: ${FIND_FILTER_HELP[name]}.`);
    (query as unknown as Record<string, unknown>)[name] = parsed.data;
  }
  const text = words.join(' ').trim();
  if (text) query.text = text.slice(0, 100);
  return query;
}

/** Values of the find form, as both platforms read them (filter name → value; empty is no filter). */
export type FindFormValues = Partial<Record<'status' | 'role' | 'bu' | 'sponsor' | 'scope' | 'data' | 'risk' | 'checkin' | 'cost', string>>;

/** The find form's values as the words of `find` (cost as typed: `>100`, `<20`, or a bare amount meaning at least). */
export function findFormWords(values: FindFormValues): string {
  const quote = (v: string) => `"${v.replace(/["“”]/g, '').trim()}"`;
  const words: string[] = [];
  for (const key of ['status', 'role', 'bu', 'sponsor', 'scope', 'data', 'risk', 'checkin'] as const) {
    const v = values[key]?.trim();
    if (v) words.push(`${key}:${quote(v)}`);
  }
  const cost = values.cost?.replace(/\s+/g, '').replace(/^\$/, '');
  if (cost) words.push(/^[<>]/.test(cost) ? `cost${cost.replace(/\$/g, '')}` : `cost>=${cost}`);
  return words.join(' ');
}

/** The query as words that parse back to it (button values and the card's subtitle). */
export function formatFindQuery(query: Omit<FindQuery, 'page'>): string {
  // Quoted when it would not read back as the same words: spaces, or a `name:value` / `cost>N` look.
  const quote = (v: string) => (/[\s:<>="“”]/.test(v) ? `"${v.replace(/["“”]/g, '')}"` : v);
  return [
    query.status?.length ? `status:${query.status.join(',')}` : '',
    query.role ? `role:${query.role}` : '',
    query.bu ? `bu:${query.bu}` : '',
    query.sponsor ? `sponsor:${query.sponsor}` : '',
    query.scope ? `scope:${query.scope}` : '',
    query.data ? `data:${query.data}` : '',
    query.risk ? `risk:${query.risk}` : '',
    query.checkin ? `checkin:${query.checkin}` : '',
    query.cost ? `cost${query.cost.op}${query.cost.usd}` : '',
    query.text ? quote(query.text) : '',
  ]
    .filter(Boolean)
    .join(' ');
}

/** What the repository is asked: every filter in the database query. */
export interface AgentSearchFilter {
  /** Undefined: the person sees every agent. */
  visibleTo?: { email: string; businessUnits: string[] };
  statuses?: string[];
  roleIds?: string[];
  businessUnit?: string;
  sponsor?: string;
  /** Only these agents (each list is one more constraint). */
  idsIn?: string[][];
  idsNotIn?: string[];
  nameContains?: string;
}

/** One page of agents in a stable order (name, then id), and how many match in all. */
export interface AgentSearchPage {
  agents: AgentRecord[];
  total: number;
}

export interface AgentSearchDeps {
  org: OrgConfig;
  search(filter: AgentSearchFilter, page: { skip: number; limit: number }): Promise<AgentSearchPage>;
  /** Agents holding an active grant of the scope. */
  holdersOf(scope: string): Promise<string[]>;
  /** Agents whose latest check-in has this verdict; `any`: every agent checked in at least once. */
  lastCheckIn(verdict: 'healthy' | 'watch' | 'degraded' | 'any'): Promise<string[]>;
  /** Agents that spent more than (or at least, with `inclusive`) `usd` since `since`. */
  spentOver(usd: number, inclusive: boolean, since: Date): Promise<string[]>;
  reads?: ReadLog;
  clock?: () => Date;
}

/** A page of results, ready to show. */
export interface FindResult extends AgentSearchPage {
  query: FindQuery;
  page: number;
  pageCount: number;
}

/**
 * `find`: agents by status, role, business unit, sponsor, scope, data class, risk, last check-in
 * and cost, a page at a time, among the agents the person may see (the rule of `show`, as a
 * database filter). Scope, check-in and cost narrow to agent ids with one indexed read each.
 */
export class AgentSearch {
  constructor(private readonly deps: AgentSearchDeps) {}

  async find(actorEmail: string, query: FindQuery): Promise<FindResult> {
    const { org } = this.deps;
    const actor = findPersonByEmail(org, String(actorEmail));
    if (!actor) throw new UnknownPersonError(String(actorEmail));
    const visibility = agentVisibility(org, actor);
    const filter: AgentSearchFilter = {
      ...(visibility === 'all' ? {} : { visibleTo: visibility }),
      ...(query.status?.length ? { statuses: query.status } : {}),
      ...(query.bu ? { businessUnit: query.bu } : {}),
      ...(query.sponsor ? { sponsor: query.sponsor } : {}),
      ...(query.text ? { nameContains: query.text } : {}),
    };
    if (query.role || query.risk || query.data) {
      filter.roleIds = org.catalog
        .filter(
          (r) =>
            (!query.role || r.id === query.role) &&
            (!query.risk || r.riskTier === query.risk) &&
            (!query.data || (r.dataClasses as string[]).includes(query.data)),
        )
        .map((r) => r.id);
    }
    const idsIn: string[][] = [];
    const idsNotIn: string[] = [];
    const now = (this.deps.clock ?? (() => new Date()))();
    await Promise.all([
      query.scope ? this.deps.holdersOf(query.scope).then((ids) => idsIn.push(ids)) : undefined,
      query.checkin === 'none'
        ? this.deps.lastCheckIn('any').then((ids) => idsNotIn.push(...ids))
        : query.checkin
          ? this.deps.lastCheckIn(query.checkin).then((ids) => idsIn.push(ids))
          : undefined,
      query.cost ? this.costIds(query.cost, now, idsIn, idsNotIn) : undefined,
    ]);
    if (idsIn.length) filter.idsIn = idsIn;
    if (idsNotIn.length) filter.idsNotIn = [...new Set(idsNotIn)];
    const page = Math.min(Math.max(1, Math.floor(query.page)), MAX_PAGE);
    const found = await this.deps.search(filter, { skip: (page - 1) * FIND_PAGE_SIZE, limit: FIND_PAGE_SIZE });
    // The database applied the rule; checking each agent again keeps one rule even if a filter drifts.
    const agents = found.agents.filter((a) => maySeeAgent(org, actor, a));
    const pageCount = Math.max(1, Math.ceil(found.total / FIND_PAGE_SIZE));
    if (this.deps.reads) {
      await this.deps.reads.record({
        actor: { kind: 'person', email: actor.email },
        action: 'agents.found',
        subject: { type: 'query', id: formatFindQuery(query).slice(0, 200) || 'all' },
        details: { count: found.total, page },
      });
    }
    return { query: { ...query, page }, agents, total: found.total, page, pageCount };
  }

  /**
   * The name of an agent the person may see that `typed` is a near miss of (a typo), for "did
   * you mean"; never one they may not see. Looks at the first few hundred live agents by name.
   */
  async nearestName(actorEmail: string, typed: string): Promise<string | undefined> {
    const actor = findPersonByEmail(this.deps.org, String(actorEmail));
    if (!actor || !typed.trim() || typed.startsWith('agt_')) return undefined;
    const visibility = agentVisibility(this.deps.org, actor);
    const { agents } = await this.deps.search(
      {
        ...(visibility === 'all' ? {} : { visibleTo: visibility }),
        statuses: AGENT_STATUSES.filter((s) => s !== 'retired' && s !== 'rejected'),
      },
      { skip: 0, limit: 500 },
    );
    const names = [...new Set(agents.filter((a) => maySeeAgent(this.deps.org, actor, a)).map((a) => a.name))];
    const near = didYouMean(typed.trim(), names);
    return near && near.toLowerCase() !== typed.trim().toLowerCase() ? near : undefined;
  }

  /** `cost>N` keeps the agents over N; `cost<N` drops them (an agent with no telemetry spent nothing). */
  private async costIds(cost: NonNullable<FindQuery['cost']>, now: Date, idsIn: string[][], idsNotIn: string[]): Promise<void> {
    const since = new Date(now.getTime() - COST_WINDOW_DAYS * 86_400_000);
    if (cost.op === '>' || cost.op === '>=') idsIn.push(await this.deps.spentOver(cost.usd, cost.op === '>=', since));
    else idsNotIn.push(...(await this.deps.spentOver(cost.usd, cost.op === '<', since)));
  }
}
