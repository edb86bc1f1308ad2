import type { CommandHandlers } from './bus.js';
import { alertActionHandlers, type AlertActionDeps } from './handlers/alert-actions.js';
import { confirmBreakGlassHandler, type ConfirmBreakGlassDeps } from './handlers/confirm-break-glass.js';
import { extendGrantHandler, type ExtendGrantDeps } from './handlers/extend-grant.js';
import { letGrantExpireHandler, type LetGrantExpireDeps } from './handlers/let-grant-expire.js';
import { revokeGrantHandler, type RevokeGrantDeps } from './handlers/revoke-grant.js';
import { cancelRequestHandler, type CancelRequestDeps } from './handlers/cancel-request.js';
import { decideHandler, type DecideDeps } from './handlers/decide.js';
import { decideCheckInHandler, type DecideCheckInDeps } from './handlers/decide-check-in.js';
import { listAgentsHandler, type ListAgentsDeps } from './handlers/list-agents.js';
import { openRequestsHandler, type OpenRequestsDeps } from './handlers/open-requests.js';
import { requestAgentHandler, type RequestAgentDeps } from './handlers/request-agent.js';
import { requestSuspensionHandler, type RequestSuspensionDeps } from './handlers/request-suspension.js';
import { showAgentHandler, type ShowAgentDeps } from './handlers/show-agent.js';
import { showRunHandler, type ShowRunDeps } from './handlers/show-run.js';
import { submitEvaluationHandler, type SubmitEvaluationDeps } from './handlers/submit-evaluation.js';
import { requestAccessHandler, type RequestAccessDeps } from './handlers/request-access.js';
import { breakGlassHandler, type BreakGlassDeps } from './handlers/break-glass.js';
import { accessScopesHandler, type AccessScopesDeps } from './handlers/access-scopes.js';
import { answerAccessReviewHandler, type AnswerAccessReviewDeps } from './handlers/answer-access-review.js';
import { governanceHandlers, type GovernanceDeps } from './handlers/governance.js';
import { offboardingHandlers, type OffboardingDeps } from './handlers/offboarding.js';
import { delegationHandlers, type DelegationDeps } from './handlers/delegation.js';
import { findAgentsHandler, type FindAgentsDeps } from './handlers/find-agents.js';
import { handoffHandlers, type HandoffDeps } from './handlers/handoffs.js';
import { addNoteHandler, type AddNoteDeps } from './handlers/add-note.js';
import { takeLeaverOfferHandler, type TakeLeaverOfferDeps } from './handlers/leaver-offer.js';
import { retireFromAlertHandler, type RetireFromAlertDeps } from './handlers/retire-from-alert.js';
import { assignAlertSponsorHandler, type AssignAlertSponsorDeps } from './handlers/assign-alert-sponsor.js';
import { webhookActionHandler, type WebhookActionDeps } from './handlers/webhook-action.js';
import { cancelEvaluationHandler, type CancelEvaluationDeps } from './handlers/cancel-evaluation.js';
import { numbersHandlers, type NumbersDeps } from './handlers/numbers.js';
import { retrainingHandlers, type RetrainingDeps } from './handlers/retraining.js';
import { requestReactivationHandler, type RequestReactivationDeps } from './handlers/request-reactivation.js';
import { agentKeyHandlers, type AgentKeyDeps } from './handlers/agent-keys.js';
import { decideBoundaryChangeHandler, type DecideBoundaryChangeDeps } from './handlers/decide-boundary-change.js';
import { fixComplianceGapHandler, type FixComplianceGapDeps } from './handlers/fix-compliance-gap.js';
import { answerSponsorshipHandler, type AnswerSponsorshipDeps } from './handlers/answer-sponsorship.js';
import { agentRuntimeHandlers, type AgentRuntimeDeps } from './handlers/agent-runtime.js';
import { registerShadowHandler, type RegisterShadowDeps } from './handlers/register-shadow.js';
import { evaluationButtonHandlers, type EvaluationButtonDeps } from './handlers/evaluation-buttons.js';
import { recordDecisionHandler, type RecordDecisionDeps } from './handlers/record-decision.js';
import { formOpeningHandlers, type FormOpeningType } from './handlers/open-form.js';
import { requestBoundaryChangeHandler, type RequestBoundaryChangeDeps } from './handlers/request-boundary-change.js';
import { waitingTasksHandlers, type WaitingTasksDeps } from './handlers/waiting-tasks.js';
import { pickAgentsHandler, type PickAgentsDeps } from './handlers/pick-agents.js';
import { openEvaluationHandler, type OpenEvaluationDeps } from './handlers/open-evaluation.js';

