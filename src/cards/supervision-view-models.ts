import { z } from 'zod';

/*
 * View-models of the supervision cards: the check-in review sent to sponsors and the alert
 * paged to on-call. Same conventions as view-models.ts: display values, ids only for buttons.
 */

const id = z.string().regex(/^[\w.:-]{1,200}$/, { error: 'expected an id of letters, digits, _ . : or -' });
const text = z.string().min(1);

/**
 * A metric's trend drawn as a chart: Teams' native `Chart.Line`; Slack keeps the text sparkline.
 * `x` is a day label ("12 Nov"), `y` the value in the unit the title and legend name, e.g. "Accuracy (%)".
 */
export const trendChartSchema = z.object({
  title: text,
  legend: text,
  points: z
    .array(z.object({ x: text, y: z.number().finite() }))
    .min(2)
    .max(31),
});

/**
 * A trend chart as an image Roster renders (Slack's image block): a signed, expiring link to
 * `/charts/<id>.png` and what the chart shows in words (its alt text). Only when Roster has a
 * public URL; otherwise Slack cards show the text sparkline.
 */
export const chartImageSchema = z.object({
  url: z.url({ protocol: /^https?$/ }).max(3000),
  alt: text.max(2000),
});

/** `checkin`: an agent's performance review with Keep / Retrain / Retire. */
export const checkInDataSchema = z.object({
  checkInId: id,
  agentId: id,
  agentName: text,
  roleTitle: text,
  verdict: z.enum(['healthy', 'watch', 'degraded']),
  recommendation: z.enum(['keep', 'retrain', 'retire']),
  /** e.g. "12 Nov – 19 Nov 2026 vs the 14 days before". */
  windowLabel: text,
  /** Status after the check-in, e.g. "probation". */
  statusLabel: text,
  metrics: z.array(z.object({ metric: text, baseline: text, current: text })),
  /** `plain`: what changed and how sure Roster is (the face); `summary` and `method`: the numbers (details). */
  findings: z.array(z.object({ severity: z.enum(['watch', 'degraded']), plain: text, summary: text, method: text })),
  /** Daily accuracy as a text sparkline (may be empty). */
  trend: z.string(),
  /** Daily accuracy as a chart, when there are two days or more. */
  chart: trendChartSchema.optional(),
  /** The same chart as an image with its baseline and thresholds (Slack), when Roster serves chart images. */
  chartImage: chartImageSchema.optional(),
  /** The latest re-run of the role's suite, "measured by Roster", when there is one. */
  measuredLabel: text.optional(),
  /** Who decided, once decided; buttons show only while undecided and the viewer may decide. */
  decision: z.object({ choice: z.enum(['keep', 'retrain', 'retire']), by: text, at: text }).optional(),
  canDecide: z.boolean(),
  /** Whether the viewer may record a knowledge note from the findings ("Add note"). */
  canNote: z.boolean().default(false),
  /** Whether the viewer may read the decisions behind the findings. */
  canReadDecisions: z.boolean().default(false),
});

/** `alert`: an on-call page with Acknowledge / Escalate / Snooze / Resolve / Suspend agent. */
export const alertDataSchema = z.object({
  alertId: id,
  agentId: id,
  agentName: text,
  kind: z.enum(['drift', 'fairness', 'error-spike', 'dormant', 'ownerless', 'shadow', 'retired-key', 'forbidden-repeated']),
  severity: z.enum(['warning', 'critical']),
  status: z.enum(['open', 'acknowledged', 'snoozed', 'resolved']),
  summary: text,
  /** The exact numbers behind the summary (a drift alert's statistics), shown on request. */
  details: z.array(text).max(10).default([]),
  /** The metric's trend (drift alerts), drawn as a chart in Teams and a sparkline in Slack. */
  chart: trendChartSchema.optional(),
  /** The same trend as a text sparkline (may be empty). */
  trend: z.string().default(''),
  /** The trend as an image (Slack), when Roster serves chart images. */
  chartImage: chartImageSchema.optional(),
  /** e.g. "Level 2 of 2 · paged Noah Fischer". */
  levelLabel: text,
  raisedAt: text,
  /** e.g. "seen 3 times" when raised more than once. */
  occurrencesLabel: z.string().optional(),
  /** e.g. "Acknowledged by Liam O'Neill at 25 Nov 2026, 20:31 UTC". */
  stateLabel: z.string().optional(),
  /** Whether to show the response buttons (open or snoozed alerts, to responders). */
  canRespond: z.boolean(),
  /** Whether "Suspend agent" applies (a registered agent). */
  canSuspend: z.boolean(),
  /** Whether "Block" applies (a shadow agent: its telemetry is refused from then on). */
  canBlock: z.boolean().default(false),
  /**
   * The agent's buttons, in order: `alert_register` (shadow: pick a catalog role, then the
   * request form under the agent's id), `alert_assign_sponsor` (shadow and ownerless),
   * `alert_note` (a knowledge note), `alert_decisions` (the decisions behind this alert),
   * `alert_retire` (starts the retirement flow).
   */
  agentActions: z
    .array(z.enum(['alert_register', 'alert_assign_sponsor', 'alert_note', 'alert_decisions', 'alert_retire']))
    .default([]),
});

