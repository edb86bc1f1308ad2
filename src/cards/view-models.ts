import { z } from 'zod';
import { agentStatusSchema, type AgentStatus } from '../core/lifecycle.js';
import { alertDataSchema, checkInDataSchema, noticeActionSchema, promptDataSchema } from './supervision-view-models.js';

/*
 * View-models: the platform-free input of every card. A Slack or Teams adapter renders one
 * without further look-ups, so everything is already resolved to display values: names rather
 * than e-mails, business-unit and role titles rather than ids, dates preformatted for people
 * (e.g. "3 Jun 2025, 14:02 UTC"). Ids appear only where a button or form needs them.
 * Each schema sits beside its type; renderCard validates a model before rendering it.
 */

/** A system id carried by a button or form (run, step, agent, role): letters, digits, `_.:-`. */
export const cardIdSchema = z.string().regex(/^[\w.:-]{1,200}$/, { error: 'expected an id of letters, digits, _ . : or -' });

/** A Slack user id (`U…`/`W…`) that Roster resolved itself; only these ever become mentions. */
export const slackUserIdSchema = z.string().regex(/^[UW][A-Z0-9]{2,30}$/, { error: 'expected a Slack user id like "U04B7K2M9QX"' });

/** Text shown to people; may contain anything a person typed. */
const text = z.string().min(1);

/** A date and time already formatted for display, e.g. "3 Jun 2025, 14:02 UTC". */
const displayDate = z.string().min(1);

/** Risk tier of a catalog role or agent. */
export const riskTierSchema = z.enum(['low', 'medium', 'high']);
/** Risk tier of a catalog role or agent. */
export type RiskTier = z.output<typeof riskTierSchema>;

/** Lifecycle status of an agent: defined once, in core/lifecycle.ts. */
export { agentStatusSchema, type AgentStatus };

/** A person as cards show them. */
export const personRefSchema = z.object({
  /** Display name. */
  name: text,
  /** Trusted Slack id from the directory: Slack cards mention the person instead of naming them. */
  slackUserId: slackUserIdSchema.optional(),
});
/** A person as cards show them. */
export type PersonRef = z.output<typeof personRefSchema>;

/** One decision on an approval step. */
export const decisionSchema = z.object({
  by: personRefSchema,
  decision: z.enum(['approved', 'denied']),
  /** When it was made, for display. */
  at: displayDate,
  comment: z.string().optional(),
  /** The step it belongs to, when a card lists several steps. */
  stepName: z.string().optional(),
});
/** One decision on an approval step. */
export type Decision = z.output<typeof decisionSchema>;

/** A link to another agent (predecessor or successor). */
export const agentLinkSchema = z.object({ agentId: cardIdSchema, name: text });
/** A link to another agent (predecessor or successor). */
export type AgentLink = z.output<typeof agentLinkSchema>;

/** One row of an agent list. */
export const agentListItemSchema = z.object({
  agentId: cardIdSchema,
  name: text,
  roleTitle: text,
  status: agentStatusSchema,
  /** Business unit display name. */
  businessUnit: text,
});
/** One row of an agent list. */
export type AgentListItem = z.output<typeof agentListItemSchema>;

/** `help`: the commands Roster understands. */
export const helpDataSchema = z.object({
  /** Optional first line, e.g. "Hi Maya, here is what I can do." */
  intro: z.string().optional(),
  /** Commands without the `/roster` prefix, e.g. `{ usage: 'show <agent>', description: 'Show an agent's profile' }`. */
  commands: z.array(z.object({ usage: text, description: text })).min(1),
});

/** One catalog role as the catalog list shows it. */
export const catalogEntrySummarySchema = z.object({
  roleId: cardIdSchema,
  title: text,
  description: text,
  riskTier: riskTierSchema,
  vendor: text,
  model: text,
  /** Data classes touched, e.g. `pii`, `financial`. */
  dataClasses: z.array(text),
  /** Scopes granted at onboarding, e.g. `kb:read`. */
  defaultScopes: z.array(text),
});
/** One catalog role as the catalog list shows it. */
export type CatalogEntrySummary = z.output<typeof catalogEntrySummarySchema>;

