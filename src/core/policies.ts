/**
 * Every "who may" rule of Roster, one pure predicate each, with an `assert…` twin where a service
 * refuses with a coded error. Services, cards and chat ask these and never spell a rule out
 * themselves, so a button is offered exactly when its click is accepted.
 *
 * This module imports types and the coded errors only (the lint boundary test proves it): a rule
 * reads the person and the record it is asked about, never the directory, a store or a clock.
 */
import type { OrgConfig, Person } from '../config/schemas.js';
import type { AgentRecord, GrantRecord, ProposedSponsor } from './agents.js';
import type { AlertRecord } from './alerts.js';
import { AgentRefusal, ForbiddenError, InvalidInputError, NotFoundError, SeparationOfDutiesError } from './errors.js';
import type { AgentId } from './ids.js';

type Sponsored = Pick<AgentRecord, 'sponsors'>;
type Named = Pick<AgentRecord, 'name'>;
/** What {@link maySeeAgent} reads of an agent. */
type Visible = Pick<AgentRecord, 'sponsors' | 'requestedBy' | 'businessUnit' | 'proposedSponsors'>;

/** `hasRole` of the directory without the implicit `requester`, which no rule here asks for. */
function holds(person: Pick<Person, 'roles'>, role: string): boolean {
  return person.roles.includes(role);
}

const isSponsor = (person: Person, agent: Sponsored): boolean => agent.sponsors.includes(person.email);

/** Roles that oversee every agent of the organisation. */
const OVERSIGHT_ROLES = ['it-admin', 'security', 'compliance', 'dpo'] as const;

/** Roles that read any agent's decisions and evaluations. */
const READER_ROLES = ['it-admin', 'security', 'compliance'] as const;

/** Roles that read the fleet view and the dashboard. */
const DASHBOARD_ROLES = ['it-admin', 'compliance', 'dpo'] as const;

/** The statuses in which an agent gets new versions: it works. */
const WORKING: readonly string[] = ['active', 'probation'];

// ── Roles ───────────────────────────────────────────────────────────────────────────────────────

/** Whether the person is an IT admin. */
export function isItAdmin(person: Person): boolean {
  return holds(person, 'it-admin');
}

/** Whether the person oversees every agent (IT admins, security, compliance, the DPO). */
export function hasOversight(person: Person): boolean {
  return OVERSIGHT_ROLES.some((role) => holds(person, role));
}

/**
 * Alert responders: anyone on the organisation's alert rotation or on the rotation the alert
 * pages (a catalog role's escalation policy may name its own), IT admins and security. One rule
 * for the service, the cards and the chat.
 */
export function isAlertResponder(org: OrgConfig, person: Pick<Person, 'roles'>, rotation?: string): boolean {
  const rotations = new Set([org.settings.alertRotation, rotation ?? org.settings.alertRotation]);
  return [...[...rotations].map((r) => `oncall:${r}`), 'it-admin', 'security'].some((role) => holds(person, role));
}

// ── Seeing agents ───────────────────────────────────────────────────────────────────────────────

/**
 * Who may see an agent at all (its name, status, sponsors, access): its sponsors and the people
 * named as sponsors who have not answered yet, its requester, the people of its business unit and
 * their approvers, the oversight roles and the alert responders. Everyone else is told the agent
 * does not exist, exactly as for an unknown id, so an id or a name reveals nothing. One rule for
 * `show`, `access`, forms, prompts and cards.
 */
export function maySeeAgent(org: OrgConfig, person: Person, agent: Visible): boolean {
  return (
    isSponsor(person, agent) ||
    (agent.proposedSponsors ?? []).some((p) => p.email === person.email) ||
    agent.requestedBy === person.email ||
    person.businessUnit === agent.businessUnit ||
    holds(person, `approver:${agent.businessUnit}`) ||
    hasOversight(person) ||
    isAlertResponder(org, person)
  );
}

/** Refuses an agent to who may not see it, as "not found", exactly like an id that does not exist. */
export function assertMaySeeAgent(org: OrgConfig, person: Person, agent: Visible & Pick<AgentRecord, 'id'>): void {
  if (!maySeeAgent(org, person, agent)) throw new NotFoundError('the agent', agent.id);
}

/** Whether the person may list every agent of the organisation (`list all`): the oversight roles. */
export function mayListAllAgents(person: Person): boolean {
  return hasOversight(person);
}

/** Refuses `list all` to anyone without oversight. */
export function assertMayListAllAgents(person: Person): void {
  if (!mayListAllAgents(person))
    throw new ForbiddenError('Only IT admins, security, compliance and the DPO can list every agent. Try `list mine`.');
}

