import { z } from 'zod';
import type { Person } from '../config/schemas.js';
import {
  ACCESS_FORM_INPUTS,
  CARD_ACTIONS,
  DENY_REASON_INPUT,
  EVALUATION_FORM_INPUTS,
  FIND_FORM_INPUTS,
  REQUEST_FORM_INPUTS,
  type CardAction,
} from '../cards/ids.js';
import { PROMPT_INPUTS, PROMPT_VERBS } from '../cards/supervision-view-models.js';
import { cardIdSchema, type CardModel } from '../cards/view-models.js';
import type { CommandBus } from '../commands/index.js';
import { DENY_REASON_NEEDED } from '../core/requests.js';
import { InvalidInputError, isRosterError } from '../core/errors.js';
import { idSchemaOf, runIdSchema, stepIdSchema, type IdKind, type RunId, type StepId } from '../core/ids.js';
import type { ChatService } from './chat.js';
import { AccessChat, type GrantAction } from './chat-access.js';
import { AGENT_BUTTON_VERBS, type ActionOutcome } from './chat-actions.js';
import { ALERT_VERBS, CHECKIN_VERBS, type AlertCheckInChat } from './chat-alerts-checkins.js';

/*
 * The action table: every button, form and Action.Execute verb a card can carry, declared once
 * with what it carries (a zod schema: Slack's value JSON, Teams' data and both platforms' form
 * values are parsed by the same one), the chat operation it becomes, and which ways of showing a
 * result it may ask for. Slack and Teams register every entry in one loop each; how a result is
 * shown on each platform is decided by their outcome renderers (slack/outcome.ts,
 * teams/outcome.ts) from the result's slots, never per action.
 */

/** Where an action is on offer. */
export type ActionPlatform = 'slack' | 'teams';

/** What an action needs besides the person: the command bus, the chat layer, and how the platform asking works. */
export interface ActionContext {
  /** Where an action's command goes, the same from every platform. */
  bus: CommandBus;
  chat: ChatService;
  supervision: AlertCheckInChat;
  /**
   * The platform holds the click open for its answer (a Teams invoke): a decision answers once
   * it and its audit entry are stored, the other cards are updated after; a repeated decision
   * shows the person's card as it now is. Slack acknowledged the click already.
   */
  waitsForAnswer: boolean;
  /**
   * Forms are cards in the conversation (Teams), not modals: a button on a card submits that
   * card's own inputs, so a value missing there is an error shown on the card.
   */
  formsInCards: boolean;
}

/**
 * What an action produced, by how it is to be shown. An action fills the slots it needs; each
 * platform's outcome renderer shows every slot its own way.
 */
export interface ActionResult extends ActionOutcome {
  /**
   * The clicker's fresh copy of a card the flow engine updates everywhere (an approval): Teams
   * answers the invoke with it; Slack leaves its message to the engine's update.
   */
  decided?: CardModel;
  /** A page of `find` results: in place of the clicked card; on Slack App Home, at the top of Home. */
  found?: CardModel;
  /** An answer for the clicker alone, the clicked card left as it was (Slack: a private reply; Teams: in its place). */
  answer?: CardModel;
  /** What a sent form leaves behind: in the form card's place (Teams); a Slack modal just closes. */
  receipt?: CardModel;
  /** A message of its own, kept in the clicker's chat (a request the click started). */
  message?: CardModel;
  /** Field problems of a submitted form, by field; `form` or `prompt` holds the form again showing them. */
  errors?: Partial<Record<string, string>>;
}

/** The names of an {@link ActionResult}'s slots. */
export type ResultSlot = keyof ActionResult;

/** A form's inputs by field: the Slack block id and the Teams input id of each. */
export type FormInputs = Readonly<Record<string, { readonly slack: string; readonly teams: string }>>;

/** A button or Action.Execute verb on a card. */
export interface ButtonAction {
  readonly kind: 'button';
  /** What the button carries: Slack's value (JSON) or Teams' data. */
  readonly payload: z.ZodType;
  /** Slack's value is this one field as plain text, not JSON. */
  readonly bareValue?: string;
  /** Only this platform's cards carry it. */
  readonly only?: ActionPlatform;
  /** The slots of {@link ActionResult} the action may fill. */
  readonly shows: readonly ResultSlot[];
  /** Parses the payload (anything unreadable is absent) and does the action. */
  act(ctx: ActionContext, person: Person, raw: unknown, id: CardAction): Promise<ActionResult>;
}

