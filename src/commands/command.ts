import { z } from 'zod';
import { accessRequestInputSchema, breakGlassInputSchema } from '../core/access.js';
import { agentRequestInputSchema } from '../core/agent-request.js';
import { InvalidInputError } from '../core/errors.js';
import { AGENT_STATUSES } from '../core/lifecycle.js';
import { commandIdSchema, idOrUndefined, runIdSchema } from '../core/ids.js';
import { accessCheckRequestSchema } from '../core/live-scopes.js';
import { PICK_PURPOSES } from '../core/agent-pickers.js';
import { refusalOf } from '../core/runtime-approvals.js';

/*
 * Every command a person gives Roster, whichever door it comes through (a Slack or Teams click,
 * a typed chat word, the CLI, the agent-facing HTTP API or MCP): one zod discriminated union on
 * `type`, its ids and fields parsed here, once. Who gives it (the actor) is not part of the
 * command: the adapter resolved the person, and hands them to the bus beside it.
 */

/** A record id a decision names (a card's buttons carry them: one missing is a stale or forged card). */
const recordId = z.string().min(1).max(100);
/** A record id to look up: an empty or unknown one is "not found", like one the person may not see. */
const lookedUp = z.string().max(100);

/** Approve or deny an approval step of a run (a request, a sign-off, a runtime approval). */
export const decideCommand = z.object({
  type: z.literal('run.decide'),
  runId: runIdSchema,
  stepId: recordId,
  decision: z.enum(['approve', 'deny']),
  comment: z.string().max(3000).optional(),
  /**
   * The door answers with the decision (a Teams invoke held open): the decision and its audit entry
   * are stored before the result, the other cards are updated after (see the engine's `answerFirst`).
   */
  answerFirst: z.boolean().optional(),
});

/** A request (run) as it is now, for whom it concerns (an approval card, a deny form). */
export const showRunCommand = z.object({ type: z.literal('run.show'), runId: lookedUp });

/** Ask to suspend the agent of an alert (an IT admin approves the suspension). */
export const requestSuspensionCommand = z.object({ type: z.literal('agent.suspension.request'), alertId: lookedUp });

/** Acknowledge an alert: paging stops, the rotation sees who has it. */
export const acknowledgeAlertCommand = z.object({ type: z.literal('alert.acknowledge'), alertId: lookedUp });

/** Escalate an alert to its rotation's next level now. */
export const escalateAlertCommand = z.object({ type: z.literal('alert.escalate'), alertId: lookedUp });

/** Snooze an alert for a while; it wakes up and pages again after. */
export const snoozeAlertCommand = z.object({
  type: z.literal('alert.snooze'),
  alertId: lookedUp,
  for: z.enum(['1h', '4h', '24h'], 'Snooze for 1h, 4h, 24h.'),
});

/** Resolve an alert. */
export const resolveAlertCommand = z.object({ type: z.literal('alert.resolve'), alertId: lookedUp });

/** Block the telemetry of a shadow alert's unregistered agents, and resolve the alert. */
export const blockShadowCommand = z.object({ type: z.literal('alert.block'), alertId: lookedUp });

/** Extend a grant from its reminder: a new access request for the same scope, duration and reason. */
export const extendGrantCommand = z.object({ type: z.literal('grant.extend'), grantId: lookedUp });

/** Let a grant expire on time (a reminder's answer): the later reminders are not sent. */
export const letGrantExpireCommand = z.object({ type: z.literal('grant.let-expire'), grantId: lookedUp });

/** Revoke a pending or active grant now, saying why. */
export const revokeGrantCommand = z.object({ type: z.literal('grant.revoke'), grantId: lookedUp, reason: z.string().max(3000) });

/** Security confirms a break-glass use after the fact. */
export const confirmBreakGlassCommand = z.object({ type: z.literal('grant.confirm'), grantId: lookedUp });

/** The sponsor's answer to a check-in's review card. */
export const decideCheckInCommand = z.object({
  type: z.literal('checkin.decide'),
  checkInId: lookedUp,
  choice: z.enum(['keep', 'retrain', 'retire'], 'Choose keep, retrain or retire.'),
});

/** Cancel a pending agent or access request. */
export const cancelRequestCommand = z.object({
  type: z.literal('request.cancel'),
  runId: z
    .string()
    .trim()
    .regex(/^run_[\w-]{1,80}$/, 'Name the request to cancel, e.g. `cancel run_1a2b3c4d`.')
    .brand<'RunId'>(),
  reason: z.string().max(3000).optional(),
});