/** Whether the person may list a business unit's agents: its people, its approvers and the oversight roles. */
export function mayListBusinessUnit(person: Person, businessUnit: string): boolean {
  return person.businessUnit === businessUnit || holds(person, `approver:${businessUnit}`) || hasOversight(person);
}

/** Refuses the listing of another business unit. */
export function assertMayListBusinessUnit(person: Person, businessUnit: string): void {
  if (!mayListBusinessUnit(person, businessUnit))
    throw new ForbiddenError(`You can list the agents of your own business unit (${person.businessUnit}), not ${businessUnit}.`);
}

/**
 * Whether the person is concerned by a request (run) on what the run itself records: its
 * requester, IT admins, the agent's sponsors in its context, the people it waits for and those who
 * decided on it. The chat also counts the people a card of the run was sent to, which it reads
 * from the message store.
 */
export function isConcernedByRun(
  person: Person,
  run: {
    requester: string;
    context: Record<string, unknown>;
    waitingFor: readonly string[];
    steps: Record<string, { decisions?: ReadonlyArray<{ by: string; delegate?: string }> }>;
  },
): boolean {
  const sponsors = run.context.sponsors;
  return (
    run.requester === person.email ||
    isItAdmin(person) ||
    (Array.isArray(sponsors) && sponsors.includes(person.email)) ||
    run.waitingFor.includes(person.email) ||
    Object.values(run.steps).some((step) => (step.decisions ?? []).some((d) => d.by === person.email || d.delegate === person.email))
  );
}

/**
 * Refuses a request (run) to whom it does not concern: {@link isConcernedByRun}, or among
 * `recipients`, the people a card of the run was sent to.
 */
export function assertConcernedByRun(person: Person, run: Parameters<typeof isConcernedByRun>[1], recipients: readonly string[]): void {
  if (!isConcernedByRun(person, run) && !recipients.includes(person.email))
    throw new ForbiddenError('This request is not addressed to you.');
}

// ── Requests ────────────────────────────────────────────────────────────────────────────────────

/**
 * {@link maySeeAgent} as a query: `all` for the people who see every agent, otherwise the e-mail
 * (sponsor, proposed sponsor, requester) and the business units (their own and those they
 * approve for) through which they see one. `find` puts this in the database query.
 */
export function agentVisibility(org: OrgConfig, person: Person): 'all' | { email: string; businessUnits: string[] } {
  if (hasOversight(person) || isAlertResponder(org, person)) return 'all';
  const approves = org.businessUnits.map((b) => b.id).filter((id) => holds(person, `approver:${id}`));
  return { email: person.email, businessUnits: [...new Set([person.businessUnit, ...approves])] };
}

/**
 * Whether the person may request agents for a business unit: their own, or one their directory
 * roles name with `requester:<business-unit>` (so nobody picks which unit's approver decides).
 */
export function mayRequestFor(person: Person, businessUnit: string): boolean {
  return person.businessUnit === businessUnit || holds(person, `requester:${businessUnit}`);
}

/**
 * Whether a request may name a business unit: one the person may request for ({@link mayRequestFor}),
 * except a shadow agent's registration, which belongs to whichever unit already runs the agent
 * (who may register it is {@link mayRegisterShadow}, asked of its alert). One rule for the request
 * form's units, its check before Slack's acknowledgement and the bus's `agent.request`.
 */
export function mayRequestInUnit(person: Person, businessUnit: string, registeringShadow: boolean): boolean {
  return registeringShadow || mayRequestFor(person, businessUnit);
}

/** The business units a person may request agents for, their own first. */
export function requestableUnits(org: OrgConfig, person: Person): string[] {
  return [
    person.businessUnit,
    ...org.businessUnits.map((b) => b.id).filter((id) => id !== person.businessUnit && mayRequestFor(person, id)),
  ];
}

/** Whether the person may cancel a pending request: whoever made it, or an IT admin. */
export function mayCancelRequest(person: Person, run: { requester: string }): boolean {
  return run.requester === person.email || isItAdmin(person);
}

/** Refuses the cancel of someone else's request to anyone but an IT admin. */
export function assertMayCancelRequest(person: Person, run: { requester: string }): void {
  if (!mayCancelRequest(person, run)) throw new ForbiddenError('Only the person who made this request, or an IT admin, can cancel it.');
}

// ── Managing an agent: its sponsors or an IT admin ───────────────────────────────────────────────