/** A form: a Slack modal's `callback_id` and the Teams verb that sends the form card's inputs. */
export interface FormAction {
  readonly kind: 'form';
  /** The form's values as both platforms' form readers give them. */
  readonly payload: z.ZodType;
  readonly inputs: FormInputs;
  readonly only?: ActionPlatform;
  readonly shows: readonly ResultSlot[];
  /**
   * A quick check without side effects, by field. With one, Slack answers field errors in its
   * acknowledgement and does the work after it, in the click queue; without one, the work runs
   * before the acknowledgement, which carries its field errors or next view.
   */
  check?(ctx: ActionContext, person: Person, raw: unknown): Promise<Partial<Record<string, string>> | undefined>;
  /** The title of the private notice when the work refuses the values after Slack's acknowledgement closed the form. */
  readonly refused?: string;
  act(ctx: ActionContext, person: Person, raw: unknown, id: CardAction): Promise<ActionResult>;
}

export type ActionEntry = ButtonAction | FormAction;

/**
 * The result, held to the slots its entry declares: the renderers are written against the
 * declarations, so an action filling another slot is a mistake to see at once, not a card lost.
 */
function declared(id: CardAction, shows: readonly ResultSlot[], result: ActionResult): ActionResult {
  const undeclared = (Object.keys(result) as ResultSlot[]).filter((slot) => result[slot] !== undefined && !shows.includes(slot));
  if (undeclared.length > 0) throw new Error(`the action ${id} filled ${undeclared.join(', ')}, which its table entry does not show`);
  return result;
}

/**
 * Parses a form's values with a schema whose fields fall back to absent; a form that names ids
 * (the deny form's run and step) refuses them missing or malformed as a button does.
 */
function read<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const empty = schema.safeParse({});
  return empty.success ? empty.data : readIds(schema, raw);
}

/**
 * Parses a button's payload: the ids it names are required and must be well formed. A button
 * without them (a damaged or hand-made payload) is refused with a clear error for the person,
 * never looked up as an empty id.
 */
function readIds<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const problem = parsed.error.issues[0];
  const field = problem?.path.join('.') || 'value';
  throw new InvalidInputError(
    `That button could not be read (${field}: ${problem?.message ?? 'malformed'}). The card may be out of date: send "help" to start again.`,
    { [field]: problem?.message ?? 'malformed' },
  );
}

function button<S extends z.ZodType>(spec: {
  payload: S;
  bareValue?: keyof z.output<S> & string;
  only?: ActionPlatform;
  shows: readonly ResultSlot[];
  run: (ctx: ActionContext, person: Person, payload: z.output<S>, id: CardAction) => Promise<ActionResult>;
}): ButtonAction {
  const { run, ...rest } = spec;
  return {
    kind: 'button',
    ...rest,
    act: async (ctx, person, raw, id) => declared(id, spec.shows, await run(ctx, person, readIds(spec.payload, raw), id)),
  };
}

function form<S extends z.ZodType>(spec: {
  payload: S;
  inputs: FormInputs;
  only?: ActionPlatform;
  shows: readonly ResultSlot[];
  check?: (ctx: ActionContext, person: Person, values: z.output<S>) => Promise<Partial<Record<string, string>> | undefined>;
  refused?: string;
  run: (ctx: ActionContext, person: Person, values: z.output<S>, id: CardAction) => Promise<ActionResult>;
}): FormAction {
  const { run, check, ...rest } = spec;
  return {
    kind: 'form',
    ...rest,
    ...(check ? { check: (ctx: ActionContext, person: Person, raw: unknown) => check(ctx, person, read(spec.payload, raw)) } : {}),
    act: async (ctx, person, raw, id) => declared(id, spec.shows, await run(ctx, person, read(spec.payload, raw), id)),
  };
}

/** An id a card carries, absent when missing or malformed. */
const id = cardIdSchema.optional().catch(undefined);