/**
 * `prompt`: asks for one to four values before an action completes (a note's text, a
 * postponement's days and reason, a sponsor, a catalog role). Slack: a modal, `callback_id`
 * `prompt_submit`, `private_metadata` JSON `{ promptVerb, ...payload }`, each input at
 * `view.state.values[name][name]`. Teams: a card whose `Action.Execute` `prompt_submit` carries
 * data `{ promptVerb, ...payload }` plus the inputs under their names.
 */
export const PROMPT_VERBS = [
  'alert_register',
  'alert_assign_sponsor',
  'alert_note',
  'checkin_note',
  'retrain_postpone',
  'eval_register',
  'delegation_away',
  'agent_reactivate',
  'boundary_deny',
  'agent_note',
  'version_propose',
] as const;
export type PromptVerb = (typeof PROMPT_VERBS)[number];
export const PROMPT_INPUTS = [
  'agent',
  'text',
  'days',
  'sponsor',
  'role',
  'kind',
  'url',
  'target',
  'secret',
  'from',
  'until',
  'delegate',
  'version',
  'metrics',
] as const;
export type PromptInputName = (typeof PROMPT_INPUTS)[number];

export const promptDataSchema = z.object({
  /** Slack modal titles and buttons hold 24 characters: longer ones are cut with an ellipsis. */
  title: text,
  text,
  submitLabel: text,
  promptVerb: z.enum(PROMPT_VERBS),
  payload: z.record(z.string().regex(/^[a-zA-Z]{1,40}$/), id),
  inputs: z
    .array(
      z.object({
        name: z.enum(PROMPT_INPUTS),
        /**
         * `user`: a person (Slack's user select; on Teams a choice set searching the directory,
         * whose value is an e-mail). `choice`: one of `options`, or, with `search`, one found by
         * typing (an agent picker with more agents than a list holds).
         */
        kind: z.enum(['text', 'user', 'choice']),
        label: text,
        placeholder: z.string().optional(),
        multiline: z.boolean().default(false),
        maxLength: z.number().int().positive().max(3000).default(1000),
        options: z.array(z.object({ value: id, label: text })).max(100).optional(),
        /**
         * The dataset a choice is searched in as the person types, instead of listing `options`
         * (which then hold only the chosen one): Slack's external select (answered by
         * `block_suggestion`), Teams' `Data.Query` (answered by `application/search`).
         */
        search: z
          .string()
          .regex(/^[a-z]{1,20}(?::[a-z]{1,20})?$/)
          .optional(),
        /** Teams: a choice filtered as the person types (a long list such as agents). */
        typeahead: z.boolean().optional(),
        /** Teams: the name shown for a `user` input's initial e-mail. */
        valueLabel: z.string().optional(),
        /** Initial text, or (user, Teams) an e-mail. */
        value: z.string().optional(),
        /** Initially chosen option (its `value`) of a `choice`. */
        selectedId: id.optional(),
        /** Initial person of a `user` input on Slack. */
        slackUserId: z.string().regex(/^[UW][A-Z0-9]{2,30}$/).optional(),
        error: z.string().optional(),
        /** May be left empty. */
        optional: z.boolean().default(false),
      }),
    )
    .min(1)
    .max(5),
});