/**
 * The rule most actions on an agent share: its sponsors or an IT admin. The named rules below
 * (retirement, retraining, reactivation, keys, check-in decisions, access reviews, access) are
 * this one today; each keeps its own name so that one can change without the others.
 */
export function mayManageAgent(person: Person, agent: Sponsored): boolean {
  return isSponsor(person, agent) || isItAdmin(person);
}

/** Whether the person may start an agent's retirement: its sponsors and IT admins. */
export function mayStartRetirement(person: Person, agent: Sponsored): boolean {
  return mayManageAgent(person, agent);
}

/** Refuses the start of a retirement. */
export function assertMayStartRetirement(person: Person, agent: Sponsored & Named): void {
  if (!mayStartRetirement(person, agent))
    throw new ForbiddenError(`Only ${agent.name}'s sponsors or an IT admin can start its retirement.`);
}

/**
 * Whether an alert card offers Retire to the person: IT admins only, although
 * {@link mayStartRetirement} also lets the sponsors retire the agent from its profile.
 */
export function mayRetireFromAlert(person: Person): boolean {
  return isItAdmin(person);
}

/** Whether the person may start or postpone an agent's retraining: its sponsors and IT admins. */
export function mayManageRetraining(person: Person, agent: Sponsored): boolean {
  return mayManageAgent(person, agent);
}

/** Refuses a retraining start or postponement. */
export function assertMayManageRetraining(person: Person, agent: Sponsored & Named): void {
  if (!mayManageRetraining(person, agent))
    throw new ForbiddenError(`Only ${agent.name}'s sponsors or an IT admin can start or postpone its retraining.`);
}

/** Whether the person may decide on a check-in's review (Keep, Retrain, Retire): its sponsors and IT admins. */
export function mayDecideCheckIn(person: Person, agent: Sponsored): boolean {
  return mayManageAgent(person, agent);
}

/** Refuses a check-in decision; someone not in the directory (`undefined`) is refused too. */
export function assertMayDecideCheckIn(person: Person | undefined, agent: Sponsored & Named): asserts person is Person {
  if (!person || !mayDecideCheckIn(person, agent))
    throw new ForbiddenError(`Only ${agent.name}'s sponsors or an IT admin can decide on its review.`);
}

/** Whether the person may ask to reactivate the agent: its sponsors and IT admins (the Reactivate button's rule too). */
export function mayAskReactivation(person: Person, agent: Sponsored): boolean {
  return mayManageAgent(person, agent);
}

/**
 * Refuses who may not ask to reactivate the agent; someone who may not see it is told it does not
 * exist, as for an unknown id.
 */
export function assertMayAskReactivation(org: OrgConfig, person: Person, agent: AgentRecord): void {
  assertMaySeeAgent(org, person, agent);
  if (!mayAskReactivation(person, agent))
    throw new ForbiddenError(`Only ${agent.name}'s sponsors or an IT admin can ask to reactivate it.`);
}

/** Who may rotate an agent's key, or revoke its keys: its sponsors and IT admins. One rule for the service and the cards. */
export function mayRotateKey(person: Person, agent: Sponsored): boolean {
  return mayManageAgent(person, agent);
}

/** Refuses a key rotation. */
export function assertMayRotateKey(person: Person, agent: Sponsored & Named): void {
  if (!mayRotateKey(person, agent)) throw new ForbiddenError(`Only ${agent.name}'s sponsors and IT admins can rotate its key.`);
}

/** Refuses the revocation of an agent's keys (the rotation rule). */
export function assertMayRevokeKeys(person: Person, agent: Sponsored & Named): void {
  if (!mayRotateKey(person, agent)) throw new ForbiddenError(`Only ${agent.name}'s sponsors and IT admins can revoke its keys.`);
}

/** Who may get a new key after a failed delivery: the requester too, who was meant to receive the first one. */
export function mayReissueKey(person: Person, agent: Pick<AgentRecord, 'sponsors' | 'requestedBy'>): boolean {
  return mayRotateKey(person, agent) || agent.requestedBy === person.email;
}

/** Refuses a new key after a failed delivery. */
export function assertMayReissueKey(person: Person, agent: Pick<AgentRecord, 'sponsors' | 'requestedBy' | 'name'>): void {
  if (!mayReissueKey(person, agent))
    throw new ForbiddenError(`Only ${agent.name}'s requester, sponsors and IT admins can get it a new key.`);
}