/** Request an agent from the catalog; `shadowAgentId` registers an agent already running under that id (a shadow alert's Register). */
export const requestAgentCommand = agentRequestInputSchema.extend({
  type: z.literal('agent.request'),
  shadowAgentId: z
    .string()
    .regex(/^[\w.:-]{1,200}$/, 'That agent id cannot be registered.')
    .brand<'AgentId'>()
    .optional(),
});

/** Typed-in evaluation results for an agent waiting at its evaluation gate. */
export const submitEvaluationCommand = z.object({
  type: z.literal('evaluation.submit'),
  agentId: lookedUp,
  accuracy: z.coerce.number().min(0, 'Accuracy is between 0 and 1.').max(1, 'Accuracy is between 0 and 1.'),
  p95LatencyMs: z.coerce.number().min(0, 'Latency cannot be negative.').max(3_600_000),
  costPerTaskUSD: z.coerce.number().min(0, 'Cost cannot be negative.').max(10_000),
  roleFitChecked: z.array(z.string().max(500)).max(50).default([]),
  notes: z.string().max(3000).optional(),
});

/** Which agents a listing covers: the person's own (sponsored or requested), every agent, or one business unit's. */
export const listScope = z.union([z.literal('mine'), z.literal('all'), z.object({ businessUnit: z.string().trim().min(1).max(100) })]);
export type ListScope = z.output<typeof listScope>;

/** The agents a person may list, in a scope, optionally of some statuses. */
export const listAgentsCommand = z.object({
  type: z.literal('agents.list'),
  scope: listScope,
  status: z.array(z.enum(AGENT_STATUSES, `Status must be one of ${AGENT_STATUSES.join(', ')}.`)).optional(),
});

/** One agent (by id or by name), with its grants and request. */
export const showAgentCommand = z.object({
  type: z.literal('agent.show'),
  // An empty or unknown key is "not found", as for an agent the person may not see.
  agent: z.string().max(200),
});

/** The person's own requests still open. */
export const openRequestsCommand = z.object({ type: z.literal('requests.open') });

/**
 * Request time-bound access for an agent (by id or name) to a scope its role allows (the `access`
 * word and the access form); an Extend on a grant is `grant.extend`.
 */
export const requestAccessCommand = accessRequestInputSchema.omit({ extends: true }).extend({ type: z.literal('access.request') });

/** Emergency access for an agent (by id or name), granted at once and reviewed by security after (`break-glass`). */
export const breakGlassCommand = breakGlassInputSchema.extend({ type: z.literal('access.break-glass') });

/** The scopes an agent (by id or name) may be granted: what `access` names when its scope or reason is missing. */
export const accessScopesCommand = z.object({ type: z.literal('access.scopes'), agent: z.string().max(200) });

/** Keep or Revoke on one grant of an access review (its cycle). */
export const answerAccessReviewCommand = z.object({
  type: z.literal('access-review.answer'),
  cycle: lookedUp,
  grantId: lookedUp,
  answer: z.enum(['keep', 'revoke']),
});

// ── The typed chat words of governance, offboarding and delegation, and `find` ──────────────────

/** The bound of a free text (a reason, a note): the services check the real limits, in their own words. */
const TEXT_MAX = 20_000;

/** An agent a typed word names: its id, or its name (a quoted name is one word). */
const namedAgent = z.string().min(1, 'Name the agent by id or by "name in quotes".').max(200);

/**
 * An agent's recent decisions (and runtime approvals), optionally since a day and of one outcome:
 * the agent named (`agent`), or the decisions behind an alert (`alertId`: from 14 days before it was
 * raised, only the failures behind an error spike) or a check-in (`checkInId`: its current window).
 */
export const readDecisionsCommand = z.object({
  type: z.literal('agent.decisions'),
  agent: namedAgent.optional(),
  alertId: commandIdSchema('AlertId').optional(),
  checkInId: commandIdSchema('CheckInId').optional(),
  /**
   * How the person named the agent: typed (by name or id; an agent they may not see is "not
   * found", so names reveal nothing) or a card's button, by its id (the decision rule alone answers,
   * as it does for the decisions behind an alert or a check-in).
   */
  namedBy: z.enum(['words', 'card']).default('words'),
  since: z.date().optional(),
  outcome: z.string().max(TEXT_MAX).optional(),
});