/** A typed-in text: trimmed, a finite number read as its digits, empty as absent. */
const typed = (max: number) =>
  z
    .unknown()
    .transform((v) => (typeof v === 'string' ? v.trim() : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined))
    .transform((v) => (v ? v.slice(0, max) : undefined));

/** A form value as its platform's reader gives it, absent when it is not text. */
const value = z.string().optional().catch(undefined);

/** A payload of the named ids, each required and parsed to its branded type (see core/ids.ts). */
function ids<const T extends Record<string, IdKind>>(kinds: T): z.ZodObject<{ [P in keyof T]: ReturnType<typeof idSchemaOf<T[P]>> }> {
  return z.object(Object.fromEntries(Object.entries(kinds).map(([k, kind]) => [k, idSchemaOf(kind)]))) as never;
}

/**
 * The ids a button names, whatever they are (the agent buttons, whose operation reads the ones
 * its verb needs): the members with a plain name and an id-like value; anything else is dropped.
 */
const anyIds = z
  .record(z.string(), z.unknown())
  .catch({})
  .transform((data) =>
    Object.fromEntries(
      Object.entries(data).flatMap(([key, v]) =>
        /^[a-zA-Z]{1,40}$/.test(key) && cardIdSchema.safeParse(v).success ? [[key, v as string]] : [],
      ),
    ),
  );

/** An approval's ids; a deny reason is the input `reasonInputId` names (unique per card), else the deny form's own. */
const approvalSchema = z.preprocess(
  (raw) => {
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return {};
    const data = raw as Record<string, unknown>;
    const named = typeof data.reasonInputId === 'string' && /^[\w-]{1,40}$/.test(data.reasonInputId) ? data.reasonInputId : undefined;
    return { ...data, reason: data[named ?? DENY_REASON_INPUT.teams] };
  },
  z.object({ runId: runIdSchema, stepId: stepIdSchema, reason: typed(3000) }),
);

const accessValues = z.object({ targetId: z.string().catch(''), duration: z.string().catch(''), reason: z.string().catch('') });

/** Problems, or undefined when there are none. */
const problems = <E extends Partial<Record<string, string>>>(errors: E) => (Object.keys(errors).length > 0 ? errors : undefined);

/**
 * The access form's problems by field. The chosen pair is client data: an agent the form would not
 * offer this person, or a scope Roster does not know, is marked on the field too.
 */
async function accessProblems(
  chat: ChatService,
  person: Person,
  values: z.output<typeof accessValues>,
): Promise<Partial<Record<'target' | 'duration' | 'reason', string>> | undefined> {
  const errors: Partial<Record<'target' | 'duration' | 'reason', string>> = { ...AccessChat.checkForm(values) };
  const refusal = errors.target ? undefined : await chat.access.targetRefusal(person, values.targetId);
  if (refusal) errors.target = refusal;
  return problems(errors);
}

/**
 * A decision, acting once. A repeated click where the platform waits for an answer (a redelivered
 * invoke, a double click) is refused by the core with `already_decided`, and the person simply sees
 * their own card again, their decision on it; on Slack the refusal is told privately.
 */
async function decide(
  ctx: ActionContext,
  person: Person,
  input: { runId: RunId; stepId: StepId; decision: 'approve' | 'deny'; comment?: string },
): Promise<ActionResult> {
  const ids = { runId: input.runId, stepId: input.stepId };
  try {
    const run = await ctx.bus.execute(person, {
      type: 'run.decide',
      ...ids,
      decision: input.decision,
      ...(input.comment ? { comment: input.comment } : {}),
      ...(ctx.waitsForAnswer ? { answerFirst: true } : {}),
    });
    return { decided: await ctx.chat.approvalCard(person, run.id, ids.stepId, run) };
  } catch (err) {
    if (ctx.waitsForAnswer && isRosterError(err) && err.code === 'already_decided') {
      return { decided: await ctx.chat.approvalCard(person, ids.runId, ids.stepId) };
    }
    throw err;
  }
}

/**
 * What replaces the request form once it is sent. The live status card is the one the flow
 * posts to the requester (and keeps up to date), so this points there instead of showing a
 * second copy that would go stale.
 */