/** Whether the person may answer an agent's access review (Keep, Revoke): its sponsors and IT admins. */
export function mayAnswerAccessReview(person: Person, agent: Sponsored | undefined): boolean {
  return (agent !== undefined && isSponsor(person, agent)) || isItAdmin(person);
}

/** Refuses an access-review answer (an IT admin answers even for an agent no longer stored). */
export function assertMayAnswerAccessReview(person: Person, agent: Sponsored | undefined): void {
  if (!mayAnswerAccessReview(person, agent)) throw new ForbiddenError("Only the agent's sponsors and IT admins answer its access review.");
}

/**
 * Whether the person may request access for an agent, break glass for it or decide about its
 * access (retry, re-request): its sponsors and IT admins, for an agent that exists.
 */
export function mayManageAccess(person: Person, agent: Sponsored | undefined): boolean {
  return agent !== undefined && mayManageAgent(person, agent);
}

/** Refuses an access action; `what` completes "can … it" (e.g. `break glass for`). */
export function assertMayManageAccess(person: Person, agent: (Sponsored & Named) | undefined, what: string): void {
  if (!mayManageAccess(person, agent))
    throw new ForbiddenError(`Only ${agent?.name ?? 'the agent'}'s sponsors and IT admins can ${what} it.`);
}

/**
 * Refuses an agent named in an access command (by id) to who may not see it, in words that name
 * nothing of it (not its name, sponsors or grants).
 */
export function assertMayNameForAccess(org: OrgConfig, person: Person, agent: Visible): void {
  if (!maySeeAgent(org, person, agent)) throw new ForbiddenError("Only the agent's sponsors and IT admins can do that.");
}

/**
 * Refuses a request of access for an agent (the `access` word and form, an Extend on a grant's
 * reminder) or, `asking` so, a break-glass use: who may not see the agent is not told its name,
 * who may see it but not manage its access is told who may.
 */
export function assertMayRequestAccessFor(
  org: OrgConfig,
  person: Person,
  agent: AgentRecord,
  asking: 'request access for' | 'break glass for' = 'request access for',
): void {
  assertMayNameForAccess(org, person, agent);
  assertMayManageAccess(person, agent, asking);
}

/**
 * Whether the person may revoke a grant: the agent's sponsors and IT admins, and security for a
 * break-glass grant (whose after-the-fact review they own).
 */
export function mayRevokeGrant(person: Person, grant: Pick<GrantRecord, 'source'>, agent: Sponsored | undefined): boolean {
  return (
    (agent !== undefined && isSponsor(person, agent)) || isItAdmin(person) || (grant.source === 'break-glass' && holds(person, 'security'))
  );
}

/** Refuses a revocation. */
export function assertMayRevokeGrant(person: Person, grant: Pick<GrantRecord, 'source'>, agent: Sponsored | undefined): void {
  if (!mayRevokeGrant(person, grant, agent)) throw new ForbiddenError("Only the agent's sponsors and IT admins can revoke its access.");
}

/** Whether the person reviews break-glass uses: security. */
export function mayReviewBreakGlass(person: Person): boolean {
  return holds(person, 'security');
}

/** Refuses a break-glass review to anyone outside security. */
export function assertMayReviewBreakGlass(person: Person): void {
  if (!mayReviewBreakGlass(person)) throw new ForbiddenError('Only security reviews break-glass access.');
}

/** Whether the person may confirm this break-glass use: security, and not the person who used it. */
export function mayConfirmBreakGlass(person: Person, grant: Pick<GrantRecord, 'requestedBy'>): boolean {
  return mayReviewBreakGlass(person) && grant.requestedBy !== person.email;
}

/** Refuses the confirmation of one's own break-glass use (the role is checked by {@link assertMayReviewBreakGlass} first). */
export function assertMayConfirmBreakGlass(person: Person, grant: Pick<GrantRecord, 'requestedBy'>): void {
  assertMayReviewBreakGlass(person);
  if (grant.requestedBy === person.email) {
    throw new SeparationOfDutiesError(
      "You used this break-glass yourself, so you can't confirm it; another member of security reviews it.",
    );
  }
}

// ── Versions and evaluations ────────────────────────────────────────────────────────────────────

/** Whether the person may propose a new version of the agent now (the profile offers Propose version…). */
export function mayProposeVersion(person: Person, agent: Pick<AgentRecord, 'sponsors' | 'status'>): boolean {
  return mayManageAgent(person, agent) && WORKING.includes(agent.status);
}

/**
 * Who may propose a new version of an agent, and when: its sponsors or an IT admin, while the
 * agent works (active or on probation). The typed `update`, the measured path and the version
 * form ask this rule, the profile {@link mayProposeVersion}.
 */
