import { z } from 'zod';
import { EVALUATION_FORM_INPUTS, FIND_FORM_INPUTS, REQUEST_FORM_INPUTS, ROLE_FIT_BLOCK_PREFIX } from '../../cards/ids.js';
import type { EvaluationFormValues, FindFormValues, RequestFormValues } from '../chat.js';
import { PROMPT_INPUTS, PROMPT_VERBS, type PromptInputName, type PromptVerb } from '../../cards/supervision-view-models.js';

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
    ...(meta.registerAgentId ? { registerAgentId: meta.registerAgentId } : {}),
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
    agentId: meta.agentId ?? '',
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

/** A find filter's error, keyed by its block_id (an unknown field is shown on the cost input). */
export function findErrorToBlocks(field: string, message: string): Record<string, string> {
  const name = FIND_FORM_INPUTS[field as keyof typeof FIND_FORM_INPUTS]?.slack ?? FIND_FORM_INPUTS.cost.slack;
  return { [name]: message.slice(0, 1900) };
}

/** Slack modal errors are keyed by block_id. */
export function requestErrorsToBlocks(errors: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [field, message] of Object.entries(errors)) {
    const name = REQUEST_FORM_INPUTS[field as keyof typeof REQUEST_FORM_INPUTS]?.slack;
    out[name ?? REQUEST_FORM_INPUTS.agentName.slack] = message.slice(0, 2000);
  }
  return out;
}

export function evaluationErrorsToBlocks(errors: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [field, message] of Object.entries(errors)) {
    const name = EVALUATION_FORM_INPUTS[field as keyof typeof EVALUATION_FORM_INPUTS]?.slack;
    out[name === EVALUATION_FORM_INPUTS.roleFit.slack ? `${ROLE_FIT_BLOCK_PREFIX}0` : (name ?? 'accuracy')] = message.slice(0, 2000);
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
