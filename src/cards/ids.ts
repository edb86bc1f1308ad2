import { SUPERVISION_ACTIONS } from './supervision-view-models.js';
/*
 * The identifiers cards put on buttons and forms: the contract between the templates in
 * cards/** and the Slack and Teams adapters that handle the clicks. Slack action_ids and Teams
 * Action.Execute verbs are the same snake_case words. The card tests assert that rendered cards
 * carry exactly these.
 */

/**
 * Slack `action_id`s (buttons) and modal `callback_id`s (forms), which are also the Teams
 * `Action.Execute` verbs. What each carries (Slack's button value is JSON, but for
 * `catalog_request`'s bare role id; Teams' data is the same object), the operation it becomes and
 * how its result is shown are declared once, in the action table (src/channels/action-table.ts),
 * which both adapters register in a loop. `approval_refresh` is Teams' only (a card's refresh
 * action); on Teams a deny reason comes with `approval_deny` (the input `data.reasonInputId`
 * names), on Slack from the `approval_deny_submit` modal.
 */
export const CARD_ACTIONS = {
  catalogRequest: 'catalog_request',
  approvalApprove: 'approval_approve',
  approvalDeny: 'approval_deny',
  approvalRefresh: 'approval_refresh',
  agentRequestSubmit: 'agent_request_submit',
  evaluationSubmit: 'evaluation_submit',
  approvalDenySubmit: 'approval_deny_submit',
  grantExtend: 'grant_extend',
  grantLetExpire: 'grant_let_expire',
  grantRevoke: 'grant_revoke',
  grantConfirm: 'grant_confirm',
  reviewKeep: 'review_keep',
  reviewRevoke: 'review_revoke',
  accessRequestSubmit: 'access_request_submit',
  findPage: 'find_page',
  findOpen: 'find_open',
  findSubmit: 'find_submit',
  // Supervision and notice buttons (see supervision-view-models.ts), `evaluation_open` among them:
  // value/data `{ checkInId }`, `{ alertId }`, or the ids the button names.
  ...SUPERVISION_ACTIONS,
} as const;

/** A Slack action_id or Teams verb that a card can emit. */
export type CardAction = (typeof CARD_ACTIONS)[keyof typeof CARD_ACTIONS];

/**
 * The request form. Slack: modal `callback_id` `agent_request_submit`, `private_metadata` JSON
 * `{"roleId"}`, each field an input block whose `block_id` and `action_id` are both the Slack
 * name below, so a value is `view.state.values[name][name]`. Teams: `Action.Execute`
 * `agent_request_submit` with data `{ roleId }` plus the inputs under the Teams ids below
 * (`sponsorEmails` is comma-separated e-mails; `businessUnit` is a business-unit id).
 */
export const REQUEST_FORM_INPUTS = {
  agentName: { slack: 'agent_name', teams: 'agentName' },
  purpose: { slack: 'purpose', teams: 'purpose' },
  businessUnit: { slack: 'business_unit', teams: 'businessUnit' },
  sponsors: { slack: 'sponsors', teams: 'sponsorEmails' },
  justification: { slack: 'justification', teams: 'justification' },
} as const;

/**
 * The evaluation form. Slack: modal `callback_id` `evaluation_submit`, `private_metadata` JSON
 * `{"runId","agentId"}`; number inputs as for the request form; the role-fit checklist is split
 * into checkbox blocks of at most ten, `block_id` `role_fit_0`, `role_fit_1`, … with `action_id`
 * `role_fit`, each option's value being the item's index in the whole list. Teams:
 * `Action.Execute` `evaluation_submit` with data `{ runId, agentId }` plus the inputs below;
 * `roleFit` is the comma-separated indexes of the checked items.
 */
export const EVALUATION_FORM_INPUTS = {
  accuracy: { slack: 'accuracy', teams: 'accuracy' },
  p95LatencyMs: { slack: 'p95_latency_ms', teams: 'p95LatencyMs' },
  costPerTaskUsd: { slack: 'cost_per_task_usd', teams: 'costPerTaskUsd' },
  roleFit: { slack: 'role_fit', teams: 'roleFit' },
  notes: { slack: 'notes', teams: 'notes' },
} as const;

/** Prefix of the `block_id`s of the role-fit checkbox blocks in the Slack evaluation form. */
export const ROLE_FIT_BLOCK_PREFIX = 'role_fit_';

/**
 * The `surface` a button on the home card carries in its value/data (Teams `approval_approve`,
 * `approval_deny` and the hand-off and boundary-change buttons there): Teams answers such a click
 * with the home card again, as Slack publishes App Home again, instead of the clicked item's card.
 */
export const HOME_SURFACE = 'home';

/**
 * The deny-reason form. Slack: modal `callback_id` `approval_deny_submit`, `private_metadata`
 * JSON `{"runId","stepId"}`, reason at `view.state.values.reason.reason`. Teams: the approval
 * card's own reason input, see `approval_deny` in {@link CARD_ACTIONS}.
 */
export const DENY_REASON_INPUT = { slack: 'reason', teams: 'reason' } as const;

/**
 * The access request form. Slack: modal `callback_id` `access_request_submit`, values at
 * `view.state.values[name][name]` (the target is a static select whose value is
 * `<agentId>:<scope>`). Teams: `Action.Execute` `access_request_submit` with the inputs below.
 */
export const ACCESS_FORM_INPUTS = {
  target: { slack: 'access_target', teams: 'target' },
  duration: { slack: 'duration', teams: 'duration' },
  reason: { slack: 'reason', teams: 'reason' },
} as const;

/**
 * The find form, one input per filter of `find`. Slack: modal `callback_id` `find_submit`, each
 * value at `view.state.values[name][name]` (selects give `selected_option.value`, the sponsor a
 * `users_select`'s `selected_user`). Teams: `Action.Execute` `find_submit` with the inputs below.
 * Empty inputs are no filter.
 */
export const FIND_FORM_INPUTS = {
  status: { slack: 'find_status', teams: 'findStatus' },
  role: { slack: 'find_role', teams: 'findRole' },
  bu: { slack: 'find_bu', teams: 'findBu' },
  sponsor: { slack: 'find_sponsor', teams: 'findSponsor' },
  scope: { slack: 'find_scope', teams: 'findScope' },
  data: { slack: 'find_data', teams: 'findData' },
  risk: { slack: 'find_risk', teams: 'findRisk' },
  checkin: { slack: 'find_checkin', teams: 'findCheckin' },
  cost: { slack: 'find_cost', teams: 'findCost' },
} as const;

/**
 * The datasets of pickers that search as a person types, instead of listing every choice: Teams
 * `Input.ChoiceSet` `choices.data` (`Data.Query`, answered by the `application/search` invoke)
 * and, for agents and access targets, Slack `external_select` (answered by `block_suggestion`).
 * `people`: the directory, values are e-mails; `access`: the access form's `<agentId>:<scope>`
 * pairs; `agents:<purpose>`: the agents a form may pick (see core/agent-pickers.ts).
 */
export const PEOPLE_DATASET = 'people';
export const ACCESS_DATASET = 'access';

/**
 * The name of a form's agent picker (a prompt input): Slack `block_id` and `action_id` (a
 * static_select, or an external_select with more agents than a list holds), Teams input id.
 */
export const AGENT_PICKER_INPUT = 'agent';