/** The compliance report, for every regulation or one. */
export const complianceReportCommand = z.object({ type: z.literal('compliance.report'), regulation: z.string().max(TEXT_MAX).optional() });

/** The fleet at a glance. */
export const showFleetCommand = z.object({ type: z.literal('fleet.show') });

/** A private link to the fleet dashboard, valid 15 minutes. */
export const dashboardLinkCommand = z.object({ type: z.literal('dashboard.link') });

/** Start retiring an agent (sign-offs, revocation, archive, hand-over), optionally naming its successor. */
export const retireAgentCommand = z.object({
  type: z.literal('agent.retire'),
  agent: namedAgent,
  successor: z.string().min(1).max(200).optional(),
  reason: z.string().max(TEXT_MAX),
});

/** A retired agent's archive bundle: its digest, and whether it still verifies. */
export const showArchiveCommand = z.object({ type: z.literal('agent.archive'), agent: namedAgent });

/** Propose a new version: measured against the catalog and the live version, or typed-in results (`acc`, `p95`, `cost`, `fit`). */
export const proposeVersionCommand = z.object({
  type: z.literal('agent.version.propose'),
  agent: namedAgent,
  version: z.string().max(TEXT_MAX),
  metrics: z.partialRecord(z.enum(['acc', 'p95', 'cost', 'fit', 'endpoint']), z.string().max(TEXT_MAX)),
  changelog: z.string().max(TEXT_MAX),
});

/** Out of office: the person's approvals go to a delegate from one day to another. */
export const awayCommand = z.object({
  type: z.literal('delegation.away'),
  from: z.string().max(TEXT_MAX),
  to: z.string().max(TEXT_MAX),
  /** The delegate's e-mail (the door resolved a mention or a name). */
  delegate: z.string().max(200),
});

/** End the person's out-of-office delegation now. */
export const backCommand = z.object({ type: z.literal('delegation.back') });

/** The person's out-of-office delegation that has not ended, if any. */
export const currentDelegationCommand = z.object({ type: z.literal('delegation.current') });

/** Agents the person may see, by the words of `find` (filters and name words), one page. */
export const findAgentsCommand = z.object({
  type: z.literal('agents.find'),
  query: z.string().max(TEXT_MAX),
  page: z.number().int().min(1).max(1000).optional(),
});
// ── The agent buttons and prompts (src/channels/chat-actions.ts) ─────────────────────────────────

/** Take a hand-off case from its queue: the first to take it owns it. */
export const takeHandoffCommand = z.object({ type: z.literal('handoff.take'), handoffId: lookedUp });

/** Resolve a hand-off case one has taken, with one of its outcomes. */
export const resolveHandoffCommand = z.object({ type: z.literal('handoff.resolve'), handoffId: lookedUp, outcome: z.string().max(200) });

/**
 * Add a knowledge note on an agent: from its profile (`agentId`), typed (`note <agent> …`: `agent`, by
 * id or by name, which the person must be able to see), or as a failure mode from an alert
 * (`alertId`) or a check-in (`checkInId`) about it. The note's words are checked when it is recorded
 * (after who may add it), so a stranger is refused before being told the note is too short.
 */
export const addNoteCommand = z.object({
  type: z.literal('agent.note.add'),
  agentId: commandIdSchema('AgentId').optional(),
  agent: namedAgent.optional(),
  alertId: commandIdSchema('AlertId').optional(),
  checkInId: commandIdSchema('CheckInId').optional(),
  kind: z.enum(['failure-mode', 'high-value-interaction', 'note']).optional(),
  text: z.string().max(20_000),
});

/** Start on "retraining due": the retraining is under way (no more reminders until the next cadence). */
export const startRetrainingCommand = z.object({ type: z.literal('retraining.start'), agentId: commandIdSchema('AgentId') });

/**
 * Postpone a due retraining by some days, saying why (both checked when it is postponed, after who
 * may, so a mistyped number is told as such): from "retraining due" (`agentId`), or typed
 * (`retrain <agent> postpone …`: `agent`, by id or by name, which the person must be able to see).
 */
export const postponeRetrainingCommand = z.object({
  type: z.literal('retraining.postpone'),
  agentId: commandIdSchema('AgentId').optional(),
  agent: namedAgent.optional(),
  // A form's days as a number; one that is none (NaN) is refused with the days' own words.
  days: z.number().or(z.nan()),
  reason: z.string().max(20_000),
});

