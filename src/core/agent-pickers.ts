import type { OrgConfig, Person } from '../config/schemas.js';
import type { AgentRecord } from './agents.js';
import type { AgentSearchFilter, AgentSearchPage } from './agent-search.js';
import type { AgentStatus } from './lifecycle.js';
import {
  mayAddKnowledgeNote,
  mayAskReactivation,
  mayManageAccess,
  mayManageEvaluation,
  mayManageRetraining,
  mayProposeVersion,
  maySeeAgent,
} from './policies.js';

/*
 * Agent pickers: the agents a form offers are exactly those its person may act on with it, by the
 * same rule the action itself checks (policies.ts). A picker lists them when they fit a static
 * list (Slack's static select holds 100 options) and otherwise answers a search as the person
 * types (Slack's external select, Teams' Data.Query). A picked agent is client data: the action
 * checks it again when the form is submitted.
 */

/** What a form picks an agent for; each names the rule of that form's action. */
export const PICK_PURPOSES = ['note', 'version', 'retrain', 'reactivate', 'evaluate', 'access'] as const;
export type PickPurpose = (typeof PICK_PURPOSES)[number];

/** The most agents a form lists; beyond this it asks the person to type part of a name. */
export const PICKER_STATIC_MAX = 100;

/** The most agents one search answers (Slack shows 100 options, Teams 15). */
export const PICKER_SEARCH_MAX = 50;

/** What a picker rule reads of an agent: its ties to people, its unit and its status. */
type Candidate = Pick<AgentRecord, 'sponsors' | 'proposedSponsors' | 'requestedBy' | 'businessUnit' | 'status'>;

interface PickRule {
  /** Statuses the action applies to. */
  statuses: readonly AgentStatus[];
  /** The action's rule (policies.ts), asked of every agent offered or picked. */
  may(org: OrgConfig, person: Person, agent: Candidate): boolean;
}

const WORKING: readonly AgentStatus[] = ['active', 'probation'];

const RULES: Record<PickPurpose, PickRule> = {
  note: {
    statuses: ['requested', 'active', 'probation', 'suspended', 'retiring'],
    may: (org, person, agent) => mayAddKnowledgeNote(org, person, agent),
  },
  version: { statuses: WORKING, may: (_org, p, a) => mayProposeVersion(p, a) },
  retrain: { statuses: WORKING, may: (_org, p, a) => mayManageRetraining(p, a) },
  reactivate: { statuses: ['suspended'], may: (org, p, a) => maySeeAgent(org, p, a) && mayAskReactivation(p, a) },
  evaluate: { statuses: ['requested', 'active', 'probation'], may: (_org, p, a) => mayManageEvaluation(p, a) },
  access: { statuses: WORKING, may: (_org, p, a) => mayManageAccess(p, a) },
};

/**
 * Whether a rule lets the person act on an agent that is not theirs in any way (they neither
 * sponsor nor requested it, and it belongs to no unit): asked of the rule itself, so that the
 * database narrowing never leaves out an agent policies.ts allows. When it does not, the database is
 * asked only for the person's own agents (sponsored, proposed for, requested); a rule that grants
 * by business unit would need those units asked for too.
 */
function mayActOnStrangers(org: OrgConfig, person: Person, rule: PickRule): boolean {
  const stranger: Candidate = { sponsors: [], proposedSponsors: [], requestedBy: '', businessUnit: '', status: rule.statuses[0]! };
  return rule.may(org, person, stranger);
}

/** What else narrows a picker: catalog roles (e.g. those Roster can evaluate), and a check per agent. */
export interface PickOptions {
  roleIds?: readonly string[];
  /** A further condition the action has (e.g. a retraining is due); asked of each candidate. */
  keep?: (agent: AgentRecord) => Promise<boolean>;
}