/** `catalog`: the roles a person may request, each with a Request button. */
export const catalogDataSchema = z.object({
  /** Optional line under the title, e.g. "Roles available to Finance". */
  intro: z.string().optional(),
  entries: z.array(catalogEntrySummarySchema),
});

/** `catalog-entry`: one role in detail, with a Request button. */
export const catalogEntryDataSchema = catalogEntrySummarySchema.extend({
  businessPurpose: text,
  allowedScopes: z.array(text),
  forbiddenScopes: z.array(z.object({ scope: text, reason: z.string().optional() })),
  regulations: z.array(text),
  /** Business units (display names) that may request the role; empty means every unit. */
  businessUnits: z.array(text),
  evaluation: z.object({
    minAccuracy: z.number(),
    maxP95LatencyMs: z.number(),
    maxCostPerTaskUSD: z.number(),
    roleFit: z.array(text),
  }),
  /** Display durations such as "30 days". */
  checkInCadence: text,
  maxAccessTtl: text,
});

/** Fields of the request form, by name. */
export const requestFormFieldSchema = z.enum(['agentName', 'purpose', 'businessUnit', 'sponsors', 'justification']);
/** Fields of the request form, by name. */
export type RequestFormField = z.output<typeof requestFormFieldSchema>;

/** `request-form`: request a new agent for a catalog role. */
export const requestFormDataSchema = z.object({
  roleId: cardIdSchema,
  roleTitle: text,
  /** Registering an agent that already runs under this id (a shadow agent's Register button). */
  registerAgentId: cardIdSchema.optional(),
  /** Business units to choose from (Slack shows at most 100). */
  businessUnits: z.array(z.object({ value: cardIdSchema, label: text })).min(1),
  /** Values to show again, e.g. after a validation error. */
  values: z
    .object({
      agentName: z.string().optional(),
      purpose: z.string().optional(),
      /** One of `businessUnits[].value`. */
      businessUnit: cardIdSchema.optional(),
      /** Slack: preselected sponsors. */
      sponsorSlackUserIds: z.array(slackUserIdSchema).optional(),
      /** Teams: the sponsors' e-mails, comma separated (the value of the sponsors' choice set). */
      sponsorEmails: z.string().optional(),
      /** Teams: the chosen sponsors as choices of the directory search (e-mail and name). */
      sponsorChoices: z.array(z.object({ value: z.string().min(1).max(320), label: text })).max(20).optional(),
      justification: z.string().optional(),
    })
    .optional(),
  /** Per-field messages shown under the fields, e.g. after the server rejected the form. */
  errors: z.partialRecord(requestFormFieldSchema, z.string().min(1)).optional(),
});

/** State of one step in a request's progress. */
export const stepStateSchema = z.enum(['done', 'current', 'waiting', 'failed', 'skipped']);
/** State of one step in a request's progress. */
export type StepState = z.output<typeof stepStateSchema>;

/** `request-status`: the requester's view of a request, updated in place. */
export const requestStatusDataSchema = z.object({
  runId: cardIdSchema,
  agentName: text,
  roleTitle: text,
  /** e.g. "Waiting for approval (2 of 4)", "Active", "Rejected: <reason>". */
  statusLabel: text,
  /** Colours and icons the status. */
  tone: z.enum(['waiting', 'success', 'failure', 'neutral']),
  requestedBy: personRefSchema,
  requestedAt: displayDate,
  steps: z.array(z.object({ name: text, state: stepStateSchema, detail: z.string().optional() })),
  decisions: z.array(decisionSchema),
  /** Buttons for the requester, e.g. **Enter evaluation results** while the evaluation gate waits. */
  actions: z.array(noticeActionSchema).max(5).default([]),
});

/** States of an approval card. */
export const approvalStateSchema = z.enum(['pending', 'approved', 'denied', 'expired', 'cancelled']);
/** States of an approval card. */
export type ApprovalState = z.output<typeof approvalStateSchema>;

/** The evaluation gate's outcome as approvers see it. */
export const evaluationSummarySchema = z.object({
  passed: z.boolean(),
  summary: text,
  /** "measured by Roster" (the role's suite run against the agent) or "self-reported" (typed in). */
  source: z.enum(['measured', 'self-reported']).optional(),
});