/**
 * Ask to reactivate a suspended agent, saying what was fixed (one of its sponsors and an IT admin
 * approve): from the Reactivate form (`agentId`), or typed (`reactivate <agent> …`: `agent`, by id or by name).
 */
export const requestReactivationCommand = z.object({
  type: z.literal('agent.reactivation.request'),
  agentId: commandIdSchema('AgentId').optional(),
  agent: namedAgent.optional(),
  reason: z.string().max(20_000),
});

/** Rotate key: a new telemetry key, shown once to who asked; the previous ones keep working for a grace period. */
export const rotateKeyCommand = z.object({ type: z.literal('agent.key.rotate'), agentId: commandIdSchema('AgentId') });

/** A new key after the onboarding key was not delivered; `credentialId` is the key the button was offered for. */
export const reissueKeyCommand = z.object({
  type: z.literal('agent.key.reissue'),
  agentId: commandIdSchema('AgentId'),
  credentialId: z.string().max(200).optional(),
});

/** An IT admin approves or denies (with the reason the sponsor reads) a sponsor's boundary change. */
export const decideBoundaryChangeCommand = z.object({
  type: z.literal('boundary.decide'),
  changeId: commandIdSchema('BoundaryChangeId'),
  decision: z.enum(['approve', 'deny']),
  // Checked once who may decide is known: a deny needs a few words.
  reason: z.string().max(20_000).optional(),
});

/** Start the fix of a compliance gap (from the compliance report), for one agent. */
export const fixComplianceGapCommand = z.object({
  type: z.literal('compliance.gap.fix'),
  agentId: commandIdSchema('AgentId'),
  gap: z.string().max(200),
});

/**
 * Confirm or decline a proposed sponsorship: one's own, or as an IT admin for the person named (by the
 * proposal's id on the card, `proposalId`, or typed, `sponsor <agt_…> accept <email>`: `confirm`). The
 * typed `sponsor <agt_…> accept` names the agent by its id as words (`agent`), and with no sponsorship
 * waiting for the person it accepts the leaver's agent offered to them instead.
 */
export const answerSponsorshipCommand = z.object({
  type: z.literal('sponsorship.answer'),
  agentId: commandIdSchema('AgentId').optional(),
  agent: z.string().max(TEXT_MAX).optional(),
  answer: z.enum(['accept', 'decline']),
  proposalId: z.string().max(100).optional(),
  /** An IT admin confirms this person's sponsorship (an e-mail). */
  confirm: z.string().max(TEXT_MAX).optional(),
});

/**
 * Accept a leaver's agent offered to its sponsor's manager, to keep it (`keep`) or to retire it
 * (`retire`: a retirement is signed off by the sponsors, so the manager takes the sponsorship first).
 */
export const takeLeaverOfferCommand = z.object({
  type: z.literal('leaver.offer.accept'),
  agentId: commandIdSchema('AgentId'),
  then: z.enum(['keep', 'retire']),
});

/** Retire agent on an alert about it: its retirement starts, the alert named as the reason. */
export const retireFromAlertCommand = z.object({ type: z.literal('alert.retire'), alertId: commandIdSchema('AlertId') });

/**
 * Assign sponsor on a shadow or ownerless alert: `sponsor` is a directory person's e-mail (the door
 * checks the form's words first: a sponsor named, and one Roster knows).
 */
export const assignAlertSponsorCommand = z.object({
  type: z.literal('alert.sponsor.assign'),
  alertId: lookedUp,
  sponsor: z.string().max(200),
});

/** Retry (re-queue the failed deliveries) or Re-enable (after a 410 Gone) on a webhook subscription's card. */
export const webhookActionCommand = z.object({
  type: z.literal('webhook.act'),
  subscriptionId: commandIdSchema('WebhookSubscriptionId'),
  action: z.enum(['retry', 'enable']),
});

/** Cancel evaluation on a running evaluation's progress card. */
export const cancelEvaluationCommand = z.object({ type: z.literal('evaluation.cancel'), evalRunId: commandIdSchema('EvalRunId') });

/** The numbers behind a check-in (its card's button). */
export const checkInNumbersCommand = z.object({ type: z.literal('checkin.numbers'), checkInId: commandIdSchema('CheckInId') });

/** The numbers behind an alert (its card's button). */
export const alertNumbersCommand = z.object({ type: z.literal('alert.numbers'), alertId: commandIdSchema('AlertId') });