/** Buttons a `notice` may carry, with the ids their value/data holds. */
export const NOTICE_ACTIONS = {
  /** Retraining due: `{ agentId }`. */
  retrainStart: 'retrain_start',
  /** Retraining due: `{ agentId }`, opens the postpone prompt. */
  retrainPostpone: 'retrain_postpone',
  /** A leaver's manager takes over: `{ agentId }`. */
  sponsorAccept: 'sponsor_accept',
  /** A leaver's manager retires the agent instead: `{ agentId }`. */
  sponsorRetire: 'sponsor_retire',
  /** Decision log: record this decision as a failure mode, `{ agentId, eventId }`. */
  decisionRecord: 'decision_record',
  /** Compliance gap: start the fix, `{ agentId, gap }`. */
  gapFix: 'gap_fix',
  /** Evaluation progress: cancel the run, `{ evalRunId }`. */
  evalCancel: 'eval_cancel',
  /** Evaluation waiting for typed-in results: opens the evaluation form, `{ runId, agentId }`. */
  evaluationOpen: 'evaluation_open',
  /** Evaluation verdict: the failing cases, `{ evalRunId }`. */
  evalFailures: 'eval_failures',
  /** Evaluation waiting: register the endpoint and run the suite, `{ agentId }` (opens a prompt). */
  evalRegister: 'eval_register',
  /** An agent's profile: a new key for a sponsor or IT admin, the old one valid for the grace period, `{ agentId }`. */
  keyRotate: 'agent_key_rotate',
  /** The onboarding key was not delivered: revoke it and show a new one to the clicker, `{ agentId, credentialId }`. */
  keyReissue: 'agent_key_reissue',
  /** An agent's hand-off: take the case, `{ handoffId }`. */
  handoffTake: 'handoff_take',
  /** A taken hand-off: resolve it with an outcome, `{ handoffId, outcome }`. */
  handoffResolve: 'handoff_resolve',
  /** Out of office: opens the delegation prompt (dates and delegate), `{}`. */
  delegationAway: 'delegation_away',
  /** Back in the office: ends the delegation, `{}`. */
  delegationBack: 'delegation_back',
  /** Failed webhook deliveries: an IT admin re-queues them, `{ subscriptionId }`. */
  webhookRetry: 'webhook_retry',
  /** A webhook subscription disabled by a 410 Gone: an IT admin resumes it, `{ subscriptionId }`. */
  webhookEnable: 'webhook_enable',
  /** A suspended agent: ask to reactivate it, `{ agentId }` (opens the reason prompt). */
  agentReactivate: 'agent_reactivate',
  /** A person named as sponsor accepts, `{ agentId }`; an IT admin confirms for them, `{ agentId, proposalId }`. */
  sponsorConfirm: 'sponsor_confirm',
  /** A person named as sponsor declines, `{ agentId }`. */
  sponsorDecline: 'sponsor_decline',
  /** A sponsor's boundary change: an IT admin approves it, `{ changeId }`. */
  boundaryApprove: 'boundary_approve',
  /** A sponsor's boundary change: an IT admin denies it with a reason (opens a prompt), `{ changeId }`. */
  boundaryDeny: 'boundary_deny',
  /** An agent's profile: opens the knowledge-note form (kind and text), `{ agentId }`. */
  agentNote: 'agent_note',
  /** An agent's profile: opens the new-version form (version, changelog, endpoint or results), `{ agentId }`. */
  versionPropose: 'version_propose',
  /** A pending agent or access request: its requester (or an IT admin) cancels it, `{ runId }`. */
  requestCancel: 'request_cancel',
} as const;
export type NoticeAction = (typeof NOTICE_ACTIONS)[keyof typeof NOTICE_ACTIONS];

/** A button on a notice (or one of its sections). */
export const noticeActionSchema = z.object({
  action: z.enum(Object.values(NOTICE_ACTIONS) as [NoticeAction, ...NoticeAction[]]),
  label: text,
  style: z.enum(['primary', 'danger']).optional(),
  value: z.record(z.string().regex(/^[a-zA-Z]{1,40}$/), id),
});

/** Slack action ids / Teams verbs of the supervision cards; values/data carry `{ checkInId }` or `{ alertId }`. */
export const SUPERVISION_ACTIONS = {
  checkInKeep: 'checkin_keep',
  checkInRetrain: 'checkin_retrain',
  checkInRetire: 'checkin_retire',
  alertAck: 'alert_ack',
  alertEscalate: 'alert_escalate',
  alertSnooze1h: 'alert_snooze_1h',
  alertSnooze4h: 'alert_snooze_4h',
  alertSnooze24h: 'alert_snooze_24h',
  alertResolve: 'alert_resolve',
  alertSuspend: 'alert_suspend',
  alertBlock: 'alert_block',
  alertRegister: 'alert_register',
  alertAssignSponsor: 'alert_assign_sponsor',
  alertRetire: 'alert_retire',
  alertNote: 'alert_note',
  alertDecisions: 'alert_decisions',
  checkInNote: 'checkin_note',
  checkInDecisions: 'checkin_decisions',
  /** Slack: the numbers behind a check-in's findings, as a private reply (Teams toggles them on the card). */
  checkInNumbers: 'checkin_numbers',
  /** Slack: the statistics behind an alert's summary, as a private reply (Teams toggles them on the card). */
  alertNumbers: 'alert_numbers',
  ...NOTICE_ACTIONS,
  /** The prompt's submit (Slack `callback_id`, Teams verb). */
  promptSubmit: 'prompt_submit',
} as const;