/** The agents a form offers: all of them, or `search` when there are more than a list holds. */
export interface PickedAgents {
  agents: AgentRecord[];
  /** True when the person has more agents than {@link PICKER_STATIC_MAX}: the form searches instead. */
  search: boolean;
}

/** How a picker shows an agent: its name, and its status when it is not simply at work. */
export function agentChoiceLabel(agent: Pick<AgentRecord, 'name' | 'status'>): string {
  return agent.status === 'active' ? agent.name : `${agent.name} (${agent.status})`;
}

/** The database pages a picker reads while some candidates fail `keep` (bounds the work of one list). */
const MAX_PAGES = 10;
const PAGE = 200;

/** Lists and searches the agents a person may act on with a form; see {@link PickPurpose}. */
export class AgentPicker {
  constructor(
    private readonly org: OrgConfig,
    private readonly agents: { search(filter: AgentSearchFilter, page: { skip: number; limit: number }): Promise<AgentSearchPage> },
    private readonly staticMax = PICKER_STATIC_MAX,
  ) {}

  /** Whether the person may act on this agent with the form (its status included). */
  may(person: Person, purpose: PickPurpose, agent: AgentRecord): boolean {
    const rule = RULES[purpose];
    return rule.statuses.includes(agent.status) && rule.may(this.org, person, agent);
  }

  /**
   * Whether the form offers this agent to the person: its rule, and what else narrows the form.
   * The list and a submitted pick both ask this, so a tampered pick is refused by the same rule.
   */
  async offers(person: Person, purpose: PickPurpose, agent: AgentRecord, options: PickOptions = {}): Promise<boolean> {
    if (!this.may(person, purpose, agent)) return false;
    if (options.roleIds && !options.roleIds.includes(agent.catalogRoleId)) return false;
    return !options.keep || options.keep(agent);
  }

  /** The agents to list, in name order; `search` when there are too many for a list. */
  async choices(person: Person, purpose: PickPurpose, options: PickOptions = {}): Promise<PickedAgents> {
    const found = await this.collect(person, purpose, options, undefined, this.staticMax + 1);
    return found.length > this.staticMax ? { agents: [], search: true } : { agents: found, search: false };
  }

  /** The agents whose name contains `query` (or whose id it is), at most `limit`, in name order. */
  async search(
    person: Person,
    purpose: PickPurpose,
    query: string,
    options: PickOptions = {},
    limit = PICKER_SEARCH_MAX,
  ): Promise<AgentRecord[]> {
    const text = query.trim().slice(0, 100);
    return this.collect(person, purpose, options, text || undefined, Math.min(Math.max(limit, 1), PICKER_STATIC_MAX));
  }

  private filter(person: Person, purpose: PickPurpose, options: PickOptions, text?: string): AgentSearchFilter {
    const rule = RULES[purpose];
    const filter: AgentSearchFilter = { statuses: [...rule.statuses] };
    if (!mayActOnStrangers(this.org, person, rule)) filter.visibleTo = { email: person.email, businessUnits: [] };
    if (options.roleIds) filter.roleIds = [...options.roleIds];
    if (text && /^agt_[\w-]{1,100}$/.test(text)) filter.idsIn = [[text]];
    else if (text) filter.nameContains = text;
    return filter;
  }

  private async collect(
    person: Person,
    purpose: PickPurpose,
    options: PickOptions,
    text: string | undefined,
    want: number,
  ): Promise<AgentRecord[]> {
    if (options.roleIds && options.roleIds.length === 0) return [];
    const filter = this.filter(person, purpose, options, text);
    const out: AgentRecord[] = [];
    for (let page = 0; page < MAX_PAGES && out.length < want; page++) {
      const { agents } = await this.agents.search(filter, { skip: page * PAGE, limit: PAGE });
      for (const agent of agents) {
        if (out.length >= want) break;
        if (await this.offers(person, purpose, agent, options)) out.push(agent);
      }
      if (agents.length < PAGE) break;
    }
    return out;
  }
}
