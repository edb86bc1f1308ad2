import path from 'node:path';
import { loadOrgConfig } from '../../src/config/org-config.js';
import { personSchema, type Person } from '../../src/config/schemas.js';
import type { AgentRecord } from '../../src/core/agents.js';
import type { AlertRecord } from '../../src/core/alerts.js';
import { RosterError } from '../../src/core/errors.js';
import * as policies from '../../src/core/policies.js';
import { agentRecord, grantRecord } from '../helpers/harness.js';
import { projectRoot } from '../helpers/roster-process.js';
import { asAgentId, asAlertId } from '../helpers/ids.js';

/*
 * Every who-may rule, asked for each kind of person: the agent's requester, its sponsor, an IT
 * admin, an approver of its business unit, a stranger, and the other roles a rule names
 * (security, compliance, the DPO, on-call). A row lists who is allowed; everyone else is refused,
 * and each assert refuses with the words the services used before the rules moved here.
 */

const org = loadOrgConfig(path.join(projectRoot, 'config'));
const person = (email: string, businessUnit: string, roles: string[] = []): Person =>
  personSchema.parse({ email, name: email.split('@')[0], businessUnit, roles });

const cast = {
  requester: person('requester@example.test', 'customer-support'),
  sponsor: person('sponsor@example.test', 'finance'),
  itAdmin: person('it-admin@example.test', 'engineering', ['it-admin']),
  approver: person('approver@example.test', 'finance', ['approver:customer-support']),
  stranger: person('stranger@example.test', 'people-ops'),
  security: person('security@example.test', 'risk-compliance', ['security']),
  compliance: person('compliance@example.test', 'risk-compliance', ['compliance']),
  dpo: person('dpo@example.test', 'risk-compliance', ['dpo']),
  oncall: person('oncall@example.test', 'engineering', [`oncall:${org.settings.alertRotation}`]),
};
type Who = keyof typeof cast;
const everyone = Object.keys(cast) as Who[];

const agent = (overrides: Partial<AgentRecord> = {}): AgentRecord =>
  agentRecord({
    name: 'Refund Triage',
    sponsors: [cast.sponsor.email],
    requestedBy: cast.requester.email,
    businessUnit: 'customer-support',
    ...overrides,
  });
const active = agent();
const suspended = agent({ status: 'suspended' });
const grant = grantRecord(active.id, 'kb:read');
const breakGlass = grantRecord(active.id, 'kb:read', { source: 'break-glass', requestedBy: cast.sponsor.email });
const alert = (overrides: Partial<AlertRecord> = {}): AlertRecord => ({
  id: asAlertId('alt_1'),
  kind: 'shadow',
  agentId: asAgentId('agt_unregistered'),
  severity: 'warning',
  status: 'open',
  summary: 'An unregistered agent called the gateway.',
  details: { sponsor: cast.sponsor.email },
  rotation: org.settings.alertRotation,
  level: 0,
  loops: 0,
  occurrences: 1,
  createdAt: new Date().toISOString(),
  updatedAt: new Date().toISOString(),
  version: 0,
  ...overrides,
});
const run = {
  requester: cast.requester.email,
  context: { sponsors: [cast.sponsor.email] },
  waitingFor: [cast.approver.email],
  steps: { approve: { decisions: [{ by: cast.security.email }] } },
};