/** `approval-request`: the approver's card. */
export const approvalRequestDataSchema = z.object({
  state: approvalStateSchema,
  runId: cardIdSchema,
  stepId: cardIdSchema,
  /** e.g. "Business-unit approval". */
  stepName: text,
  /** Whether the person viewing may decide now; buttons show only when pending and true. */
  canDecide: z.boolean(),
  /**
   * The title for this reader while the request is pending: what is asked of them ("Approve
   * crm:write for Refund Triage?") or whom it waits for ("Waiting for Noah Fischer to approve …").
   */
  headline: text.optional(),
  /** Why the viewer cannot decide, e.g. "You requested this agent, so someone else approves it." */
  cannotDecideReason: z.string().optional(),
  /** e.g. "1 of 2 approvals". */
  progressLabel: z.string().optional(),
  agentName: text,
  roleTitle: text,
  riskTier: riskTierSchema,
  businessUnit: text,
  requester: personRefSchema,
  sponsors: z.array(personRefSchema),
  /** The agent request's purpose and justification; absent on a runtime approval (see `runtime`). */
  purpose: text.optional(),
  justification: text.optional(),
  evaluation: evaluationSummarySchema.optional(),
  decisions: z.array(decisionSchema),
  requestedAt: displayDate,
  expiresAt: displayDate.optional(),
  /** When the request left `pending` (decided, expired or cancelled). */
  closedAt: displayDate.optional(),
  /** Who decided or cancelled. */
  closedBy: personRefSchema.optional(),
  /** Denial or cancellation reason. */
  closedReason: z.string().optional(),
  /**
   * E-mails of the people whose copy refreshes to their own view (the approvers and their
   * delegates), platform-free; the Teams adapter fills {@link teamsRefreshUserIds} from them.
   */
  refreshFor: z.array(z.string().min(1)).max(200).default([]),
  /**
   * The Teams user ids (`29:…`, from the activities Roster received) the card's refresh names, at
   * most 60 are used. Set by the Teams adapter only; people it never heard from are left out.
   */
  teamsRefreshUserIds: z.array(z.string().min(1)).default([]),
  /** Set when an agent asks to take an action at run time (issue 19): the card shows this instead of purpose and justification. */
  runtime: z
    .object({
      /** e.g. `contracts.modify`. */
      action: text,
      /** e.g. "Modify a supplier contract". */
      actionTitle: text,
      /** The agent's own words, shown as reported by the agent. */
      summary: text,
      /** The request's declared details, label and value. */
      fields: z.array(z.object({ label: text, value: z.string() })).max(10),
      /** The agent's latest decisions, one line each, newest first. */
      recentDecisions: z.array(text).max(5),
    })
    .optional(),
});

/** `deny-reason`: the Slack modal (and Teams card) asking an approver why they deny. */
export const denyReasonDataSchema = z.object({
  runId: cardIdSchema,
  stepId: cardIdSchema,
  agentName: text,
  roleTitle: text,
  error: z.string().optional(),
});

/** Fields of the evaluation form, by name. */
export const evaluationFormFieldSchema = z.enum(['accuracy', 'p95LatencyMs', 'costPerTaskUsd', 'roleFit', 'notes']);
/** Fields of the evaluation form, by name. */
export type EvaluationFormField = z.output<typeof evaluationFormFieldSchema>;

/** `evaluation-form`: submit evaluation results for an agent. */
export const evaluationFormDataSchema = z.object({
  runId: cardIdSchema,
  agentId: cardIdSchema,
  agentName: text,
  roleTitle: text,
  thresholds: z.object({ minAccuracy: z.number(), maxP95LatencyMs: z.number(), maxCostPerTaskUSD: z.number() }),
  /** The role-fit checklist; submitted as the indexes of the checked items. */
  roleFitItems: z.array(text),
  values: z
    .object({
      accuracy: z.number().optional(),
      p95LatencyMs: z.number().optional(),
      costPerTaskUsd: z.number().optional(),
      /** Indexes into `roleFitItems`. */
      roleFit: z.array(z.number().int().nonnegative()).optional(),
      notes: z.string().optional(),
    })
    .optional(),
  errors: z.partialRecord(evaluationFormFieldSchema, z.string().min(1)).optional(),
});