function requestSent(chat: ChatService, agentName: string, agentId?: string): CardModel {
  return chat.notice(
    'success',
    `Request sent: ${agentName}`,
    `Your request is on its way${agentId ? ` (agent ${agentId})` : ''}. Roster keeps its status card up to date in this chat. ` +
      `Next, submit the evaluation results: send "eval ${agentId ?? agentName}".`,
  );
}

const requestValues = z.object({
  roleId: z.string().catch(''),
  registerAgentId: idSchemaOf('AgentId').optional().catch(undefined),
  agentName: value,
  purpose: value,
  businessUnit: value,
  sponsors: z.array(z.string()).optional().catch(undefined),
  justification: value,
});

const evaluationValues = z.object({
  runId: id,
  agentId: idSchemaOf('AgentId').optional().catch(undefined),
  accuracy: z.union([z.string(), z.number()]).optional().catch(undefined),
  p95LatencyMs: z.union([z.string(), z.number()]).optional().catch(undefined),
  costPerTaskUsd: z.union([z.string(), z.number()]).optional().catch(undefined),
  roleFit: z.array(z.number().int().min(0)).max(200).optional().catch(undefined),
  notes: value,
});

const findValues = z.object(
  Object.fromEntries(Object.keys(FIND_FORM_INPUTS).map((key) => [key, value])) as { [K in keyof typeof FIND_FORM_INPUTS]: typeof value },
);

const promptValues = z.object({
  verb: z.enum(PROMPT_VERBS).optional().catch(undefined),
  ids: anyIds,
  values: z.partialRecord(z.enum(PROMPT_INPUTS), z.string()).catch({}),
});

/** The prompt's inputs have one name on both platforms. */
const PROMPT_FORM_INPUTS: FormInputs = Object.fromEntries(PROMPT_INPUTS.map((name) => [name, { slack: name, teams: name }]));

/** One entry per verb of a chat operation that switches on its verb. */
function each<V extends string>(verbs: readonly V[], entry: (verb: V) => ButtonAction): Record<V, ButtonAction> {
  return Object.fromEntries(verbs.map((verb) => [verb, entry(verb)])) as Record<V, ButtonAction>;
}

const grantButton = (action: GrantAction) =>
  button({
    payload: ids({ grantId: 'GrantId' }),
    // The clicked card (a reminder) changes in place; a new request (Extend) is a message of its own.
    shows: ['card', 'message'],
    run: async ({ chat }, person, { grantId }) => {
      const { card, reply } = await chat.access.click(person, action, grantId);
      return { card, ...(reply ? { message: reply } : {}) };
    },
  });

const reviewButton = (answer: 'keep' | 'revoke') =>
  button({
    payload: ids({ grantId: 'GrantId', reviewId: 'ReviewId' }),
    shows: ['card'],
    run: async ({ chat }, person, p) => ({ card: await chat.access.reviewClick(person, answer, p.grantId, p.reviewId) }),
  });