/** Rule → who it allows, asked of every person of the cast. */
const predicates: Array<[string, (p: Person) => boolean, Who[]]> = [
  ['maySeeAgent', (p) => policies.maySeeAgent(org, p, active), everyone.filter((w) => w !== 'stranger')],
  ['mayReadCheckInNumbers', (p) => policies.mayReadCheckInNumbers(org, p, active), everyone.filter((w) => w !== 'stranger')],
  [
    'mayReadAlertNumbers',
    (p) => policies.mayReadAlertNumbers(org, p, alert({ kind: 'drift' }), active),
    everyone.filter((w) => w !== 'stranger'),
  ],
  [
    'mayReadAlertNumbers (an unregistered agent)',
    (p) => policies.mayReadAlertNumbers(org, p, alert(), undefined),
    ['itAdmin', 'security', 'oncall'],
  ],
  [
    'maySeeAgent (a named sponsor who has not answered)',
    (p) =>
      policies.maySeeAgent(
        org,
        p,
        agent({
          sponsors: [],
          proposedSponsors: [{ id: 'sp_1', email: cast.stranger.email, by: cast.itAdmin.email, at: '' }],
          requestedBy: cast.itAdmin.email,
          businessUnit: 'engineering',
        }),
      ),
    ['stranger', 'itAdmin', 'security', 'compliance', 'dpo', 'oncall'],
  ],
  ['mayListAllAgents', (p) => policies.mayListAllAgents(p), ['itAdmin', 'security', 'compliance', 'dpo']],
  [
    'mayListBusinessUnit',
    (p) => policies.mayListBusinessUnit(p, 'customer-support'),
    ['requester', 'itAdmin', 'approver', 'security', 'compliance', 'dpo'],
  ],
  ['isConcernedByRun', (p) => policies.isConcernedByRun(p, run), ['requester', 'sponsor', 'itAdmin', 'approver', 'security']],
  [
    'isConcernedByRun (a delegate decided)',
    (p) =>
      policies.isConcernedByRun(p, {
        ...run,
        steps: { approve: { decisions: [{ by: cast.approver.email, delegate: cast.compliance.email }] } },
      }),
    ['requester', 'sponsor', 'itAdmin', 'approver', 'compliance'],
  ],
  ['mayRequestFor', (p) => policies.mayRequestFor(p, 'customer-support'), ['requester']],
  ['mayRequestInUnit', (p) => policies.mayRequestInUnit(p, 'customer-support', false), ['requester']],
  [
    'mayRequestInUnit (registering a shadow agent: the unit that runs it)',
    (p) => policies.mayRequestInUnit(p, 'customer-support', true),
    everyone,
  ],
  ['mayCancelRequest', (p) => policies.mayCancelRequest(p, run), ['requester', 'itAdmin']],
  ['mayManageAgent', (p) => policies.mayManageAgent(p, active), ['sponsor', 'itAdmin']],
  ['mayStartRetirement', (p) => policies.mayStartRetirement(p, active), ['sponsor', 'itAdmin']],
  ['mayTakeLeaverOffer', (p) => policies.mayTakeLeaverOffer(p, { manager: cast.approver.email, status: 'open' }), ['approver']],
  [
    'mayTakeLeaverOffer (an offer already taken)',
    (p) => policies.mayTakeLeaverOffer(p, { manager: cast.approver.email, status: 'accepted' }),
    [],
  ],
  ['mayRetireFromAlert', (p) => policies.mayRetireFromAlert(p), ['itAdmin']],
  ['mayManageRetraining', (p) => policies.mayManageRetraining(p, active), ['sponsor', 'itAdmin']],
  ['mayDecideCheckIn', (p) => policies.mayDecideCheckIn(p, active), ['sponsor', 'itAdmin']],
  ['mayAskReactivation (suspended agent)', (p) => policies.mayAskReactivation(p, suspended), ['sponsor', 'itAdmin']],
  ['mayRotateKey', (p) => policies.mayRotateKey(p, active), ['sponsor', 'itAdmin']],
  ['mayReissueKey', (p) => policies.mayReissueKey(p, active), ['requester', 'sponsor', 'itAdmin']],
  ['mayAnswerAccessReview', (p) => policies.mayAnswerAccessReview(p, active), ['sponsor', 'itAdmin']],
  ['mayAnswerAccessReview (agent gone)', (p) => policies.mayAnswerAccessReview(p, undefined), ['itAdmin']],
  ['mayManageAccess', (p) => policies.mayManageAccess(p, active), ['sponsor', 'itAdmin']],
  ['mayManageAccess (agent gone)', (p) => policies.mayManageAccess(p, undefined), []],
  ['mayRevokeGrant', (p) => policies.mayRevokeGrant(p, grant, active), ['sponsor', 'itAdmin']],
  ['mayRevokeGrant (break-glass)', (p) => policies.mayRevokeGrant(p, breakGlass, active), ['sponsor', 'itAdmin', 'security']],
  ['mayRevokeGrant (agent gone)', (p) => policies.mayRevokeGrant(p, grant, undefined), ['itAdmin']],
  ['mayReviewBreakGlass', (p) => policies.mayReviewBreakGlass(p), ['security']],
  ['mayConfirmBreakGlass', (p) => policies.mayConfirmBreakGlass(p, breakGlass), ['security']],
  ['mayConfirmBreakGlass (own use)', (p) => policies.mayConfirmBreakGlass(p, { requestedBy: cast.security.email }), []],
  ['mayProposeVersion (active)', (p) => policies.mayProposeVersion(p, active), ['sponsor', 'itAdmin']],
  ['mayProposeVersion (probation)', (p) => policies.mayProposeVersion(p, agent({ status: 'probation' })), ['sponsor', 'itAdmin']],
  ['mayProposeVersion (suspended)', (p) => policies.mayProposeVersion(p, suspended), []],
  ['mayTypeInResults', (p) => policies.mayTypeInResults(p), ['itAdmin']],
  ['mayManageEvaluation', (p) => policies.mayManageEvaluation(p, active), ['requester', 'sponsor', 'itAdmin']],
  [
    'maySeeEvaluation (started by the approver)',
    (p) => policies.maySeeEvaluation(p, { requester: cast.approver.email }, active),
    ['requester', 'sponsor', 'itAdmin', 'approver', 'security', 'compliance'],
  ],
  [
    'mayCancelEvaluation (started by the approver)',
    (p) => policies.mayCancelEvaluation(p, { requester: cast.approver.email }, active),
    ['requester', 'sponsor', 'itAdmin', 'approver'],
  ],
  ['mayAddKnowledgeNote', (p) => policies.mayAddKnowledgeNote(org, p, active), ['sponsor', 'itAdmin', 'security', 'oncall']],
  ['isAlertResponder', (p) => policies.isAlertResponder(org, p), ['itAdmin', 'security', 'oncall']],
  ['isAlertResponder (a role rotation)', (p) => policies.isAlertResponder(org, p, 'role-rotation'), ['itAdmin', 'security', 'oncall']],
  ['mayRegisterShadow', (p) => policies.mayRegisterShadow(org, p, alert()), ['sponsor', 'itAdmin', 'security', 'oncall']],
  ['mayRegisterShadow (not a shadow alert)', (p) => policies.mayRegisterShadow(org, p, alert({ kind: 'ownerless' })), []],
  ['mayRequestSuspension', (p) => policies.mayRequestSuspension(org, p, alert({ kind: 'drift' })), ['itAdmin', 'security', 'oncall']],
  ['isDecisionReader', (p) => policies.isDecisionReader(p, active.sponsors), ['sponsor', 'itAdmin', 'security', 'compliance']],
  ['mayAskBoundaryChange', (p) => policies.mayAskBoundaryChange(p, active), ['sponsor']],
  ['isBoundaryChangeDecider', (p) => policies.isBoundaryChangeDecider(p), ['itAdmin']],
  ['mayDecideBoundaryChange', (p) => policies.mayDecideBoundaryChange(p, { requestedBy: cast.sponsor.email }), ['itAdmin']],
  ['mayDecideBoundaryChange (asked by the admin)', (p) => policies.mayDecideBoundaryChange(p, { requestedBy: cast.itAdmin.email }), []],
  ['mayTakeHandoff', (p) => policies.mayTakeHandoff(p, { people: [cast.approver.email] }), ['approver', 'itAdmin']],
  ['mayResolveHandoff', (p) => policies.mayResolveHandoff(p, { takenBy: cast.approver.email }), ['approver', 'itAdmin']],
  ['mayResolveHandoff (not taken)', (p) => policies.mayResolveHandoff(p, {}), ['itAdmin']],
  [
    'mayAnswerSponsorship (named by another)',
    (p) => policies.mayAnswerSponsorship(p, { email: cast.sponsor.email, by: cast.requester.email }, 'accept'),
    ['sponsor', 'itAdmin'],
  ],
  [
    'mayAnswerSponsorship (self-nominated, accept)',
    (p) => policies.mayAnswerSponsorship(p, { email: cast.sponsor.email, by: cast.sponsor.email }, 'accept'),
    ['itAdmin'],
  ],
  [
    'mayAnswerSponsorship (self-nominated, decline)',
    (p) => policies.mayAnswerSponsorship(p, { email: cast.sponsor.email, by: cast.sponsor.email }, 'decline'),
    ['sponsor', 'itAdmin'],
  ],
  [
    'mayAnswerSponsorship (named by the admin)',
    (p) => policies.mayAnswerSponsorship(p, { email: cast.stranger.email, by: cast.itAdmin.email }, 'accept'),
    ['stranger'],
  ],
  ['isDashboardReader', (p) => policies.isDashboardReader(p), ['itAdmin', 'compliance', 'dpo']],
  ['maySeeFleetOnHome', (p) => policies.maySeeFleetOnHome(p), ['itAdmin']],
  ['mayReadComplianceReport', (p) => policies.mayReadComplianceReport(p), ['compliance', 'dpo']],
  ['mayStartGapFix', (p) => policies.mayStartGapFix(p), ['compliance', 'dpo']],
  ['mayRetryWebhooks', (p) => policies.mayRetryWebhooks(p), ['itAdmin']],
  ['hasOversight', (p) => policies.hasOversight(p), ['itAdmin', 'security', 'compliance', 'dpo']],
  ['isItAdmin', (p) => policies.isItAdmin(p), ['itAdmin']],
];