// ── Register on a shadow alert, the interview's buttons, Record as failure mode ─────────────────

/**
 * Register on a shadow alert: opening its role prompt (no `roleId`), then the role picked (`roleId`,
 * checked once who may register is known), which answers with what the request form is filled with.
 */
export const registerShadowCommand = z.object({
  type: z.literal('alert.register'),
  alertId: commandIdSchema('AlertId'),
  roleId: z.string().max(200).optional(),
});

/**
 * Register endpoint and run: opening its form (no `endpoint`), then how Roster reaches the agent
 * (checked by the evaluation service once who may is known; the secret is sealed there).
 */
export const registerEvaluationCommand = z.object({
  type: z.literal('evaluation.register'),
  agentId: commandIdSchema('AgentId'),
  endpoint: z
    .object({
      kind: z.string().max(TEXT_MAX),
      url: z.string().max(TEXT_MAX),
      target: z.string().max(TEXT_MAX).optional(),
      secret: z.string().max(TEXT_MAX).optional(),
    })
    .optional(),
});

/** An evaluation run and its cases, for who may see it (the failing cases behind its verdict card's button). */
export const showEvaluationCommand = z.object({ type: z.literal('evaluation.show'), evalRunId: commandIdSchema('EvalRunId') });

/** Record as failure mode on a decision of an agent's decision log: the decision becomes a knowledge note. */
export const recordDecisionCommand = z.object({
  type: z.literal('decision.record'),
  agentId: commandIdSchema('AgentId'),
  eventId: z.string().max(200),
});

// ── Opening a command's form (a prompt): who may open it is who may give it ─────────────────────

/*
 * A form asks for a command's values; opening it names only what the command names (its agent or
 * alert), parsed as the command parses them. Its handler is the command's own load and who-may rule
 * (open-form.ts), so a person refused the command is refused its form in the same words.
 */

/** Open the note form: a profile's, an alert's or a check-in's Add note, or `note <agent>` typed without words. */
export const openNoteFormCommand = addNoteCommand
  .pick({ agentId: true, agent: true, alertId: true, checkInId: true })
  .extend({ type: z.literal('agent.note.open') });

/** Open the new-version form: a profile's Propose version, or `update <agent>` typed without a version. */
export const openVersionFormCommand = proposeVersionCommand.pick({ agent: true }).extend({ type: z.literal('agent.version.open') });

/** Open the postpone form: Postpone… on "retraining due", or `retrain <agent> postpone` typed without days. */
export const openPostponeFormCommand = postponeRetrainingCommand
  .pick({ agentId: true, agent: true })
  .extend({ type: z.literal('retraining.postpone.open') });

/** Open the reactivation form: Reactivate on a suspended agent. */
export const openReactivationFormCommand = requestReactivationCommand
  .pick({ agentId: true, agent: true })
  .extend({ type: z.literal('agent.reactivation.open') });

/** Open the sponsor form: Assign sponsor on a shadow or ownerless alert (a resolved alert's form is closed). */
export const openSponsorFormCommand = assignAlertSponsorCommand.pick({ alertId: true }).extend({ type: z.literal('alert.sponsor.open') });

// ── The typed `boundary` word ──────────────────────────────────────────────────────────────────

/**
 * A sponsor asks IT to change how one action of an agent (by id or by name) is bounded; an IT admin
 * decides it (`boundary.decide`). The action, the mode and the reason are the service's to check,
 * in its words, once who may ask is known.
 */
export const requestBoundaryChangeCommand = z.object({
  type: z.literal('boundary.request'),
  agent: namedAgent,
  action: z.string().max(TEXT_MAX),
  mode: z.string().max(TEXT_MAX),
  reason: z.string().max(TEXT_MAX),
});

// ── What waits for a person (`pending`, App Home, the Teams home card) ──────────────────────────

/** The decisions, hand-off cases and boundary changes waiting for the person. */
export const waitingTasksCommand = z.object({ type: z.literal('tasks.waiting') });

/** The fleet summary of the home card, for those it shows it to (nobody else is refused: their home has none). */
export const homeFleetCommand = z.object({ type: z.literal('home.fleet') });

// ── The typed `eval` word and a request's Evaluate button ───────────────────────────────────────

/**
 * Evaluate an agent (by id or by name; an empty or unknown one is "not found"): the endpoint form for
 * a role Roster measures, else the typed-in results form. `typedIn`: `asked` by the `self-reported`
 * word (an IT admin gets the typed-in form for a measured role too), `again` when the typed-in form
 * is shown again with its errors.
 */
