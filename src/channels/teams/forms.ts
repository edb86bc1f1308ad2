import { z } from 'zod';
import { ACCESS_FORM_INPUTS, DENY_REASON_INPUT, EVALUATION_FORM_INPUTS, REQUEST_FORM_INPUTS } from '../../cards/ids.js';
import type { EvaluationFormValues, RequestFormValues } from '../chat.js';
import { PROMPT_INPUTS, PROMPT_VERBS, type PromptVerb } from '../../cards/supervision-view-models.js';
import { buttonIds, type PromptValues } from '../chat-actions.js';

/*
 * Reading `Action.Execute` data. Teams sends the action's `data` merged with the card's input
 * values; everything here is untrusted, so each verb's payload is parsed with zod and anything
 * missing or of the wrong type becomes "absent", never an exception.
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

/** `{ runId, stepId }` of an approval action. */
export function approvalIds(data: Record<string, unknown>): { runId?: string; stepId?: string } {
  return { runId: idOf(data, 'runId'), stepId: idOf(data, 'stepId') };
}

/**
 * The deny reason: the input named by `reasonInputId` (unique per card, e.g. `reason_0` on the
 * home card), falling back to the deny-reason card's own input.
 */
export function denyReason(data: Record<string, unknown>): string | undefined {
  const inputId = idOf(data, 'reasonInputId') ?? DENY_REASON_INPUT.teams;
  return text.parse(data[inputId])?.slice(0, 3000);
}

/** The request form's values (sponsors typed as comma-separated e-mails). */
export function requestFormValues(data: Record<string, unknown>): RequestFormValues {
  const field = (name: keyof typeof REQUEST_FORM_INPUTS) => text.parse(data[REQUEST_FORM_INPUTS[name].teams]);
  const sponsors = field('sponsors')
    ?.split(/[\s,;]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  const values: RequestFormValues = { roleId: idOf(data, 'roleId') ?? '' };
  const registerAgentId = idOf(data, 'registerAgentId');
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
  const values: EvaluationFormValues = { agentId: idOf(data, 'agentId') ?? '', roleFit: [...new Set(roleFit)] };
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
export function promptSubmission(data: Record<string, unknown>): { verb?: PromptVerb; ids: Record<string, string>; values: PromptValues } {
  const verb = PROMPT_VERBS.find((v) => v === data.promptVerb);
  const inputs = new Set<string>(PROMPT_INPUTS);
  const ids = buttonIds(Object.fromEntries(Object.entries(data).filter(([key]) => !inputs.has(key) && key !== 'promptVerb')));
  const values: PromptValues = {};
  for (const name of PROMPT_INPUTS) {
    const value = text.parse(data[name]);
    if (value !== undefined) values[name] = value.slice(0, 3000);
  }
  return { ...(verb ? { verb } : {}), ids, values };
}
