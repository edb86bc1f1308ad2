import { z } from 'zod';
import { durationSchema } from '../config/duration.js';

/*
 * Flows are data: `flows/*.yaml` lists named steps; the engine interprets them and a registry
 * supplies the code behind each named check, gate, action and condition.
 */

const stepId = z.string().regex(/^[a-z][a-z0-9-]*$/, 'expected a lowercase step id like "approvals"');
const name = z.string().regex(/^[a-z][a-z0-9.-]*$/, 'expected a lowercase name like "agent.onboard"');

const baseStep = {
  id: stepId,
  title: z.string().min(1).optional(),
  /** A named condition; the step is skipped when it is false. */
  when: name.optional(),
};

/** A named policy check; a failure ends the run as `rejected` with the check's reason. */
export const checkStepSchema = z.strictObject({ ...baseStep, type: z.literal('check'), check: name });

/** Waits for an external fact (e.g. passing evaluation results), signalled through the engine. */
export const gateStepSchema = z.strictObject({
  ...baseStep,
  type: z.literal('gate'),
  gate: name,
  /** The run ends `expired` when the fact has not arrived in time. */
  expiresAfter: durationSchema.optional(),
});

/** One group of approvers: a role (with `${field}` taken from the run's context) and an optional condition. */
export const approverGroupSchema = z.strictObject({
  role: z.string().min(1),
  when: name.optional(),
});

export const approvalStepSchema = z.strictObject({
  ...baseStep,
  type: z.literal('approval'),
  approvers: z.array(approverGroupSchema).min(1),
  /** `all`: one approval from each group, by distinct people; `any`: one approval; n: n distinct approvers. */
  quorum: z
    .union([z.literal('all'), z.literal('any'), z.number().int().positive()], {
      error: (iss) => `expected all, any or a positive whole number, got ${JSON.stringify(iss.input)}`,
    })
    .default('all'),
  /** The requester, and a sole sponsor of the agent that benefits, may not approve. */
  separationOfDuties: z.boolean().default(true),
  remindAfter: durationSchema.optional(),
  /** Each reminder waits this many times longer than the one before. */
  reminderBackoff: z.number().min(1).default(2),
  escalateAfter: durationSchema.optional(),
  /** Role that may decide in place of groups still missing once the step escalates. */
  escalateTo: z.string().min(1).optional(),
  /** The run ends `expired`, never approved, when the quorum is not reached in time. */
  expiresAfter: durationSchema,
  /**
   * The code that starts a run may set this step's approvers (with their people), quorum, timings
   * and separation of duties in `run.context.approval` (see ApprovalSettings); the YAML values are defaults.
   */
  configurable: z.boolean().default(false),
});

/** A named domain action (e.g. `agent.onboard`). */
export const actionStepSchema = z.strictObject({ ...baseStep, type: z.literal('action'), action: name });

/** Sends a card of a kind to people named by role or by run field (`requester`, `sponsors`). */
export const notifyStepSchema = z.strictObject({
  ...baseStep,
  type: z.literal('notify'),
  to: z.array(z.string().min(1)).min(1),
  card: name,
});

export const stepSchema = z.discriminatedUnion('type', [
  checkStepSchema,
  gateStepSchema,
  approvalStepSchema,
  actionStepSchema,
  notifyStepSchema,
]);

export const flowSchema = z
  .strictObject({
    id: z.string().regex(/^[a-z][a-z0-9-]*$/, 'expected a lowercase flow id like "agent-request"'),
    title: z.string().min(1),
    description: z.string().optional(),
    /** A named action run when the flow ends without completing (denied, expired, rejected, cancelled, failed). */
    onFailure: name.optional(),
    steps: z.array(stepSchema).min(1),
  })
  .check((ctx) => {
    const seen = new Set<string>();
    ctx.value.steps.forEach((step, i) => {
      if (seen.has(step.id))
        ctx.issues.push({ code: 'custom', path: ['steps', i, 'id'], input: step.id, message: `duplicate step id "${step.id}"` });
      seen.add(step.id);
    });
  });

export type FlowDefinition = z.output<typeof flowSchema>;
export type FlowStep = FlowDefinition['steps'][number];
export type ApprovalStep = z.output<typeof approvalStepSchema>;
export type ApproverGroup = z.output<typeof approverGroupSchema>;