export const openEvaluationCommand = z.object({
  type: z.literal('evaluation.open'),
  agent: z.string().max(200),
  typedIn: z.enum(['asked', 'again']).optional(),
});

// ── A form's agent picker ───────────────────────────────────────────────────────────────────────

/**
 * The agents a form opened without one offers (its purpose names the picker's rule): all of them,
 * those whose name holds `query`, or whether it offers the one picked (`agentId`, client data: one
 * that cannot be an agent id is offered nothing).
 */
export const pickAgentsCommand = z.object({
  type: z.literal('agents.pick'),
  purpose: z.enum(PICK_PURPOSES),
  query: z.string().max(TEXT_MAX).optional(),
  agentId: z
    .string()
    .max(200)
    .transform((raw) => idOrUndefined('AgentId', raw) ?? '')
    .optional(),
});

// ── Agents' commands (the agent API and MCP; the actor is the agent of the bearer token) ────────

/*
 * An agent's request body and `wait` are carried as the agent sent them and parsed by the handler
 * with the API's own schemas (src/core/runtime-approvals.ts, handoffs.ts, long-poll.ts), after the
 * agent's standing is authorised: a suspended agent is refused as suspended whatever it sent, as
 * the API always answered (the access check, which a suspended agent may make, is parsed here). An approval or hand-off id is parsed here, once: one that cannot be an
 * id names no record (undefined), and is refused as not found, like another agent's.
 */
const approvalToLookUp = z.string().transform((raw) => idOrUndefined('ApprovalId', raw));
const handoffToLookUp = z.string().transform((raw) => idOrUndefined('HandoffId', raw));

/** Ask before acting (`POST /api/v1/approvals`, `request_approval`). */
export const requestApprovalCommand = z.object({ type: z.literal('runtime.approval.request'), body: z.unknown() });

/** An approval as it is now, or once decided within `wait` seconds (`GET /api/v1/approvals/{id}`). */
export const showApprovalCommand = z.object({ type: z.literal('runtime.approval.show'), approvalId: approvalToLookUp, wait: z.unknown() });

/** Use an approval, bound to the details approved (`POST /api/v1/approvals/{id}/consume`). */
export const consumeApprovalCommand = z.object({
  type: z.literal('runtime.approval.consume'),
  approvalId: approvalToLookUp,
  body: z.unknown(),
});

/** Hand a case to people (`POST /api/v1/handoffs`, `hand_off_to_human`). */
export const handOffCommand = z.object({ type: z.literal('runtime.handoff.create'), body: z.unknown() });

/** A hand-off as it is now, or once resolved within `wait` seconds (`GET /api/v1/handoffs/{id}`). */
export const showHandoffCommand = z.object({ type: z.literal('runtime.handoff.show'), handoffId: handoffToLookUp, wait: z.unknown() });

/**
 * May the agent use a scope now (`POST /api/v1/access/check`, `check_access`)? Parsed here, once,
 * with the check's own schema: an agent may always ask, suspended or not, so nothing about it need
 * be authorised before its request is read (the HTTP route refuses a bad body first, in its words).
 */
export const checkAccessCommand = accessCheckRequestSchema.extend({ type: z.literal('runtime.access.check') });

/** One finished task of the agent, for its check-ins (`report_task`). */
export const reportTaskCommand = z.object({ type: z.literal('runtime.task.report'), body: z.unknown() });

/** The commands an agent gives (every other command is a person's). */
const agentCommands = [
  requestApprovalCommand,
  showApprovalCommand,
  consumeApprovalCommand,
  handOffCommand,
  showHandoffCommand,
  checkAccessCommand,
  reportTaskCommand,
] as const;

/** The names of the agents' commands. */
export type AgentCommandType = z.input<(typeof agentCommands)[number]>['type'];

/** Whether a command type is an agent's. */
export const isAgentCommandType = (type: unknown): type is AgentCommandType => agentCommands.some((c) => c.shape.type.value === type);