/** `evaluation-verdict`: the result of the evaluation gate. */
export const evaluationVerdictDataSchema = z.object({
  runId: cardIdSchema,
  agentId: cardIdSchema,
  agentName: text,
  roleTitle: text,
  passed: z.boolean(),
  submittedBy: personRefSchema,
  submittedAt: displayDate,
  metrics: z.array(
    z.object({
      /** e.g. "Accuracy". */
      metric: text,
      /** e.g. "0.85". */
      value: text,
      /** e.g. "≥ 0.90". */
      threshold: text,
      passed: z.boolean(),
      /** e.g. "accuracy 0.85 is 0.05 below the minimum 0.90". */
      explanation: text,
    }),
  ),
  roleFit: z.array(z.object({ item: text, passed: z.boolean() })),
  notes: z.string().optional(),
  /** Who produced the numbers: Roster running the role's suite, or a person typing them in. */
  source: z.enum(['measured', 'self-reported']).default('self-reported'),
  /** A measured run: its size, cost, duration, latency and the failing cases behind a button. */
  measured: z
    .object({
      evalRunId: cardIdSchema,
      cases: z.number().int().nonnegative(),
      passedCases: z.number().int().nonnegative(),
      /** Failing cases; the `eval_failures` button shows them when above zero. */
      failingCount: z.number().int().nonnegative(),
      /** e.g. "evals/kb-answerer.yaml (3f9a0c1d2e4b)". */
      suite: text,
      /** e.g. "$0.0123". */
      costLabel: text,
      durationLabel: text,
      /** e.g. "p50 120 ms · p95 840 ms". */
      latencyLabel: text,
      /** Accuracy per fairness segment, e.g. "emea 0.90 (10) · apac 0.80 (10)". */
      segmentsLabel: z.string().optional(),
      /** For a version: what it was compared with. */
      comparedWith: z.string().optional(),
    })
    .optional(),
});

/** `agent-profile`: one agent in full. */
export const agentProfileDataSchema = z.object({
  agentId: cardIdSchema,
  name: text,
  roleTitle: text,
  version: text,
  status: agentStatusSchema,
  sponsors: z.array(personRefSchema),
  businessUnit: text,
  riskTier: riskTierSchema,
  /** Access grants; `expires` preformatted, e.g. "12 Sep 2025". */
  grants: z.array(z.object({ scope: text, expires: displayDate })),
  /** Baseline metrics, preformatted, e.g. `{ metric: 'Accuracy', value: '0.93' }`. */
  baseline: z.array(z.object({ metric: text, value: text })),
  predecessor: agentLinkSchema.optional(),
  successor: agentLinkSchema.optional(),
  knowledgeNotesCount: z.number().int().nonnegative(),
  complianceTags: z.array(text),
  createdAt: displayDate,
  /** Version history, newest first: e.g. `{ version: '1.2.0', status: 'promoted', at: '3 Jun 2025', changelog: '…', evaluation: 'passed' }`. */
  versions: z.array(z.object({ version: text, status: text, at: displayDate, changelog: text, evaluation: text })).default([]),
  /** The latest knowledge notes, e.g. `{ kind: 'failure-mode', text: '…' }`. */
  notes: z.array(z.object({ kind: text, text })).default([]),
  /** Approved boundary overrides in effect, one line per action, e.g. "Refund issue: needs approval (catalog: autonomous), changed by …". */
  boundaryOverrides: z.array(text).default([]),
  /** Buttons for the viewer (e.g. **Rotate key** for sponsors and IT admins). */
  actions: z.array(noticeActionSchema).max(5).default([]),
});

/** `agent-list`: agents as a table-like list. */
export const agentListDataSchema = z.object({
  /** e.g. "Agents in Finance". */
  title: text,
  agents: z.array(agentListItemSchema),
  /** Shown instead of the list when it is empty; defaults to "No agents match". */
  emptyText: z.string().optional(),
  /**
   * Set when the list is a page of `find`: the filters as words (they parse back to the same
   * search), e.g. `status:active risk:high`, a line such as "24 agents · page 1 of 3", and the
   * pages the Previous / Next buttons (`find_page`, value `{ q, page }`) open in place.
   */
  search: z
    .object({
      query: z.string().max(500),
      summary: text,
      prev: z.number().int().min(1).optional(),
      next: z.number().int().min(1).optional(),
    })
    .optional(),
});

