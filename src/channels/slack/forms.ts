import { z } from 'zod';
import {
  ACCESS_FORM_INPUTS,
  CARD_ACTIONS,
  DENY_REASON_INPUT,
  EVALUATION_FORM_INPUTS,
  FIND_FORM_INPUTS,
  REQUEST_FORM_INPUTS,
  ROLE_FIT_BLOCK_PREFIX,
} from '../../cards/ids.js';
import type { EvaluationFormValues, FindFormValues, RequestFormValues } from '../chat.js';
import type { FormActionId, FormInputs } from '../action-table.js';
import { FROM_HOME_KEY } from './home.js';
import { PROMPT_INPUTS, PROMPT_VERBS, type PromptInputName, type PromptVerb } from '../../cards/supervision-view-models.js';
import { idOrUndefined } from '../../core/ids.js';

/** One input's state as Slack sends it in `view.state.values[block][action]`. */
const inputState = z
  .object({
    value: z.string().nullish(),
    selected_option: z.object({ value: z.string() }).nullish(),
    selected_options: z.array(z.object({ value: z.string() })).nullish(),
    selected_users: z.array(z.string()).nullish(),
    selected_user: z.string().nullish(),
  })
  .loose();
const stateValues = z.record(z.string(), z.record(z.string(), inputState));
type StateValues = z.infer<typeof stateValues>;

/** The modal submission fields Roster reads; anything else is ignored. */
export const viewSubmissionSchema = z
  .object({
    user: z.object({ id: z.string() }).loose(),
    view: z
      .object({
        callback_id: z.string(),
        private_metadata: z.string().default(''),
        state: z.object({ values: stateValues }).loose(),
      })
      .loose(),
  })
  .loose();

function input(values: StateValues, name: string) {
  return values[name]?.[name];
}

/** Private metadata is JSON written by our own templates; anything else reads as empty. */
export function metadata(raw: string): Record<string, string> {
  try {
    const parsed = z.record(z.string(), z.string()).safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : {};
  } catch {
    return {};
  }
}

/** The request form's values, sponsors still as Slack user ids. */
export function readRequestForm(values: StateValues, privateMetadata: string): RequestFormValues & { sponsorSlackIds: string[] } {
  const f = REQUEST_FORM_INPUTS;
  const meta = metadata(privateMetadata);
  return {
    roleId: meta.roleId ?? '',
    ...(idOrUndefined('AgentId', meta.registerAgentId) ? { registerAgentId: idOrUndefined('AgentId', meta.registerAgentId) } : {}),
    agentName: input(values, f.agentName.slack)?.value ?? '',
    purpose: input(values, f.purpose.slack)?.value ?? '',
    businessUnit: input(values, f.businessUnit.slack)?.selected_option?.value ?? '',
    sponsorSlackIds: input(values, f.sponsors.slack)?.selected_users ?? [],
    justification: input(values, f.justification.slack)?.value ?? '',
  };
}

/** The evaluation form's values. */
export function readEvaluationForm(values: StateValues, privateMetadata: string): EvaluationFormValues {
  const f = EVALUATION_FORM_INPUTS;
  const meta = metadata(privateMetadata);
  const roleFit = Object.entries(values)
    .filter(([block]) => block.startsWith(ROLE_FIT_BLOCK_PREFIX))
    .flatMap(([, actions]) => actions[f.roleFit.slack]?.selected_options ?? [])
    .map((o) => Number(o.value))
    .filter((n) => Number.isInteger(n) && n >= 0);
  const notes = input(values, f.notes.slack)?.value ?? undefined;
  return {
    runId: meta.runId,
    agentId: idOrUndefined('AgentId', meta.agentId),
    accuracy: input(values, f.accuracy.slack)?.value ?? '',
    p95LatencyMs: input(values, f.p95LatencyMs.slack)?.value ?? '',
    costPerTaskUsd: input(values, f.costPerTaskUsd.slack)?.value ?? '',
    roleFit,
    ...(notes ? { notes } : {}),
  };
}

/** The find form's values, the sponsor still as a Slack user id. */
export function readFindForm(values: StateValues): Omit<FindFormValues, 'sponsor'> & { sponsorSlackId?: string } {
  const f = FIND_FORM_INPUTS;
  const chosen = (name: string) => input(values, name)?.selected_option?.value ?? undefined;
  const sponsorSlackId = input(values, f.sponsor.slack)?.selected_user;
  return {
    status: chosen(f.status.slack),
    role: chosen(f.role.slack),
    bu: chosen(f.bu.slack),
    ...(sponsorSlackId ? { sponsorSlackId } : {}),
    scope: chosen(f.scope.slack),
    data: chosen(f.data.slack),
    risk: chosen(f.risk.slack),
    checkin: chosen(f.checkin.slack),
    cost: input(values, f.cost.slack)?.value ?? undefined,
  };
}

/**
 * Field errors keyed by block_id, as Slack shows them under the inputs: a field the form has no
 * input for is shown on its first; the role-fit checklist on its first block.
 */
