import type { OrgConfig } from '../../config/schemas.js';
import { parseFindQuery, type AgentSearch, type FindQuery, type FindResult } from '../../core/agent-search.js';
import type { CommandHandler } from '../handler.js';

/** What `find` needs: the directory's catalog and units (to read the filters) and the search. */
export interface FindAgentsDeps {
  org: OrgConfig;
  search: Pick<AgentSearch, 'find'>;
}

/**
 * A page of `find`. Anyone may search: the search itself keeps to the agents the person may see
 * (policies.ts agentVisibility in the query, maySeeAgent on each one found) and records the read.
 * A filter that cannot be read is refused when the words are read, naming the filter.
 */
export function findAgentsHandler(deps: FindAgentsDeps): CommandHandler<'agents.find', FindQuery, FindResult> {
  return {
    load: async (_actor, { query, page }) => ({ ...parseFindQuery(deps.org, query), ...(page ? { page } : {}) }),
    authorise: () => undefined,
    handle: (actor, _command, query) => deps.search.find(actor.email, query),
  };
}