/** Every handler's dependencies: the composition root passes each its own small part. */
export interface HandlerDeps {
  decide: DecideDeps;
  showRun: ShowRunDeps;
  cancelRequest: CancelRequestDeps;
  requestAgent: RequestAgentDeps;
  submitEvaluation: SubmitEvaluationDeps;
  listAgents: ListAgentsDeps;
  showAgent: ShowAgentDeps;
  openRequests: OpenRequestsDeps;
  requestSuspension: RequestSuspensionDeps;
  decideCheckIn: DecideCheckInDeps;
  /** The alert buttons' (acknowledge, escalate, snooze, resolve, block): one shape, see alert-actions.ts. */
  alertActions: AlertActionDeps;
  extendGrant: ExtendGrantDeps;
  letGrantExpire: LetGrantExpireDeps;
  revokeGrant: RevokeGrantDeps;
  confirmBreakGlass: ConfirmBreakGlassDeps;
  requestAccess: RequestAccessDeps;
  breakGlass: BreakGlassDeps;
  accessScopes: AccessScopesDeps;
  answerAccessReview: AnswerAccessReviewDeps;
  /** The governance words (decisions, compliance, fleet, dashboard). */
  governance: GovernanceDeps;
  /** The offboarding and development words (retire, archive, update). */
  offboarding: OffboardingDeps;
  /** Out of office (away, back). */
  delegation: DelegationDeps;
  findAgents: FindAgentsDeps;
  // The agent buttons and prompts.
  /** Take it / Resolve on a hand-off case. */
  handoffs: HandoffDeps;
  /** Add note on a profile, an alert or a check-in, and the typed `note`. */
  addNote: AddNoteDeps;
  /** Start and Postpone on "retraining due", and the typed `retrain … postpone`. */
  retraining: RetrainingDeps;
  /** The Reactivate form, and the typed `reactivate`. */
  requestReactivation: RequestReactivationDeps;
  /** Rotate key on a profile, Issue a new key after a failed delivery. */
  agentKeys: AgentKeyDeps;
  /** Approve and Deny… on a boundary change. */
  decideBoundaryChange: DecideBoundaryChangeDeps;
  /** Start the fix on a compliance gap. */
  fixComplianceGap: FixComplianceGapDeps;
  /** Confirm and Decline on a proposed sponsorship, and the typed `sponsor … accept`. */
  answerSponsorship: AnswerSponsorshipDeps;
  /** Accept and Retire on a leaver's agent offered to their manager. */
  takeLeaverOffer: TakeLeaverOfferDeps;
  /** Retire agent on an alert. */
  retireFromAlert: RetireFromAlertDeps;
  /** Assign sponsor on a shadow or ownerless alert. */
  assignAlertSponsor: AssignAlertSponsorDeps;
  /** Retry and Re-enable on a webhook subscription's card. */
  webhookAction: WebhookActionDeps;
  /** Cancel evaluation on its progress card. */
  cancelEvaluation: CancelEvaluationDeps;
  /** The numbers behind a check-in or an alert. */
  numbers: NumbersDeps;
  /** Register on a shadow alert (its role prompt, then the request form's values). */
  registerShadow: RegisterShadowDeps;
  /** Register endpoint and run (its form, then the run), and the failing cases behind a verdict. */
  evaluationButtons: EvaluationButtonDeps;
  /** Record as failure mode on a decision of the log. */
  recordDecision: RecordDecisionDeps;
  /** The agents' commands (the agent API and MCP): see agent-runtime.ts. */
  agentRuntime: AgentRuntimeDeps;
  /** The typed `boundary`: a sponsor asks IT to change an action's boundary. */
  requestBoundaryChange: RequestBoundaryChangeDeps;
  /** `pending` and the home card: what waits for the person, and the fleet summary. */
  waitingTasks: WaitingTasksDeps;
  /** The agent picker of a form opened without its agent. */
  pickAgents: PickAgentsDeps;
  /** The typed `eval` and a request's Evaluate button: the endpoint or typed-in form. */
  openEvaluation: OpenEvaluationDeps;
}