const findOptionSchema = z.object({ optionId: z.string().regex(/^[\w.:-]{1,75}$/), label: text });

/**
 * `find-form`: the filters of `find` as a form (a Slack modal opened from App Home; a card in
 * Teams, from the home card). Inputs are named by FIND_FORM_INPUTS; empty means no filter.
 */
export const findFormDataSchema = z.object({
  statuses: z.array(findOptionSchema).min(1).max(20),
  roles: z.array(findOptionSchema).max(100),
  units: z.array(findOptionSchema).max(100),
  scopes: z.array(findOptionSchema).max(100),
  dataClasses: z.array(findOptionSchema).max(20),
  risks: z.array(findOptionSchema).max(5),
  checkins: z.array(findOptionSchema).max(5),
  /** What was chosen (option ids; the sponsor an e-mail, the cost as typed), shown again with an error. */
  values: z
    .object({ status: z.string(), role: z.string(), bu: z.string(), sponsor: z.string(), scope: z.string(), data: z.string(), risk: z.string(), checkin: z.string(), cost: z.string() })
    .partial()
    .optional(),
  /** What was wrong with the last submit, naming the filter. */
  error: z.string().optional(),
});

/** An approval waiting for the viewer, as the home view lists it. */
export const homeApprovalSchema = z.object({
  runId: cardIdSchema,
  stepId: cardIdSchema,
  agentName: text,
  roleTitle: text,
  riskTier: riskTierSchema,
  businessUnit: text,
  requester: personRefSchema,
  requestedAt: displayDate,
  expiresAt: displayDate.optional(),
  canDecide: z.boolean(),
  /** A runtime approval: what the agent asks to do, e.g. `Modify a supplier contract (contracts.modify), reported by the agent: “…”`. */
  action: text.optional(),
  /** How long it has waited, e.g. `12 minutes`. */
  age: text.optional(),
});
/** An approval waiting for the viewer, as the home view lists it. */
export type HomeApproval = z.output<typeof homeApprovalSchema>;

/** `home`: the person's dashboard (Slack App Home). */
export const homeDataSchema = z.object({
  person: personRefSchema,
  myAgents: z.array(agentListItemSchema),
  approvals: z.array(homeApprovalSchema),
  openRequests: z.array(z.object({ runId: cardIdSchema, agentName: text, roleTitle: text, statusLabel: text, requestedAt: displayDate })),
  /**
   * Other things waiting for the person, each with its buttons: hand-offs to take or resolve,
   * boundary changes for IT admins to decide. One button per action id per item.
   */
  tasks: z.array(z.object({ text, actions: z.array(noticeActionSchema).max(2).default([]) })).max(10).default([]),
  /** Open hand-offs and boundary changes waiting for the person, counted before the cut to 10 items (App Home holds 100 blocks). */
  taskCount: z.number().int().nonnegative().default(0),
  /** Out of office: where the person stands, and the button to delegate or to come back. */
  away: z.object({ text, actions: z.array(noticeActionSchema).max(2) }).optional(),
  /** Whether to offer Find agents… (the find form); the chat layer always does. */
  offerFind: z.boolean().default(false),
  /** A page of agents found with the find form, shown at the top with its paging buttons. */
  found: agentListDataSchema.optional(),
  /** The fleet at a glance, for IT admins (and compliance and the DPO): label and value per line. */
  fleet: z
    .object({ title: text, facts: z.array(z.object({ label: text, value: text })).min(1).max(10) })
    .optional(),
});

/** `notice`: a short message to a person, such as an error. */
export const noticeDataSchema = z.object({
  level: z.enum(['info', 'success', 'warning', 'error']),
  title: text,
  text: text,
  /** Items below the text, each with its own buttons (e.g. one decision of a decision log). */
  sections: z.array(z.object({ text, actions: z.array(noticeActionSchema).max(3).default([]) })).max(20).optional(),
  /** Buttons under the whole notice (Teams shows at most five). */
  actions: z.array(noticeActionSchema).max(5).optional(),
});