/** An assert → who passes, and the coded refusal (the words people saw before) for everyone else. */
const asserts: Array<[string, (p: Person) => void, Who[], string | ((who: Who) => string), string | ((who: Who) => string)]> = [
  [
    'assertMayListAllAgents',
    (p) => policies.assertMayListAllAgents(p),
    ['itAdmin', 'security', 'compliance', 'dpo'],
    'forbidden',
    'Only IT admins, security, compliance and the DPO can list every agent. Try `list mine`.',
  ],
  [
    'assertMayListBusinessUnit',
    (p) => policies.assertMayListBusinessUnit(p, 'customer-support'),
    ['requester', 'itAdmin', 'approver', 'security', 'compliance', 'dpo'],
    'forbidden',
    (w) => `You can list the agents of your own business unit (${cast[w].businessUnit}), not customer-support.`,
  ],
  [
    'assertMayCancelRequest',
    (p) => policies.assertMayCancelRequest(p, run),
    ['requester', 'itAdmin'],
    'forbidden',
    'Only the person who made this request, or an IT admin, can cancel it.',
  ],
  [
    'assertMayStartRetirement',
    (p) => policies.assertMayStartRetirement(p, active),
    ['sponsor', 'itAdmin'],
    'forbidden',
    "Only Refund Triage's sponsors or an IT admin can start its retirement.",
  ],
  [
    'assertMayManageRetraining',
    (p) => policies.assertMayManageRetraining(p, active),
    ['sponsor', 'itAdmin'],
    'forbidden',
    "Only Refund Triage's sponsors or an IT admin can start or postpone its retraining.",
  ],
  [
    'assertMayDecideCheckIn',
    (p) => policies.assertMayDecideCheckIn(p, active),
    ['sponsor', 'itAdmin'],
    'forbidden',
    "Only Refund Triage's sponsors or an IT admin can decide on its review.",
  ],
  [
    'assertMayAskReactivation',
    (p) => policies.assertMayAskReactivation(org, p, suspended),
    ['sponsor', 'itAdmin'],
    (w) => (w === 'stranger' ? 'not_found' : 'forbidden'),
    (w) =>
      w === 'stranger'
        ? `I couldn't find the agent "${suspended.id}".`
        : "Only Refund Triage's sponsors or an IT admin can ask to reactivate it.",
  ],
  [
    'assertMayRotateKey',
    (p) => policies.assertMayRotateKey(p, active),
    ['sponsor', 'itAdmin'],
    'forbidden',
    "Only Refund Triage's sponsors and IT admins can rotate its key.",
  ],
  [
    'assertMayRevokeKeys',
    (p) => policies.assertMayRevokeKeys(p, active),
    ['sponsor', 'itAdmin'],
    'forbidden',
    "Only Refund Triage's sponsors and IT admins can revoke its keys.",
  ],
  [
    'assertMayReissueKey',
    (p) => policies.assertMayReissueKey(p, active),
    ['requester', 'sponsor', 'itAdmin'],
    'forbidden',
    "Only Refund Triage's requester, sponsors and IT admins can get it a new key.",
  ],
  [
    'assertMayAnswerAccessReview',
    (p) => policies.assertMayAnswerAccessReview(p, active),
    ['sponsor', 'itAdmin'],
    'forbidden',
    "Only the agent's sponsors and IT admins answer its access review.",
  ],
  [
    'assertMayManageAccess',
    (p) => policies.assertMayManageAccess(p, active, 'break glass for'),
    ['sponsor', 'itAdmin'],
    'forbidden',
    "Only Refund Triage's sponsors and IT admins can break glass for it.",
  ],
  [
    'assertMayRequestAccessFor',
    (p) => policies.assertMayRequestAccessFor(org, p, active),
    ['sponsor', 'itAdmin'],
    'forbidden',
    (who) =>
      policies.maySeeAgent(org, cast[who], active)
        ? "Only Refund Triage's sponsors and IT admins can request access for it."
        : "Only the agent's sponsors and IT admins can do that.",
  ],
  [
    'assertMayRequestAccessFor (break glass)',
    (p) => policies.assertMayRequestAccessFor(org, p, active, 'break glass for'),
    ['sponsor', 'itAdmin'],
    'forbidden',
    (who) =>
      policies.maySeeAgent(org, cast[who], active)
        ? "Only Refund Triage's sponsors and IT admins can break glass for it."
        : "Only the agent's sponsors and IT admins can do that.",
  ],
  [
    'assertMayNameForAccess',
    (p) => policies.assertMayNameForAccess(org, p, active),
    everyone.filter((w) => w !== 'stranger'),
    'forbidden',
    "Only the agent's sponsors and IT admins can do that.",
  ],
  [
    'assertMayManageAccess (agent gone)',
    (p) => policies.assertMayManageAccess(p, undefined, 'request access for'),
    [],
    'forbidden',
    "Only the agent's sponsors and IT admins can request access for it.",
  ],
  [
    'assertMayRevokeGrant (break-glass)',
    (p) => policies.assertMayRevokeGrant(p, breakGlass, active),
    ['sponsor', 'itAdmin', 'security'],
    'forbidden',
    "Only the agent's sponsors and IT admins can revoke its access.",
  ],
  [
    'assertMayReviewBreakGlass',
    (p) => policies.assertMayReviewBreakGlass(p),
    ['security'],
    'forbidden',
    'Only security reviews break-glass access.',
  ],
  [
    'assertMayConfirmBreakGlass',
    (p) => policies.assertMayConfirmBreakGlass(p, breakGlass),
    ['security'],
    'forbidden',
    'Only security reviews break-glass access.',
  ],
  [
    'assertMayProposeVersion (active)',
    (p) => policies.assertMayProposeVersion(p, active),
    ['sponsor', 'itAdmin'],
    'forbidden',
    "Only Refund Triage's sponsors or an IT admin can propose a new version.",
  ],
  [
    'assertConcernedByRun',
    (p) => policies.assertConcernedByRun(p, run, []),
    ['requester', 'sponsor', 'itAdmin', 'approver', 'security'],
    'forbidden',
    'This request is not addressed to you.',
  ],
  [
    'assertConcernedByRun (a card was sent to the stranger)',
    (p) => policies.assertConcernedByRun(p, run, [cast.stranger.email]),
    ['requester', 'sponsor', 'itAdmin', 'approver', 'security', 'stranger'],
    'forbidden',
    'This request is not addressed to you.',
  ],
  [
    'assertMayTypeInResults',
    (p) => policies.assertMayTypeInResults(p, active, 'Roster measures Refund Triage itself.'),
    ['itAdmin'],
    'forbidden',
    (w) =>
      w === 'requester' || w === 'sponsor'
        ? 'Roster measures Refund Triage itself.'
        : "Only the agent's requester, its sponsors or an IT admin can evaluate it.",
  ],
  [
    'assertMaySeeAgent',
    (p) => policies.assertMaySeeAgent(org, p, active),
    everyone.filter((w) => w !== 'stranger'),
    'not_found',
    () => `I couldn't find the agent "${active.id}".`,
  ],
  [
    'assertMayManageEvaluation',
    (p) => policies.assertMayManageEvaluation(p, active, 'start its evaluation'),
    ['requester', 'sponsor', 'itAdmin'],
    'forbidden',
    "Only Refund Triage's requester, its sponsors or an IT admin can start its evaluation.",
  ],
  [
    'assertMayCancelEvaluation (started by the approver)',
    (p) => policies.assertMayCancelEvaluation(p, { requester: cast.approver.email }, active),
    ['requester', 'sponsor', 'itAdmin', 'approver'],
    'forbidden',
    "Only Refund Triage's requester, its sponsors or an IT admin can cancel its evaluation.",
  ],
  [
    'assertMaySeeEvaluation',
    (p) => policies.assertMaySeeEvaluation(p, {}, active),
    ['requester', 'sponsor', 'itAdmin', 'security', 'compliance'],
    'forbidden',
    "Only Refund Triage's requester, sponsors, IT admins, security and compliance see its evaluation.",
  ],
  [
    'assertMayAddKnowledgeNote',
    (p) => policies.assertMayAddKnowledgeNote(org, p, active),
    ['sponsor', 'itAdmin', 'security', 'oncall'],
    'forbidden',
    (w) =>
      `Only ${w === 'stranger' ? "the agent's" : "Refund Triage's"} sponsors, IT admins, security and on-call can add knowledge notes.`,
  ],
  [
    'assertMayRegisterShadow',
    (p) => policies.assertMayRegisterShadow(org, p, alert()),
    ['sponsor', 'itAdmin', 'security', 'oncall'],
    'forbidden',
    'Only on-call responders, IT admins, security and the sponsor assigned to it can register this agent.',
  ],
  [
    'assertMayActOnAlert',
    (p) => policies.assertMayActOnAlert(org, p, undefined),
    ['itAdmin', 'security', 'oncall'],
    'forbidden',
    `Only the on-call rotation (${org.people
      .filter((p) => p.roles.includes(`oncall:${org.settings.alertRotation}`))
      .map((p) => p.name)
      .join(', ')}), IT admins and security can act on alerts.`,
  ],
  [
    'assertMayRequestSuspension',
    (p) => policies.assertMayRequestSuspension(org, p, undefined),
    ['itAdmin', 'security', 'oncall'],
    'forbidden',
    'Only on-call responders, IT admins and security can ask to suspend an agent.',
  ],
  [
    'assertMayReadDecisions',
    (p) => policies.assertMayReadDecisions(p, active),
    ['sponsor', 'itAdmin', 'security', 'compliance'],
    'forbidden',
    "Only Refund Triage's sponsors, IT admins, security and compliance can read its decisions.",
  ],
  [
    'assertMayAskBoundaryChange',
    (p) => policies.assertMayAskBoundaryChange(p, active),
    ['sponsor'],
    'forbidden',
    "Only Refund Triage's sponsors can ask to change its boundaries.",
  ],
  [
    'assertMayDecideBoundaryChange',
    (p) => policies.assertMayDecideBoundaryChange(p, { id: 'bch_1', requestedBy: cast.sponsor.email }),
    ['itAdmin'],
    'forbidden',
    'Only IT admins can decide boundary changes.',
  ],
  [
    'assertMayTakeHandoff',
    (p) => policies.assertMayTakeHandoff(p, { people: [cast.approver.email], queueTitle: 'Refunds' }),
    ['approver', 'itAdmin'],
    'forbidden',
    'Only the Refunds queue takes this case.',
  ],
  [
    'assertMayResolveHandoff',
    (p) => policies.assertMayResolveHandoff(p, { takenBy: cast.approver.email }),
    ['approver', 'itAdmin'],
    'forbidden',
    'Only the person who took this case resolves it.',
  ],
  [
    'assertMayResolveHandoff (not taken)',
    (p) => policies.assertMayResolveHandoff(p, {}),
    ['itAdmin'],
    'forbidden',
    'Take the case before you resolve it.',
  ],
  [
    'assertMayAnswerSponsorship',
    (p) => policies.assertMayAnswerSponsorship(p, active, { email: cast.sponsor.email, by: cast.requester.email }, 'accept', 'Sponsor'),
    ['sponsor', 'itAdmin'],
    'forbidden',
    'Only the person named, or an IT admin, can answer for a sponsorship.',
  ],
  [
    'assertMayRetryWebhooks',
    (p) => policies.assertMayRetryWebhooks(p, 'retry'),
    ['itAdmin'],
    'forbidden',
    'Only IT admins can retry webhook deliveries.',
  ],
  [
    'assertMayRetryWebhooks (re-enable)',
    (p) => policies.assertMayRetryWebhooks(p, 'enable'),
    ['itAdmin'],
    'forbidden',
    'Only IT admins can re-enable a webhook subscription.',
  ],
  [
    'assertMayReadCheckInNumbers',
    (p) => policies.assertMayReadCheckInNumbers(org, p, active),
    everyone.filter((w) => w !== 'stranger'),
    'forbidden',
    "Only those who may see the agent can read its check-in's numbers.",
  ],
  [
    'assertMayReadAlertNumbers',
    (p) => policies.assertMayReadAlertNumbers(org, p, alert({ kind: 'drift' }), active),
    everyone.filter((w) => w !== 'stranger'),
    'forbidden',
    "Only the alert's responders and those who may see the agent can read its numbers.",
  ],
  [
    'assertMayTakeLeaverOffer',
    (p) => policies.assertMayTakeLeaverOffer(p, active, { manager: cast.approver.email, status: 'open' }),
    ['approver'],
    'forbidden',
    'No sponsorship of Refund Triage is waiting for you.',
  ],
  [
    'assertDashboardReaderPerson',
    (p) => policies.assertDashboardReaderPerson(p),
    ['itAdmin', 'compliance', 'dpo'],
    'forbidden',
    'The dashboard is for IT admins, compliance and the DPO.',
  ],
  [
    'assertMayReadComplianceReport',
    (p) => policies.assertMayReadComplianceReport(p),
    ['compliance', 'dpo'],
    'forbidden',
    'Only compliance officers and the DPO can read the compliance report.',
  ],
  [
    'assertMayStartGapFix',
    (p) => policies.assertMayStartGapFix(p),
    ['compliance', 'dpo'],
    'forbidden',
    'Only compliance officers and the DPO can start the fix of a compliance gap.',
  ],
];