/** Every command, by its `type`. */
export const commandSchema = z.discriminatedUnion('type', [
  decideCommand,
  showRunCommand,
  cancelRequestCommand,
  requestAgentCommand,
  submitEvaluationCommand,
  listAgentsCommand,
  showAgentCommand,
  openRequestsCommand,
  requestSuspensionCommand,
  decideCheckInCommand,
  acknowledgeAlertCommand,
  escalateAlertCommand,
  snoozeAlertCommand,
  resolveAlertCommand,
  blockShadowCommand,
  extendGrantCommand,
  letGrantExpireCommand,
  revokeGrantCommand,
  confirmBreakGlassCommand,
  requestAccessCommand,
  breakGlassCommand,
  accessScopesCommand,
  answerAccessReviewCommand,
  readDecisionsCommand,
  complianceReportCommand,
  showFleetCommand,
  dashboardLinkCommand,
  retireAgentCommand,
  showArchiveCommand,
  proposeVersionCommand,
  awayCommand,
  backCommand,
  currentDelegationCommand,
  findAgentsCommand,
  // The agent buttons and prompts.
  takeHandoffCommand,
  resolveHandoffCommand,
  addNoteCommand,
  startRetrainingCommand,
  postponeRetrainingCommand,
  requestReactivationCommand,
  rotateKeyCommand,
  reissueKeyCommand,
  decideBoundaryChangeCommand,
  fixComplianceGapCommand,
  answerSponsorshipCommand,
  takeLeaverOfferCommand,
  retireFromAlertCommand,
  assignAlertSponsorCommand,
  webhookActionCommand,
  cancelEvaluationCommand,
  checkInNumbersCommand,
  alertNumbersCommand,
  // Register on a shadow alert, the interview's buttons, Record as failure mode.
  registerShadowCommand,
  registerEvaluationCommand,
  showEvaluationCommand,
  recordDecisionCommand,
  // Opening a command's form.
  openNoteFormCommand,
  openVersionFormCommand,
  openPostponeFormCommand,
  openReactivationFormCommand,
  openSponsorFormCommand,
  // The typed boundary word.
  requestBoundaryChangeCommand,
  // What waits for a person.
  waitingTasksCommand,
  homeFleetCommand,
  // A form's agent picker.
  pickAgentsCommand,
  // The typed eval word and the Evaluate button.
  openEvaluationCommand,
  ...agentCommands,
]);

/** A command as a door gives it (before parsing). */
export type Command = z.input<typeof commandSchema>;
/** The names of the commands. */
export type CommandType = Command['type'];
/** A command of one type, as a door gives it. */
export type CommandOf<T extends CommandType> = Extract<Command, { type: T }>;
/** The names of the commands a person gives. */
export type PersonCommandType = Exclude<CommandType, AgentCommandType>;
/** A command of one type, parsed. */
export type Parsed<T extends CommandType> = Extract<z.output<typeof commandSchema>, { type: T }>;

/** Field problems of a refused command, by field (the first problem of each). */
function fieldsOf(error: z.ZodError): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const issue of error.issues) fields[String(issue.path[0] ?? 'form')] ??= issue.message;
  return fields;
}

/** How a command that cannot be read is refused to the person, by type; the rest say their first problem. */
const refusals: Partial<Record<CommandType, (fields: Record<string, string>) => string>> = {
  // A decision comes from a card's buttons: a malformed one is a stale or forged card, not a typing mistake.
  'run.decide': () => 'That decision could not be read; please use the buttons on the card.',
  'agent.request': (fields) => `Please fix the request: ${Object.values(fields).join(' ')}`,
  'evaluation.submit': (fields) => `Please fix the evaluation: ${Object.values(fields).join(' ')}`,
  'access.request': (fields) => `Please fix the access request: ${Object.values(fields).join(' ')}`,
  'access.break-glass': (fields) => `Please fix the break-glass request: ${Object.values(fields).join(' ')}`,
};

/** Parses a command, or refuses it with the coded `invalid_input` error, its problems by field. */
export function parseCommand(raw: unknown): z.output<typeof commandSchema> {
  const parsed = commandSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const fields = fieldsOf(parsed.error);
  const type = (raw as { type?: unknown } | null | undefined)?.type;
  const refusal = typeof type === 'string' ? refusals[type as CommandType] : undefined;
  if (!commandSchema.options.some((o) => o.shape.type.value === type)) throw new InvalidInputError('Roster does not know that command.');
  // An agent is refused in the API's words and code (400 invalid_request), as its doors always answered.
  if (isAgentCommandType(type)) throw refusalOf(parsed.error);
  throw new InvalidInputError(refusal ? refusal(fields) : Object.values(fields)[0]!, fields);
}