/** `grant-notice`: one access grant and what happened to it, with the buttons the recipient may use. */
export const grantNoticeDataSchema = z.object({
  level: z.enum(['info', 'success', 'warning', 'error']),
  title: text,
  text: text,
  grantId: cardIdSchema,
  agentName: text,
  scope: text,
  /** e.g. "Active", "Expired", "Revoked". */
  statusLabel: text,
  expiresAt: displayDate.optional(),
  /** Set when the duration asked for was above the cap, saying so. */
  capNote: z.string().optional(),
  reason: z.string().optional(),
  /** Buttons: Extend and Let expire (reminders), Revoke now, Confirm (break-glass review). */
  canExtend: z.boolean(),
  canLetExpire: z.boolean(),
  canRevoke: z.boolean(),
  canConfirm: z.boolean(),
});

/** `access-review`: a sponsor's periodic attestation of their agents' grants, Keep or Revoke per grant. */
export const accessReviewDataSchema = z.object({
  reviewId: cardIdSchema,
  title: text,
  intro: text,
  dueAt: displayDate,
  items: z.array(
    z.object({
      grantId: cardIdSchema,
      agentName: text,
      scope: text,
      expiresAt: displayDate,
      state: z.enum(['open', 'kept', 'revoked', 'flagged', 'ended']),
      /** Who answered, e.g. "Tom Becker". */
      decidedBy: z.string().optional(),
      canDecide: z.boolean(),
    }),
  ),
});

/** Fields of the access request form, by name. */
export const accessFormFieldSchema = z.enum(['target', 'duration', 'reason']);

/** `access-form`: request access for an agent; the picker offers only each agent's grantable scopes. */
export const accessFormDataSchema = z.object({
  /**
   * Agent and scope pairs, `targetId` = `<agentId>:<scope>` (Slack shows at most 100); `detail`
   * is the scope's risk and longest grant. With `search`, only the chosen pair (if any): the pairs
   * are searched as the person types (dataset `access`).
   */
  targets: z.array(z.object({ targetId: cardIdSchema, label: text, detail: z.string().optional() })),
  /** More pairs than a list holds: Slack's external select, Teams' `Data.Query`. */
  search: z.boolean().optional(),
  values: z
    .object({
      targetId: cardIdSchema.optional(),
      duration: z.string().optional(),
      reason: z.string().optional(),
    })
    .optional(),
  errors: z.partialRecord(accessFormFieldSchema, z.string().min(1)).optional(),
});

/** The schema of each kind's data. */
export const cardDataSchemas = {
  help: helpDataSchema,
  catalog: catalogDataSchema,
  'catalog-entry': catalogEntryDataSchema,
  'request-form': requestFormDataSchema,
  'request-status': requestStatusDataSchema,
  'approval-request': approvalRequestDataSchema,
  'deny-reason': denyReasonDataSchema,
  'evaluation-form': evaluationFormDataSchema,
  'evaluation-verdict': evaluationVerdictDataSchema,
  'agent-profile': agentProfileDataSchema,
  'agent-list': agentListDataSchema,
  'find-form': findFormDataSchema,
  home: homeDataSchema,
  notice: noticeDataSchema,
  'grant-notice': grantNoticeDataSchema,
  'access-review': accessReviewDataSchema,
  'access-form': accessFormDataSchema,
  checkin: checkInDataSchema,
  alert: alertDataSchema,
  prompt: promptDataSchema,
} as const;

/** Every kind of card. */
export type CardKind = keyof typeof cardDataSchemas;

/** Every kind of card, in a stable order. */
export const CARD_KINDS = Object.keys(cardDataSchemas) as CardKind[];

/** The data of a kind of card, as rendered (every default filled in). */
export type DataOf<K extends CardKind> = z.output<(typeof cardDataSchemas)[K]>;

/**
 * The data of a kind of card as a view builds it: fields with a default may be left out, since
 * renderCard parses the data with the kind's schema (filling them in) before rendering.
 */
export type CardData<K extends CardKind> = z.input<(typeof cardDataSchemas)[K]>;

/** A card of one kind: the kind and that kind's data. */
export type CardOf<K extends CardKind> = { kind: K; data: CardData<K> };

/** A card to render: its kind and that kind's data. */
export type CardModel = { [K in CardKind]: CardOf<K> }[CardKind];

/** Builds a {@link CardModel} with the data type checked against the kind. */
export function cardModel<K extends CardKind>(kind: K, data: CardData<K>): CardOf<K> {
  return { kind, data };
}