/**
 * The agents' rules (the agent API and MCP): about the agent and its own records, not a person.
 * Each: what it allows, and the refusal (code and words the API answered before) of what it does not.
 */
const agentRules: Array<[string, () => boolean, () => void, { code: string; message: string }]> = [
  [
    'mayAgentAct / assertAgentMayAct: a suspended or retired agent may not act',
    () => policies.mayAgentAct({ eligible: true }) && !policies.mayAgentAct({ eligible: false }),
    () => policies.assertAgentMayAct({ eligible: false, agent: suspended }),
    { code: 'forbidden', message: 'The agent is suspended: it may not act.' },
  ],
  [
    'isAgentsOwn / assertAgentsOwn: another agent’s approval or hand-off, or none, is not found',
    () =>
      policies.isAgentsOwn(active.id, { agentId: active.id }) &&
      !policies.isAgentsOwn(active.id, { agentId: 'agt_someone_else' }) &&
      !policies.isAgentsOwn(active.id, undefined),
    () => policies.assertAgentsOwn(active.id, { agentId: 'agt_someone_else' }, 'approval'),
    { code: 'not_found', message: 'No such approval for this agent.' },
  ],
  [
    'mayGiveCommand / assertMayGiveCommand: people give people’s commands, agents agents’',
    () =>
      policies.mayGiveCommand('person', 'person') &&
      policies.mayGiveCommand('agent', 'agent') &&
      !policies.mayGiveCommand('agent', 'person') &&
      !policies.mayGiveCommand('person', 'agent'),
    () => policies.assertMayGiveCommand('agent', 'person'),
    { code: 'forbidden', message: 'An agent may not give a person’s command.' },
  ],
];