export function assertMayProposeVersion(person: Person, agent: Pick<AgentRecord, 'sponsors' | 'status' | 'name'>): void {
  if (!mayManageAgent(person, agent)) throw new ForbiddenError(`Only ${agent.name}'s sponsors or an IT admin can propose a new version.`);
  if (!WORKING.includes(agent.status))
    throw new InvalidInputError(`${agent.name} is ${agent.status}; only a working agent gets new versions.`);
}

/** Typed-in evaluation results are claims, not measurements: only IT admins may record them, with a reason. */
export function mayTypeInResults(person: Person): boolean {
  return isItAdmin(person);
}

/**
 * Refuses typed-in results to all but IT admins: who may not even manage the agent's evaluation
 * is told so; who may is told `measuredInstead` (how Roster measures the agent, or who can).
 */
export function assertMayTypeInResults(
  person: Person,
  agent: Pick<AgentRecord, 'sponsors' | 'requestedBy'>,
  measuredInstead: string,
): void {
  if (mayTypeInResults(person)) return;
  if (!mayManageEvaluation(person, agent))
    throw new ForbiddenError("Only the agent's requester, its sponsors or an IT admin can evaluate it.");
  throw new ForbiddenError(measuredInstead);
}

/**
 * Whether the person may manage an agent's evaluation (register its endpoint, start, cancel,
 * submit results): its requester, its sponsors or an IT admin.
 */
export function mayManageEvaluation(person: Person, agent: Pick<AgentRecord, 'sponsors' | 'requestedBy'>): boolean {
  return agent.requestedBy === person.email || isSponsor(person, agent) || isItAdmin(person);
}

/** Refuses an evaluation action; `what` completes "can …" (e.g. `start its evaluation`). */
export function assertMayManageEvaluation(
  person: Person,
  agent: Pick<AgentRecord, 'sponsors' | 'requestedBy' | 'name'>,
  what: string,
): void {
  if (!mayManageEvaluation(person, agent))
    throw new ForbiddenError(`Only ${agent.name}'s requester, its sponsors or an IT admin can ${what}.`);
}

/** Whether the person may cancel a running evaluation: whoever started it, and those who manage the agent's evaluation. */
export function mayCancelEvaluation(
  person: Person,
  run: { requester?: string },
  agent: Pick<AgentRecord, 'sponsors' | 'requestedBy'>,
): boolean {
  return run.requester === person.email || mayManageEvaluation(person, agent);
}

/** Refuses the cancel of an evaluation. */
export function assertMayCancelEvaluation(
  person: Person,
  run: { requester?: string },
  agent: Pick<AgentRecord, 'sponsors' | 'requestedBy' | 'name'>,
): void {
  if (!mayCancelEvaluation(person, run, agent)) assertMayManageEvaluation(person, agent, 'cancel its evaluation');
}

/**
 * Whether the person may see an evaluation run: the person who started it, the agent's requester
 * and sponsors, IT admins, security and compliance.
 */
export function maySeeEvaluation(
  person: Person,
  run: { requester?: string },
  agent: Pick<AgentRecord, 'sponsors' | 'requestedBy'>,
): boolean {
  return (
    READER_ROLES.some((r) => holds(person, r)) ||
    run.requester === person.email ||
    isSponsor(person, agent) ||
    agent.requestedBy === person.email
  );
}

/** Refuses an evaluation run to the people it does not concern. */
export function assertMaySeeEvaluation(
  person: Person,
  run: { requester?: string },
  agent: Pick<AgentRecord, 'sponsors' | 'requestedBy' | 'name'>,
): void {
  if (!maySeeEvaluation(person, run, agent))
    throw new ForbiddenError(`Only ${agent.name}'s requester, sponsors, IT admins, security and compliance see its evaluation.`);
}

// ── Supervision: notes, alerts, decisions, boundaries, hand-offs ─────────────────────────────────

/** Who may record knowledge notes on an agent: its sponsors and alert responders. One rule for the service, the cards and the chat. */
export function mayAddKnowledgeNote(org: OrgConfig, person: Person, agent: Sponsored): boolean {
  return isSponsor(person, agent) || isAlertResponder(org, person);
}

/** Refuses a knowledge note; someone who may not even see the agent is not told its name. */
export function assertMayAddKnowledgeNote(org: OrgConfig, person: Person, agent: AgentRecord): void {
  if (mayAddKnowledgeNote(org, person, agent)) return;
  const whose = maySeeAgent(org, person, agent) ? `${agent.name}'s` : "the agent's";
  throw new ForbiddenError(`Only ${whose} sponsors, IT admins, security and on-call can add knowledge notes.`);
}