const cards = {
  [CARD_ACTIONS.catalogRequest]: button({
    payload: z.object({ roleId: id }),
    bareValue: 'roleId',
    shows: ['form', 'answer'],
    run: async ({ chat }, person, { roleId }) => {
      const reply = chat.requestForm(person, roleId ?? '');
      return reply.form ? { form: reply.card } : { answer: reply.card };
    },
  }),
  [CARD_ACTIONS.evaluationOpen]: button({
    payload: z.object({ runId: idSchemaOf('RunId').optional(), agentId: idSchemaOf('AgentId') }),
    shows: ['form', 'answer'],
    run: async ({ chat }, person, { agentId }) => {
      const reply = await chat.evaluationForm(person, agentId);
      return reply.form ? { form: reply.card } : { answer: reply.card };
    },
  }),
  [CARD_ACTIONS.approvalApprove]: button({
    payload: ids({ runId: 'RunId', stepId: 'StepId' }),
    shows: ['decided'],
    run: (ctx, person, p) => decide(ctx, person, { ...p, decision: 'approve' }),
  }),
  [CARD_ACTIONS.approvalDeny]: button({
    payload: approvalSchema,
    shows: ['decided', 'form'],
    run: async (ctx, person, p) => {
      if (p.reason) return decide(ctx, person, { ...p, decision: 'deny', comment: p.reason });
      const error = ctx.formsInCards ? DENY_REASON_NEEDED : undefined;
      return { form: await ctx.chat.denyForm(person, p.runId, p.stepId, error) };
    },
  }),
  [CARD_ACTIONS.approvalRefresh]: button({
    payload: ids({ runId: 'RunId', stepId: 'StepId' }),
    // The Adaptive Card refresh action (Universal Actions): Slack has none.
    only: 'teams',
    shows: ['card'],
    run: async ({ chat }, person, p) => ({ card: await chat.approvalCard(person, p.runId, p.stepId) }),
  }),
  [CARD_ACTIONS.grantExtend]: grantButton('extend'),
  [CARD_ACTIONS.grantLetExpire]: grantButton('let-expire'),
  [CARD_ACTIONS.grantRevoke]: grantButton('revoke'),
  [CARD_ACTIONS.grantConfirm]: grantButton('confirm'),
  [CARD_ACTIONS.reviewKeep]: reviewButton('keep'),
  [CARD_ACTIONS.reviewRevoke]: reviewButton('revoke'),
  [CARD_ACTIONS.findPage]: button({
    payload: z.object({
      q: z
        .string()
        .catch('')
        .transform((q) => q.slice(0, 500)),
      page: z.coerce.number().int().min(1).max(1000).catch(1),
    }),
    shows: ['found'],
    run: async ({ chat }, person, { q, page }) => ({ found: await chat.find(person, q, page) }),
  }),
  [CARD_ACTIONS.findOpen]: button({ payload: z.object({}), shows: ['form'], run: async ({ chat }) => ({ form: chat.findForm() }) }),

  [CARD_ACTIONS.agentRequestSubmit]: form({
    payload: requestValues,
    inputs: REQUEST_FORM_INPUTS,
    shows: ['receipt', 'form', 'errors'],
    check: async ({ chat }, person, values) => problems(await chat.checkRequest(values, person)),
    refused: 'Your request was not sent',
    run: async ({ chat }, person, values) => {
      const result = await chat.submitRequest(person, values);
      if (!result.ok) return { errors: result.errors, form: result.reply.card };
      return { receipt: requestSent(chat, values.agentName || 'Your agent', result.agentId) };
    },
  }),
  [CARD_ACTIONS.evaluationSubmit]: form({
    payload: evaluationValues,
    inputs: EVALUATION_FORM_INPUTS,
    shows: ['answer', 'form', 'errors'],
    check: async ({ chat }, _person, values) => problems(chat.checkEvaluation(values)),
    refused: 'Evaluation not recorded',
    run: async ({ chat }, person, values) => {
      const complete = Object.keys(chat.checkEvaluation(values)).length === 0;
      const numbers = complete
        ? { accuracy: Number(values.accuracy), p95LatencyMs: Number(values.p95LatencyMs), costPerTaskUsd: Number(values.costPerTaskUsd) }
        : {};
      const result = await chat.submitEvaluation(person, { ...values, ...numbers });
      if (result.ok) return { answer: result.reply.card };
      return { errors: result.errors, ...(result.reply.form ? { form: result.reply.card } : { answer: result.reply.card }) };
    },
  }),
  [CARD_ACTIONS.approvalDenySubmit]: form({
    payload: approvalSchema,
    inputs: { reason: DENY_REASON_INPUT },
    shows: ['decided', 'form', 'errors'],
    check: async (_ctx, _person, { reason }) => (reason ? undefined : { reason: DENY_REASON_NEEDED }),
    run: async (ctx, person, p) => {
      if (p.reason) return decide(ctx, person, { ...p, decision: 'deny', comment: p.reason });
      return {
        errors: { reason: DENY_REASON_NEEDED },
        form: await ctx.chat.denyForm(person, p.runId, p.stepId, DENY_REASON_NEEDED),
      };
    },
  }),
  [CARD_ACTIONS.accessRequestSubmit]: form({
    payload: accessValues,
    inputs: ACCESS_FORM_INPUTS,
    shows: ['answer', 'form', 'errors'],
    // Checked before Slack's acknowledgement: a pair that cannot be looked up now is checked again by the work.
    check: async ({ chat }, person, values) => accessProblems(chat, person, values).catch(() => AccessChat.checkForm(values)),
    refused: 'Your access request was not sent',
    run: async ({ chat }, person, values) => {
      const errors = await accessProblems(chat, person, values);
      if (!errors) return { answer: await chat.access.submitForm(person, values) };
      // The form again with what was chosen and what was wrong, as Slack marks its fields.
      const again = await chat.access.formAgain(person, values, errors);
      return { errors, ...(again.kind === 'access-form' ? { form: again } : { answer: again }) };
    },
  }),
  [CARD_ACTIONS.findSubmit]: form({
    payload: findValues,
    inputs: FIND_FORM_INPUTS,
    shows: ['found', 'form', 'errors'],
    run: async ({ chat }, person, values) => {
      const result = await chat.findFromForm(person, values);
      if (result.ok) return { found: result.card };
      // A filter the form has no field for is marked on the cost input.
      const field = result.field in FIND_FORM_INPUTS ? result.field : 'cost';
      return { errors: { [field]: result.error }, form: result.card };
    },
  }),
  [CARD_ACTIONS.promptSubmit]: form({
    payload: promptValues,
    inputs: PROMPT_FORM_INPUTS,
    shows: ['card', 'followUp', 'prompt', 'form', 'errors', 'answer'],
    run: async ({ chat }, person, { verb, ids, values }) => {
      if (!verb)
        return {
          answer: chat.notice('warning', 'That form no longer works', 'This card is out of date. Send "help" to see what Roster can do.'),
        };
      return chat.actions.submit(person, verb, ids, values);
    },
  }),
};