/** The code and words of what `act` throws, or undefined when it does not. */
function refusal(act: () => void): { code: string; message: string } | undefined {
  try {
    act();
    return undefined;
  } catch (error) {
    if (!(error instanceof RosterError)) throw error;
    return { code: error.code, message: error.userMessage };
  }
}

describe('policies: every who-may rule, for each kind of person', () => {
  it.each(predicates)('%s allows exactly the people it names', (_name, rule, allowed) => {
    const verdicts = Object.fromEntries(everyone.map((who) => [who, rule(cast[who])]));
    expect(verdicts).toEqual(Object.fromEntries(everyone.map((who) => [who, allowed.includes(who)])));
  });

  it.each(asserts)(
    '%s passes the people it names and refuses everyone else in the words they saw before',
    (_name, act, allowed, code, words) => {
      for (const who of everyone) {
        const got = refusal(() => act(cast[who]));
        if (allowed.includes(who)) expect({ who, got }).toEqual({ who, got: undefined });
        else
          expect({ who, got }).toEqual({
            who,
            got: { code: typeof code === 'string' ? code : code(who), message: typeof words === 'string' ? words : words(who) },
          });
      }
    },
  );

  it('agentVisibility (find puts it in the database query) lets each person see exactly the agents maySeeAgent lets them see', () => {
    // The query form, read the way agent-search hands it to the store: every agent, or one named
    // by e-mail (sponsor, proposed sponsor, requester) or in one of the business units.
    const sees = (p: Person, a: AgentRecord): boolean => {
      const v = policies.agentVisibility(org, p);
      if (v === 'all') return true;
      const named = [...a.sponsors, ...(a.proposedSponsors ?? []).map((s) => s.email), a.requestedBy];
      return named.includes(v.email) || v.businessUnits.includes(a.businessUnit);
    };
    const agents = [
      active,
      agent({ businessUnit: 'finance', sponsors: ['someone@example.test'], requestedBy: 'someone@example.test' }),
      agent({ businessUnit: 'people-ops', sponsors: ['someone@example.test'], requestedBy: cast.requester.email }),
      agent({ businessUnit: 'engineering', sponsors: [cast.stranger.email], requestedBy: 'someone@example.test' }),
      agent({
        businessUnit: 'finance',
        sponsors: ['someone@example.test'],
        requestedBy: 'someone@example.test',
        proposedSponsors: [{ id: 'sp_2', email: cast.requester.email, by: cast.itAdmin.email, at: '' }],
      }),
    ];
    const mismatches = everyone.flatMap((who) =>
      agents.filter((a) => sees(cast[who], a) !== policies.maySeeAgent(org, cast[who], a)).map((a) => ({ who, agent: a.businessUnit })),
    );
    expect(mismatches).toEqual([]);
    // It is not 'all' for everyone: a stranger sees only what names them.
    expect(policies.agentVisibility(org, cast.stranger)).not.toBe('all');
    expect(agents.filter((a) => sees(cast.stranger, a)).map((a) => a.businessUnit)).toEqual(['people-ops', 'engineering']);
  });

  it.each(agentRules)('%s', (_name, allows, refuse, refused) => {
    expect(allows()).toBe(true);
    expect(refusal(refuse)).toEqual(refused);
  });

  it('every predicate and assert of the module is in a table above', () => {
    const named = new Set([
      ...[...predicates, ...asserts].map(([name]) => name.split(' ')[0]),
      // An agent rule's name is its predicate and assert: `mayX / assertMayX: …`.
      ...agentRules.flatMap(([name]) => name.split(':')[0]!.split(' / ')),
    ]);
    const untested = Object.keys(policies).filter((name) => !named.has(name) && name !== 'requestableUnits' && name !== 'agentVisibility');
    expect(untested).toEqual([]);
  });

  it('the refusals that are not "forbidden": a stranger is told the agent does not exist; separation of duties; a resting agent', () => {
    expect(refusal(() => policies.assertMayAskReactivation(org, cast.stranger, suspended))).toEqual({
      code: 'not_found',
      message: `I couldn't find the agent "${suspended.id}".`,
    });
    expect(refusal(() => policies.assertMayConfirmBreakGlass(cast.security, { requestedBy: cast.security.email }))).toEqual({
      code: 'separation_of_duties',
      message: "You used this break-glass yourself, so you can't confirm it; another member of security reviews it.",
    });
    expect(refusal(() => policies.assertMayConfirmBreakGlass(cast.itAdmin, breakGlass))).toEqual({
      code: 'forbidden',
      message: 'Only security reviews break-glass access.',
    });
    expect(refusal(() => policies.assertMayConfirmBreakGlass(cast.security, breakGlass))).toBeUndefined();
    expect(refusal(() => policies.assertMayDecideBoundaryChange(cast.itAdmin, { id: 'bch_1', requestedBy: cast.itAdmin.email }))).toEqual({
      code: 'separation_of_duties',
      message: 'You asked for this change, so another IT admin decides it.',
    });
    expect(refusal(() => policies.assertMayDecideCheckIn(undefined, active))).toEqual({
      code: 'forbidden',
      message: "Only Refund Triage's sponsors or an IT admin can decide on its review.",
    });
    for (const who of ['sponsor', 'itAdmin'] as const) {
      expect(refusal(() => policies.assertMayProposeVersion(cast[who], suspended))).toEqual({
        code: 'invalid_input',
        message: 'Refund Triage is suspended; only a working agent gets new versions.',
      });
    }
    const selfNamed = { email: cast.sponsor.email, by: cast.sponsor.email };
    expect(refusal(() => policies.assertMayAnswerSponsorship(cast.sponsor, active, selfNamed, 'accept', 'Sponsor'))).toEqual({
      code: 'separation_of_duties',
      message: "You put yourself forward as Refund Triage's sponsor; an IT admin confirms it.",
    });
    expect(refusal(() => policies.assertMayAnswerSponsorship(cast.sponsor, active, selfNamed, 'decline', 'Sponsor'))).toBeUndefined();
    const adminNamed = { email: cast.stranger.email, by: cast.itAdmin.email };
    expect(refusal(() => policies.assertMayAnswerSponsorship(cast.itAdmin, active, adminNamed, 'accept', 'Stranger'))).toEqual({
      code: 'separation_of_duties',
      message: 'You named Stranger as sponsor, so another IT admin confirms it.',
    });
    expect(policies.mayRetryWebhooks(undefined)).toBe(false);
  });

  it('request exceptions: requester:<unit> lets a person request for another business unit, own unit first', () => {
    const exception = person('exception@example.test', 'finance', ['requester:customer-support']);
    expect(policies.mayRequestFor(exception, 'customer-support')).toBe(true);
    expect(policies.requestableUnits(org, exception)).toEqual(['finance', 'customer-support']);
    expect(policies.requestableUnits(org, cast.stranger)).toEqual(['people-ops']);
  });
});