/** Who may act on a shadow alert's Register: responders and the sponsor assigned to it. One rule for the service and the cards. */
export function mayRegisterShadow(org: OrgConfig, person: Person, alert: Pick<AlertRecord, 'kind' | 'details' | 'rotation'>): boolean {
  return alert.kind === 'shadow' && (alert.details.sponsor === person.email || isAlertResponder(org, person, alert.rotation));
}

/** Refuses the registration of a shadow agent. */
export function assertMayRegisterShadow(org: OrgConfig, person: Person, alert: Pick<AlertRecord, 'kind' | 'details' | 'rotation'>): void {
  if (!mayRegisterShadow(org, person, alert))
    throw new ForbiddenError('Only on-call responders, IT admins, security and the sponsor assigned to it can register this agent.');
}

/** Whether the person may ask to suspend the agent of an alert: the alert's responders. */
export function mayRequestSuspension(org: OrgConfig, person: Person, alert: Pick<AlertRecord, 'rotation'> | undefined): boolean {
  return isAlertResponder(org, person, alert?.rotation);
}

/**
 * Refuses who may not act on an alert (acknowledge, escalate, snooze, resolve, block, assign a
 * sponsor): its rotation's on-call, IT admins and security. Asked before the alert is known to
 * exist (an unknown one is judged by the default rotation), so an alert id reveals nothing.
 */
export function assertMayActOnAlert(org: OrgConfig, person: Pick<Person, 'roles'>, alert: Pick<AlertRecord, 'rotation'> | undefined): void {
  const rotation = alert?.rotation ?? org.settings.alertRotation;
  if (isAlertResponder(org, person, rotation)) return;
  const oncall = org.people.filter((p) => holds(p, `oncall:${rotation}`)).map((p) => p.name);
  throw new ForbiddenError(`Only the on-call rotation (${oncall.join(', ')}), IT admins and security can act on alerts.`);
}

/** Refuses a suspension request (before the alert is known to exist, so an id reveals nothing). */
export function assertMayRequestSuspension(org: OrgConfig, person: Person, alert: Pick<AlertRecord, 'rotation'> | undefined): void {
  if (!mayRequestSuspension(org, person, alert))
    throw new ForbiddenError('Only on-call responders, IT admins and security can ask to suspend an agent.');
}

/** Who may read an agent's decisions: its sponsors, IT admins, security and compliance. One rule for the service and the cards. */
export function isDecisionReader(person: Person, sponsors: readonly string[]): boolean {
  return sponsors.includes(person.email) || READER_ROLES.some((r) => holds(person, r));
}

/** Refuses an agent's decision log. */
export function assertMayReadDecisions(person: Person, agent: Sponsored & Named): void {
  if (!isDecisionReader(person, agent.sponsors))
    throw new ForbiddenError(`Only ${agent.name}'s sponsors, IT admins, security and compliance can read its decisions.`);
}

/** Whether the person may ask IT to change one of an agent's boundaries: its sponsors only. */
export function mayAskBoundaryChange(person: Person, agent: Sponsored): boolean {
  return isSponsor(person, agent);
}

/** Refuses a boundary-change request. */
export function assertMayAskBoundaryChange(person: Person, agent: Pick<AgentRecord, 'sponsors' | 'name' | 'id'>): void {
  if (!mayAskBoundaryChange(person, agent))
    throw new ForbiddenError(`Only ${agent.name}'s sponsors can ask to change its boundaries.`, { agentId: agent.id });
}

/** Whether the person decides boundary changes at all (the home card lists those waiting): IT admins. */
export function isBoundaryChangeDecider(person: Person): boolean {
  return isItAdmin(person);
}

/** Whether the person may decide this boundary change: an IT admin who did not ask for it. */
export function mayDecideBoundaryChange(person: Person, change: { requestedBy: string }): boolean {
  return isBoundaryChangeDecider(person) && person.email !== change.requestedBy;
}

/** Refuses a boundary-change decision: to anyone but IT admins, then to the admin who asked for it. */
export function assertMayDecideBoundaryChange(person: Person, change: { id: string; requestedBy: string }): void {
  if (!isBoundaryChangeDecider(person)) throw new ForbiddenError('Only IT admins can decide boundary changes.', { changeId: change.id });
  if (person.email === change.requestedBy) throw new SeparationOfDutiesError('You asked for this change, so another IT admin decides it.');
}