// Alert and check-in cards: the core acts (authorised there), the clicker gets the fresh card.
const alerts = each(ALERT_VERBS, (verb) =>
  button({
    payload: ids({ alertId: 'AlertId' }),
    shows: ['card', 'followUp'],
    run: ({ supervision }, person, { alertId }) => supervision.alertClick(person, verb, alertId),
  }),
);
const checkIns = each(CHECKIN_VERBS, (verb) =>
  button({
    payload: ids({ checkInId: 'CheckInId' }),
    shows: ['card'],
    run: async ({ supervision }, person, { checkInId }) => ({ card: await supervision.checkInAction(person, verb, checkInId) }),
  }),
);
// The agent buttons of alerts, check-ins and notices, and the prompts some of them open.
const agentButtons = each(AGENT_BUTTON_VERBS, (verb) =>
  button({
    payload: anyIds,
    shows: ['card', 'followUp', 'prompt', 'form'],
    run: ({ chat }, person, payload) => chat.actions.click(person, verb, payload),
  }),
);

const parts = [cards, alerts, checkIns, agentButtons];

/** Every action a card can carry, by its Slack action_id / callback_id and Teams verb. */
export const ACTION_TABLE = { ...cards, ...alerts, ...checkIns, ...agentButtons } satisfies Record<CardAction, ActionEntry>;

// Each id is declared once: a verb in two parts would silently take the later part's operation.
if (parts.reduce((n, part) => n + Object.keys(part).length, 0) !== Object.keys(ACTION_TABLE).length) {
  throw new Error('an action is declared twice in the action table');
}

/** The table's entries of one kind offered on `platform`, with their ids. */
export function actionsOn<K extends ActionEntry['kind']>(
  platform: ActionPlatform,
  kind: K,
): Array<[CardAction, Extract<ActionEntry, { kind: K }>]> {
  return (Object.entries(ACTION_TABLE) as Array<[CardAction, ActionEntry]>).filter(
    (e): e is [CardAction, Extract<ActionEntry, { kind: K }>] => e[1].kind === kind && (!e[1].only || e[1].only === platform),
  );
}

/** The ids of the table's forms (Slack modal callback ids, Teams verbs sending a form card). */
export type FormActionId = {
  [K in keyof typeof ACTION_TABLE]: (typeof ACTION_TABLE)[K] extends FormAction ? K : never;
}[keyof typeof ACTION_TABLE];