export function errorsToBlocks(inputs: FormInputs, errors: Partial<Record<string, string>>): Record<string, string> {
  const first = Object.values(inputs)[0]?.slack;
  const out: Record<string, string> = {};
  for (const [field, message] of Object.entries(errors)) {
    if (!message) continue;
    const name = inputs[field]?.slack ?? first ?? field;
    out[name === EVALUATION_FORM_INPUTS.roleFit.slack ? `${ROLE_FIT_BLOCK_PREFIX}0` : name] = message.slice(0, 2000);
  }
  return out;
}

export type { StateValues };

/**
 * A submitted prompt modal: the action it completes and the ids it carries (private_metadata),
 * and each input's value; a `user` input is still a Slack user id (`slackUsers`).
 */
export function readPrompt(
  values: StateValues,
  privateMetadata: string,
): {
  verb?: PromptVerb;
  ids: Record<string, string>;
  values: Partial<Record<PromptInputName, string>>;
  slackUsers: Partial<Record<PromptInputName, string>>;
} {
  const { promptVerb, ...ids } = metadata(privateMetadata);
  const verb = PROMPT_VERBS.find((v) => v === promptVerb);
  const typed: Partial<Record<PromptInputName, string>> = {};
  const slackUsers: Partial<Record<PromptInputName, string>> = {};
  for (const name of PROMPT_INPUTS) {
    const state = input(values, name);
    if (!state) continue;
    if (state.selected_user) slackUsers[name] = state.selected_user;
    const value = state.value ?? state.selected_option?.value;
    if (typeof value === 'string' && value.trim()) typed[name] = value.trim().slice(0, 3000);
  }
  return { ...(verb ? { verb } : {}), ids, values: typed, slackUsers };
}

/** The access form's values: the chosen `<agentId>:<scope>`, the duration and the reason. */
export function readAccessForm(values: StateValues): { targetId: string; duration: string; reason: string } {
  const f = ACCESS_FORM_INPUTS;
  return {
    targetId: input(values, f.target.slack)?.selected_option?.value ?? '',
    duration: input(values, f.duration.slack)?.value ?? '',
    reason: input(values, f.reason.slack)?.value ?? '',
  };
}

/** The deny-reason form's approval and reason. */
export function readDenyForm(values: StateValues, privateMetadata: string): { runId?: string; stepId?: string; reason?: string } {
  const meta = metadata(privateMetadata);
  return { runId: meta.runId, stepId: meta.stepId, reason: input(values, DENY_REASON_INPUT.slack)?.value?.trim() };
}

/** A submitted modal, as {@link viewSubmissionSchema} reads it. */
export type SubmittedView = z.output<typeof viewSubmissionSchema>['view'];

/** Where a form opened from a click came from, remembered in its private_metadata (see slack/outcome.ts). */
const ORIGIN_KEYS = ['channel', 'ts', FROM_HOME_KEY];

/**
 * How each form of the action table is read from a submitted modal, into the values its schema
 * parses (the same values the Teams form gives). A Slack user picker gives a user id: `email`
 * finds the person's e-mail; someone Roster does not know is named by their Slack id.
 */
export const SLACK_FORM_READERS: {
  readonly [K in FormActionId]: (view: SubmittedView, email: (slackUserId: string) => Promise<string | undefined>) => Promise<unknown>;
} = {
  [CARD_ACTIONS.agentRequestSubmit]: async (view, email) => {
    const { sponsorSlackIds, ...form } = readRequestForm(view.state.values, view.private_metadata);
    return { ...form, sponsors: await Promise.all(sponsorSlackIds.map(async (id) => (await email(id)) ?? `slack:${id}`)) };
  },
  [CARD_ACTIONS.evaluationSubmit]: async (view) => readEvaluationForm(view.state.values, view.private_metadata),
  [CARD_ACTIONS.approvalDenySubmit]: async (view) => readDenyForm(view.state.values, view.private_metadata),
  [CARD_ACTIONS.accessRequestSubmit]: async (view) => readAccessForm(view.state.values),
  [CARD_ACTIONS.findSubmit]: async (view, email) => {
    const { sponsorSlackId, ...form } = readFindForm(view.state.values);
    // A mention reads as the person in a find query, should the directory know their Slack id.
    return { ...form, sponsor: sponsorSlackId ? ((await email(sponsorSlackId)) ?? `<@${sponsorSlackId}>`) : undefined };
  },
  [CARD_ACTIONS.promptSubmit]: async (view, email) => {
    const prompt = readPrompt(view.state.values, view.private_metadata);
    const ids = Object.fromEntries(Object.entries(prompt.ids).filter(([key]) => !ORIGIN_KEYS.includes(key)));
    const values = { ...prompt.values };
    for (const [name, slackId] of Object.entries(prompt.slackUsers)) {
      values[name as PromptInputName] = (await email(slackId)) ?? `slack:${slackId}`;
    }
    return { verb: prompt.verb, ids, values };
  },
};

/** Where a submitted form came from: the message a prompt was opened on, and whether it was opened on App Home. */
export function formOrigin(privateMetadata: string): { channel?: string; ts?: string; fromHome?: boolean } {
  const meta = metadata(privateMetadata);
  return {
    ...(meta.channel ? { channel: meta.channel } : {}),
    ...(meta.ts ? { ts: meta.ts } : {}),
    ...(meta[FROM_HOME_KEY] ? { fromHome: true } : {}),
  };
}