/** Whether the person may take a hand-off case: its queue's people (widened on escalation) and IT admins. */
export function mayTakeHandoff(person: Person, handoff: { people: readonly string[] }): boolean {
  return handoff.people.includes(person.email) || isItAdmin(person);
}

/** Refuses a take to anyone outside the case's queue. */
export function assertMayTakeHandoff(person: Person, handoff: { people: readonly string[]; queueTitle: string }): void {
  if (!mayTakeHandoff(person, handoff)) throw new ForbiddenError(`Only the ${handoff.queueTitle} queue takes this case.`);
}

/** Whether the person may resolve a hand-off case: whoever took it, and IT admins. */
export function mayResolveHandoff(person: Person, handoff: { takenBy?: string }): boolean {
  return handoff.takenBy === person.email || isItAdmin(person);
}

/** Refuses a resolution, saying whether someone else took the case or nobody has yet. */
export function assertMayResolveHandoff(person: Person, handoff: { takenBy?: string }): void {
  if (!mayResolveHandoff(person, handoff))
    throw new ForbiddenError(handoff.takenBy ? 'Only the person who took this case resolves it.' : 'Take the case before you resolve it.');
}

// ── Sponsorships ────────────────────────────────────────────────────────────────────────────────

/**
 * Whether the person may answer a proposed sponsorship: the person named, for themselves (but
 * nobody accepts a sponsorship they put themselves forward for), or an IT admin for them who did
 * not name them.
 */
export function mayAnswerSponsorship(
  person: Person,
  proposal: Pick<ProposedSponsor, 'email' | 'by'>,
  answer: 'accept' | 'decline',
): boolean {
  if (proposal.email === person.email) return !(proposal.by === person.email && answer === 'accept');
  return isItAdmin(person) && proposal.by !== person.email;
}

/** Refuses a sponsorship answer; `sponsorName` is the named person's display name. */
export function assertMayAnswerSponsorship(
  person: Person,
  agent: Named,
  proposal: Pick<ProposedSponsor, 'email' | 'by'>,
  answer: 'accept' | 'decline',
  sponsorName: string,
): void {
  if (proposal.email === person.email) {
    if (proposal.by === person.email && answer === 'accept') {
      throw new SeparationOfDutiesError(`You put yourself forward as ${agent.name}'s sponsor; an IT admin confirms it.`);
    }
    return;
  }
  if (!isItAdmin(person)) throw new ForbiddenError('Only the person named, or an IT admin, can answer for a sponsorship.');
  if (proposal.by === person.email) {
    throw new SeparationOfDutiesError(`You named ${sponsorName} as sponsor, so another IT admin confirms it.`);
  }
}

/**
 * Who may take a leaver's agent offered to them (to keep it or to retire it): the manager the open
 * offer names, nobody else. The offer store takes it in the same write as well, so two clicks take it once.
 */
export function mayTakeLeaverOffer(person: Person, offer: { manager: string; status: string } | undefined): boolean {
  return offer?.status === 'open' && offer.manager === person.email;
}

/** Refuses taking a leaver's agent no open offer to this person names. */
export function assertMayTakeLeaverOffer(person: Person, agent: Named, offer: { manager: string; status: string } | undefined): void {
  if (!mayTakeLeaverOffer(person, offer)) throw new ForbiddenError(`No sponsorship of ${agent.name} is waiting for you.`);
}

// ── Governance and administration ───────────────────────────────────────────────────────────────

/** Who may read the fleet view and the dashboard: IT admins and compliance (and the DPO, who reads the compliance part). */
export function isDashboardReader(person: Person): boolean {
  return DASHBOARD_ROLES.some((role) => holds(person, role));
}

/** Refuses the dashboard. */
export function assertDashboardReaderPerson(person: Person): void {
  if (!isDashboardReader(person)) throw new ForbiddenError('The dashboard is for IT admins, compliance and the DPO.');
}

/**
 * Whether the home card shows the person the fleet summary: IT admins only, although
 * {@link isDashboardReader} also lets compliance and the DPO open the fleet view.
 */
export function maySeeFleetOnHome(person: Person): boolean {
  return isItAdmin(person);
}

/** Whether the person may read the compliance report (and its part of the dashboard): compliance officers and the DPO. */
export function mayReadComplianceReport(person: Person): boolean {
  return holds(person, 'compliance') || holds(person, 'dpo');
}

/** Refuses the compliance report. */
export function assertMayReadComplianceReport(person: Person): void {
  if (!mayReadComplianceReport(person)) throw new ForbiddenError('Only compliance officers and the DPO can read the compliance report.');
}

