import type { OrgConfig, Person } from '../config/schemas.js';
import { hasRole } from '../config/directory.js';
import type { AgentRecord } from './agents.js';
import { isAlertResponder } from './alerts.js';

/** Roles that oversee every agent of the organisation. */
const OVERSIGHT_ROLES = ['it-admin', 'security', 'compliance', 'dpo'] as const;

/** Whether the person oversees every agent (IT admins, security, compliance, the DPO). */
export function hasOversight(person: Person): boolean {
  return OVERSIGHT_ROLES.some((role) => hasRole(person, role));
}

/**
 * Who may see an agent at all (its name, status, sponsors, access): its sponsors and the people
 * named as sponsors who have not answered yet, its requester, the people of its business unit and
 * their approvers, the oversight roles and the alert responders. Everyone else is told the agent
 * does not exist, exactly as for an unknown id, so an id or a name reveals nothing. One rule for
 * `show`, `access`, forms, prompts and cards.
 */
export function maySeeAgent(
  org: OrgConfig,
  person: Person,
  agent: Pick<AgentRecord, 'sponsors' | 'requestedBy' | 'businessUnit' | 'proposedSponsors'>,
): boolean {
  return (
    agent.sponsors.includes(person.email) ||
    (agent.proposedSponsors ?? []).some((p) => p.email === person.email) ||
    agent.requestedBy === person.email ||
    person.businessUnit === agent.businessUnit ||
    hasRole(person, `approver:${agent.businessUnit}`) ||
    hasOversight(person) ||
    isAlertResponder(org, person)
  );
}

/**
 * Whether the person may request agents for a business unit: their own, or one their directory
 * roles name with `requester:<business-unit>` (so nobody picks which unit's approver decides).
 */
export function mayRequestFor(person: Person, businessUnit: string): boolean {
  return person.businessUnit === businessUnit || hasRole(person, `requester:${businessUnit}`);
}

/** The business units a person may request agents for, their own first. */
export function requestableUnits(org: OrgConfig, person: Person): string[] {
  return [
    person.businessUnit,
    ...org.businessUnits.map((b) => b.id).filter((id) => id !== person.businessUnit && mayRequestFor(person, id)),
  ];
}
