import { z } from 'zod';
import { ACCESS_FORM_INPUTS, CARD_ACTIONS, EVALUATION_FORM_INPUTS, FIND_FORM_INPUTS, REQUEST_FORM_INPUTS } from '../../cards/ids.js';
import type { EvaluationFormValues, FindFormValues, RequestFormValues } from '../chat.js';
import { PROMPT_INPUTS, PROMPT_VERBS, type PromptVerb } from '../../cards/supervision-view-models.js';
import type { PromptValues } from '../chat-actions.js';
import type { FormActionId } from '../action-table.js';
import { idOrUndefined } from '../../core/ids.js';

/*
 * Reading the forms of `Action.Execute` data. Teams sends the action's `data` merged with the
 * card's input values; everything here is untrusted: anything missing or of the wrong type becomes
 * "absent", never an exception. A button's data is parsed by its schema in the action table; a
 * form's inputs are read here first, into the values the table's schema parses for both platforms.
 */

/** The `value.action` of an `adaptiveCard/action` invoke, as the SDK hands it to a handler. */
export const actionSchema = z.object({
  verb: z.string().optional(),
  data: z.record(z.string(), z.unknown()).optional().catch(undefined),
});

const text = z
  .unknown()
  .transform((v) => (typeof v === 'string' ? v.trim() : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined))
  .transform((v) => (v === '' ? undefined : v));

const idOf = (data: Record<string, unknown>, key: string) => text.parse(data[key])?.slice(0, 200);

/** The request form's values (sponsors typed as comma-separated e-mails). */
export function requestFormValues(data: Record<string, unknown>): RequestFormValues {
  const field = (name: keyof typeof REQUEST_FORM_INPUTS) => text.parse(data[REQUEST_FORM_INPUTS[name].teams]);
  const sponsors = field('sponsors')
    ?.split(/[\s,;]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  const values: RequestFormValues = { roleId: idOf(data, 'roleId') ?? '' };
  const registerAgentId = idOrUndefined('AgentId', idOf(data, 'registerAgentId'));
  if (registerAgentId) values.registerAgentId = registerAgentId;
  const agentName = field('agentName');
  const purpose = field('purpose');
  const businessUnit = field('businessUnit');
  const justification = field('justification');
  if (agentName) values.agentName = agentName;
  if (purpose) values.purpose = purpose;
  if (businessUnit) values.businessUnit = businessUnit;
  if (sponsors?.length) values.sponsors = sponsors;
  if (justification) values.justification = justification;
  return values;
}

/** The evaluation form's values; `roleFit` is the comma-separated indexes of the ticked items. */
export function evaluationFormValues(data: Record<string, unknown>): EvaluationFormValues {
  const field = (name: keyof typeof EVALUATION_FORM_INPUTS) => text.parse(data[EVALUATION_FORM_INPUTS[name].teams]);
  const roleFit = (field('roleFit') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => /^\d{1,3}$/.test(s))
    .map(Number);
  const values: EvaluationFormValues = { agentId: idOrUndefined('AgentId', idOf(data, 'agentId')), roleFit: [...new Set(roleFit)] };
  const runId = idOf(data, 'runId');
  const accuracy = field('accuracy');
  const p95LatencyMs = field('p95LatencyMs');
  const costPerTaskUsd = field('costPerTaskUsd');
  const notes = field('notes');
  if (runId) values.runId = runId;
  if (accuracy !== undefined) values.accuracy = accuracy;
  if (p95LatencyMs !== undefined) values.p95LatencyMs = p95LatencyMs;
  if (costPerTaskUsd !== undefined) values.costPerTaskUsd = costPerTaskUsd;
  if (notes) values.notes = notes;
  return values;
}

/** The access form's values: the chosen `<agentId>:<scope>`, the duration and the reason. */
export function accessFormValues(data: Record<string, unknown>): { targetId: string; duration: string; reason: string } {
  const field = (name: keyof typeof ACCESS_FORM_INPUTS, max: number) => text.parse(data[ACCESS_FORM_INPUTS[name].teams])?.slice(0, max);
  return { targetId: field('target', 200) ?? '', duration: field('duration', 60) ?? '', reason: field('reason', 1000) ?? '' };
}

/** A submitted prompt: which action it completes, the ids it carries and the values typed in. */
export function promptSubmission(data: Record<string, unknown>): { verb?: PromptVerb; ids: Record<string, unknown>; values: PromptValues } {
  const verb = PROMPT_VERBS.find((v) => v === data.promptVerb);
  const inputs = new Set<string>(PROMPT_INPUTS);
  // The ids the prompt carries: whatever is not an input (the table's schema keeps the id-like ones).
  const ids = Object.fromEntries(Object.entries(data).filter(([key]) => !inputs.has(key) && key !== 'promptVerb'));
  const values: PromptValues = {};
  for (const name of PROMPT_INPUTS) {
    const value = text.parse(data[name]);
    if (value !== undefined) values[name] = value.slice(0, 3000);
  }
  return { ...(verb ? { verb } : {}), ids, values };
}

/** The find form's filters (empty ones are no filter). */
export function findFormValues(data: Record<string, unknown>): FindFormValues {
  const value = (key: keyof typeof FIND_FORM_INPUTS) => {
    const v = data[FIND_FORM_INPUTS[key].teams];
    return typeof v === 'string' ? v.slice(0, 200) : undefined;
  };
  return Object.fromEntries((Object.keys(FIND_FORM_INPUTS) as Array<keyof typeof FIND_FORM_INPUTS>).map((key) => [key, value(key)]));
}

/**
 * How each form of the action table is read from the data of its verb, into the values its
 * schema parses (the same values the Slack modal gives). The deny reason needs no reading: the
 * table's schema takes it from the input the data names.
 */
export const TEAMS_FORM_READERS: { readonly [K in FormActionId]: (data: Record<string, unknown>) => unknown } = {
  [CARD_ACTIONS.agentRequestSubmit]: requestFormValues,
  [CARD_ACTIONS.evaluationSubmit]: evaluationFormValues,
  [CARD_ACTIONS.approvalDenySubmit]: (data) => data,
  [CARD_ACTIONS.accessRequestSubmit]: accessFormValues,
  [CARD_ACTIONS.findSubmit]: findFormValues,
  [CARD_ACTIONS.promptSubmit]: promptSubmission,
};