/** Whether the person may start the fix of a compliance gap: those who read the report. */
export function mayStartGapFix(person: Person): boolean {
  return mayReadComplianceReport(person);
}

/** Refuses the fix of a compliance gap. */
export function assertMayStartGapFix(person: Person): void {
  if (!mayStartGapFix(person)) throw new ForbiddenError('Only compliance officers and the DPO can start the fix of a compliance gap.');
}

/** Whether the person may retry a webhook subscription's failed deliveries or re-enable it: IT admins. */
export function mayRetryWebhooks(person: Person | undefined): boolean {
  return person !== undefined && isItAdmin(person);
}

/** Refuses Retry (`retry`) or Re-enable (`enable`) on a webhook subscription's card. */
export function assertMayRetryWebhooks(person: Person, action: 'retry' | 'enable'): void {
  if (!mayRetryWebhooks(person))
    throw new ForbiddenError(
      action === 'retry' ? 'Only IT admins can retry webhook deliveries.' : 'Only IT admins can re-enable a webhook subscription.',
    );
}

/** Who may read the numbers behind a check-in: whoever may see its agent (its sponsors, their unit, oversight, on-call). */
export function mayReadCheckInNumbers(org: OrgConfig, person: Person, agent: Visible): boolean {
  return maySeeAgent(org, person, agent);
}

/** Who may read the numbers behind an alert: its responders, and whoever may see its (registered) agent. */
export function mayReadAlertNumbers(
  org: OrgConfig,
  person: Person,
  alert: Pick<AlertRecord, 'rotation'>,
  agent: Visible | undefined,
): boolean {
  return isAlertResponder(org, person, alert.rotation) || Boolean(agent && maySeeAgent(org, person, agent));
}

/** Refuses the numbers behind a check-in to whoever may not see its agent. */
export function assertMayReadCheckInNumbers(org: OrgConfig, person: Person, agent: Visible): void {
  if (!mayReadCheckInNumbers(org, person, agent))
    throw new ForbiddenError("Only those who may see the agent can read its check-in's numbers.");
}

/** Refuses the numbers behind an alert to whoever neither responds to it nor may see its agent. */
export function assertMayReadAlertNumbers(
  org: OrgConfig,
  person: Person,
  alert: Pick<AlertRecord, 'rotation'>,
  agent: Visible | undefined,
): void {
  if (!mayReadAlertNumbers(org, person, alert, agent))
    throw new ForbiddenError("Only the alert's responders and those who may see the agent can read its numbers.");
}

// ── Agents acting through the API and MCP ───────────────────────────────────────────────────────

/** Who gives a command: a person (chat, CLI) or an agent (its bearer token, on the agent API or MCP). */
export type ActorKind = 'person' | 'agent';

/**
 * A person's command is a person's and an agent's an agent's: neither acts through the other's
 * commands (an agent never decides a run; a person never asks in an agent's name).
 */
export function mayGiveCommand(actor: ActorKind, command: ActorKind): boolean {
  return actor === command;
}

export function assertMayGiveCommand(actor: ActorKind, command: ActorKind): void {
  if (!mayGiveCommand(actor, command))
    throw new ForbiddenError(actor === 'agent' ? 'An agent may not give a person’s command.' : 'That command is for agents.', {
      actor,
      command,
    });
}

/** An agent may act (ask, hand off, report) only in a status that lets it hold a token: a suspended or retired one may not. */
export function mayAgentAct(live: { eligible: boolean }): boolean {
  return live.eligible;
}

export function assertAgentMayAct(live: { eligible: boolean; agent: Pick<AgentRecord, 'status'> }): void {
  if (!mayAgentAct(live)) throw new AgentRefusal(403, 'agent_not_active', `The agent is ${live.agent.status}: it may not act.`);
}

/** Whether a record an agent created (a runtime approval, a hand-off) is its own: only its own agent reads or uses it. */
export function isAgentsOwn(agentId: AgentId, record: { agentId: string } | undefined): boolean {
  return record !== undefined && record.agentId === agentId;
}

/** Another agent's record is "not found" (404), never forbidden: an id tells an agent nothing about others. */
export function assertAgentsOwn<R extends { agentId: string }>(
  agentId: AgentId,
  record: R | undefined,
  what: 'approval' | 'hand-off',
): asserts record is R {
  if (!isAgentsOwn(agentId, record)) throw new AgentRefusal(404, 'not_found', `No such ${what} for this agent.`);
}