/** The registry of command handlers, one per command type. */
export function createHandlers(deps: HandlerDeps): CommandHandlers {
  const handlers: Omit<CommandHandlers, FormOpeningType> = {
    'run.decide': decideHandler(deps.decide),
    'run.show': showRunHandler(deps.showRun),
    'request.cancel': cancelRequestHandler(deps.cancelRequest),
    'agent.request': requestAgentHandler(deps.requestAgent),
    'evaluation.submit': submitEvaluationHandler(deps.submitEvaluation),
    'agents.list': listAgentsHandler(deps.listAgents),
    'agent.show': showAgentHandler(deps.showAgent),
    'requests.open': openRequestsHandler(deps.openRequests),
    'agent.suspension.request': requestSuspensionHandler(deps.requestSuspension),
    'checkin.decide': decideCheckInHandler(deps.decideCheckIn),
    ...alertActionHandlers(deps.alertActions),
    'grant.extend': extendGrantHandler(deps.extendGrant),
    'grant.let-expire': letGrantExpireHandler(deps.letGrantExpire),
    'grant.revoke': revokeGrantHandler(deps.revokeGrant),
    'grant.confirm': confirmBreakGlassHandler(deps.confirmBreakGlass),
    'access.request': requestAccessHandler(deps.requestAccess),
    'access.break-glass': breakGlassHandler(deps.breakGlass),
    'access.scopes': accessScopesHandler(deps.accessScopes),
    'access-review.answer': answerAccessReviewHandler(deps.answerAccessReview),
    ...governanceHandlers(deps.governance),
    ...offboardingHandlers(deps.offboarding),
    ...delegationHandlers(deps.delegation),
    'agents.find': findAgentsHandler(deps.findAgents),
    // The agent buttons and prompts.
    ...handoffHandlers(deps.handoffs),
    'agent.note.add': addNoteHandler(deps.addNote),
    ...retrainingHandlers(deps.retraining),
    'agent.reactivation.request': requestReactivationHandler(deps.requestReactivation),
    ...agentKeyHandlers(deps.agentKeys),
    'boundary.decide': decideBoundaryChangeHandler(deps.decideBoundaryChange),
    'compliance.gap.fix': fixComplianceGapHandler(deps.fixComplianceGap),
    'sponsorship.answer': answerSponsorshipHandler(deps.answerSponsorship),
    'leaver.offer.accept': takeLeaverOfferHandler(deps.takeLeaverOffer),
    'alert.retire': retireFromAlertHandler(deps.retireFromAlert),
    'alert.sponsor.assign': assignAlertSponsorHandler(deps.assignAlertSponsor),
    'webhook.act': webhookActionHandler(deps.webhookAction),
    'evaluation.cancel': cancelEvaluationHandler(deps.cancelEvaluation),
    ...numbersHandlers(deps.numbers),
    'alert.register': registerShadowHandler(deps.registerShadow),
    ...evaluationButtonHandlers(deps.evaluationButtons),
    'decision.record': recordDecisionHandler(deps.recordDecision),
    ...agentRuntimeHandlers(deps.agentRuntime),
    'boundary.request': requestBoundaryChangeHandler(deps.requestBoundaryChange),
    ...waitingTasksHandlers(deps.waitingTasks),
    'agents.pick': pickAgentsHandler(deps.pickAgents),
    'evaluation.open': openEvaluationHandler(deps.openEvaluation),
  };
  // Opening a command's form asks that command's own handler (open-form.ts).
  return { ...handlers, ...formOpeningHandlers(handlers) };
}

export { CommandBus, type CommandBusDeps, type CommandEvent, type CommandHandlers, type CommandResults } from './bus.js';
export type { Command, CommandOf, CommandType, ListScope } from './command.js';
export { actorName, asAgent, asPerson, type Actor, type AgentActor, type PersonActor } from './actor.js';
export { actingAgent, type AccessCheck, type AgentCommandResults, type AgentRuntimeDeps } from './handlers/agent-runtime.js';
export type { AgentView } from './handlers/show-agent.js';
export type { DecisionsView } from './handlers/governance.js';
export type { EvaluationOpened } from './handlers/open-evaluation.js';
export type { ArchiveView, ProposedVersion } from './handlers/offboarding.js';
export type { AcceptedSponsorship } from './handlers/answer-sponsorship.js';
