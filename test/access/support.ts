import type { AccessSettings } from '../../src/core/access.js';
import type { AgentRecord } from '../../src/core/agents.js';
import type { OrgConfig } from '../../src/config/schemas.js';
import { agentRecord, errorOf, FAST_FLOWS, startHarness, type Harness } from '../helpers/harness.js';
import { asAgentId, asRunId } from '../helpers/ids.js';

/** Like startHarness, with the fast flows and grant reminder timing injected. */
export function startAccessHarness(access: Partial<AccessSettings> = {}, org?: (org: OrgConfig) => OrgConfig): Promise<Harness> {
  return startHarness({ flows: FAST_FLOWS, access, ...(org ? { org } : {}) });
}

/** The shipped configuration with these scopes explicitly break-glass-eligible (personal-data scopes are not by default). */
export function breakGlassAllowed(...scopeIds: string[]): (org: OrgConfig) => OrgConfig {
  return (org) => ({ ...org, scopes: org.scopes.map((s) => (scopeIds.includes(s.id) ? { ...s, breakGlass: true } : s)) });
}

/** An active agent stored directly (its onboarding is the agent-request flow's business, tested elsewhere). */
export async function activeAgent(h: Harness, overrides: Partial<AgentRecord> = {}): Promise<AgentRecord> {
  const agent = agentRecord({ requestRunId: asRunId('run_none'), ...overrides });
  await h.services.agents.insert(agent);
  return agent;
}

/** Engineering's Handbook Helper (kb-answerer), sponsored by Liam (an IT admin): the agent of the Slack access journeys. */
export function handbookHelper(overrides: Partial<AgentRecord> = {}): AgentRecord {
  return agentRecord({
    id: asAgentId('agt_0123456789abcdef'),
    name: 'Handbook Helper',
    catalogRoleId: 'kb-answerer',
    sponsors: ['liam.oneill@brightwater.example'],
    businessUnit: 'engineering',
    purpose: 'Answers engineering how-to questions.',
    ...overrides,
  });
}

export { errorOf };
