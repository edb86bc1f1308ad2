import { RouteRank, type AdaptiveCard, type AgentApplication, type TurnContext, type TurnState } from '@microsoft/agents-hosting';
import { z } from 'zod';
import type { Person } from '../../config/schemas.js';
import { CARD_ACTIONS, FIND_FORM_INPUTS, HOME_SURFACE } from '../../cards/ids.js';
import type { CardModel } from '../../cards/view-models.js';
import { isRosterError } from '../../core/errors.js';
import { DENY_REASON_NEEDED } from '../../core/commands.js';
import type { Logger } from '../../logger.js';
import type { ChatService, FindFormValues } from '../chat.js';
import { adaptiveCard, cardMessage, readerTimeOf } from './cards.js';
import type { CardTime } from '../../cards/localise.js';
import type { TeamsRouteDeps } from './conversation.js';
import {
  accessFormValues,
  actionSchema,
  approvalIds,
  denyReason,
  evaluationFormValues,
  promptSubmission,
  requestFormValues,
} from './forms.js';
import { AGENT_BUTTON_VERBS, buttonIds, type ActionOutcome, type AgentButtonVerb } from '../chat-actions.js';
import { isPersonal } from './identity.js';
import { ALERT_VERBS, CHECKIN_VERBS, type AlertVerb, type CheckInVerb } from '../chat-supervision.js';
import { AccessChat, type GrantAction } from '../chat-access.js';

/** The Action.Execute verb of an invoke. */
function verbOf(context: TurnContext): string {
  const value = context.activity.value as { action?: { verb?: unknown } } | undefined;
  return typeof value?.action?.verb === 'string' ? value.action.verb : '';
}

/**
 * What a handler answers a click with: a card shown in place of the one clicked, a plain text
 * answer, or an {@link ActionOutcome} (what was done, what is still asked, a follow-up message),
 * which a click on the home card turns into the home card once nothing more is asked.
 */
type ActionWork = (person: Person, data: Record<string, unknown>, context: TurnContext) => Promise<CardModel | string | ActionOutcome>;

/** An outcome, as opposed to a card model (which has a `kind`) or a text. */
function isOutcome(result: CardModel | string | ActionOutcome): result is ActionOutcome {
  return typeof result === 'object' && !('kind' in result);
}
type Verbs = Parameters<AgentApplication<TurnState>['adaptiveCards']['actionExecute']>[0];

/**
 * `Action.Execute` (Universal Actions): each verb from CARD_ACTIONS becomes one call of the chat
 * service, and the card it returns is the invoke response, which Teams shows to the person who
 * clicked in place of the card they clicked (REPLACE_FOR_INTERACTOR, the SDK default). Everyone
 * else's copy of an approval changes through the notifier: the flow engine updates every
 * approval card and status card it sent. Unknown people, refusals and failures are answered
 * with a card too: an invoke never fails silently and never returns a 500.
 */
export function registerCardActions(app: AgentApplication<TurnState>, deps: TeamsRouteDeps): void {
  const { chat, identity, log } = deps;
  const complete = async (card: CardModel): Promise<CardModel> => (deps.cardParts ? deps.cardParts.complete(card) : card);

  // What an outcome answers: a prompt, form or card in place of the clicked card, a follow-up as a
  // message of its own. Clicked on the home card (`home` given), the card gives way to the home
  // card, fresh, as Slack publishes App Home again; a prompt or form is still shown in its place.
  const deliver = async (context: TurnContext, outcome: ActionOutcome, home?: Person): Promise<CardModel | string> => {
    const shown = outcome.prompt ?? outcome.form ?? (home && outcome.card ? await chat.home(home) : outcome.card);
    if (outcome.followUp) await context.sendActivity(cardMessage(outcome.followUp, readerTimeOf(context)));
    if (shown) return shown;
    // Nothing replaces the clicked card (a decision log stays as it is): the answer is the message above.
    return outcome.followUp && 'title' in outcome.followUp.data ? String(outcome.followUp.data.title) : 'Done.';
  };

  const on = (verbs: Verbs, work: ActionWork) => {
    app.adaptiveCards.actionExecute(verbs, async (context, _state, action): Promise<AdaptiveCard | string> => {
      const person = await identity.person(context);
      const time = readerTimeOf(context);
      if (!person) return adaptiveCard(chat.unknownPersonCard(), time);
      const parsed = actionSchema.safeParse(action);
      const data = (parsed.success ? parsed.data.data : undefined) ?? {};
      try {
        const worked = await work(person, data, context);
        const result = isOutcome(worked) ? await deliver(context, worked, fromHome(data) ? person : undefined) : worked;
        return typeof result === 'string' ? result : adaptiveCard(await complete(result), time);
      } catch (err) {
        return adaptiveCard(
          chat.errorCard(err, { verb: parsed.success ? parsed.data.verb : undefined, teamsUser: context.activity.from?.aadObjectId }),
          time,
        );
      }
    });
  };

  on(CARD_ACTIONS.catalogRequest, async (person, data) => {
    const roleId = typeof data.roleId === 'string' ? data.roleId : '';
    return chat.requestForm(person, roleId).card;
  });

  on(CARD_ACTIONS.agentRequestSubmit, async (person, data) => {
    const values = requestFormValues(data);
    const result = await chat.submitRequest(person, values);
    if (!result.ok) return result.reply.card;
    return submittedNotice(chat, values.agentName ?? 'Your agent', result.agentId);
  });

  on(CARD_ACTIONS.evaluationOpen, async (person, data) => {
    const agentId = typeof data.agentId === 'string' ? data.agentId : '';
    return (await chat.evaluationForm(person, agentId)).card;
  });

  on(CARD_ACTIONS.evaluationSubmit, async (person, data) => {
    return (await chat.submitEvaluation(person, evaluationFormValues(data))).reply.card;
  });

  // Previous / Next on a `find` result: the page is the invoke response, shown in place.
  on(CARD_ACTIONS.findPage, async (person, data) => {
    const q = typeof data.q === 'string' ? data.q.slice(0, 500) : '';
    const page = Number(data.page);
    return chat.find(person, q, Number.isInteger(page) && page >= 1 && page <= 1000 ? page : 1);
  });

  // Find agents… on the home card: the form, then its results, each in place of the card clicked.
  on(CARD_ACTIONS.findOpen, async () => chat.findForm());
  on(CARD_ACTIONS.findSubmit, async (person, data) => {
    const value = (key: keyof typeof FIND_FORM_INPUTS) => {
      const v = data[FIND_FORM_INPUTS[key].teams];
      return typeof v === 'string' ? v.slice(0, 200) : undefined;
    };
    const values = Object.fromEntries(
      (Object.keys(FIND_FORM_INPUTS) as Array<keyof typeof FIND_FORM_INPUTS>).map((key) => [key, value(key)]),
    ) as FindFormValues;
    return (await chat.findFromForm(person, values)).card;
  });

  on(CARD_ACTIONS.approvalApprove, async (person, data, context) => {
    const { runId = '', stepId = '' } = approvalIds(data);
    const card = await decideOnce(chat, person, { runId, stepId, decision: 'approve' });
    await updateSharedCopy(context, data, await complete(card), identity.sharedTime(), log);
    return { card };
  });

  on([CARD_ACTIONS.approvalDeny, CARD_ACTIONS.approvalDenySubmit], async (person, data, context) => {
    const { runId = '', stepId = '' } = approvalIds(data);
    const reason = denyReason(data);
    if (!reason) return { form: await chat.denyForm(person, runId, stepId, DENY_REASON_NEEDED) };
    const card = await decideOnce(chat, person, { runId, stepId, decision: 'deny', comment: reason });
    await updateSharedCopy(context, data, await complete(card), identity.sharedTime(), log);
    return { card };
  });

  on(CARD_ACTIONS.approvalRefresh, async (person, data) => {
    const { runId = '', stepId = '' } = approvalIds(data);
    return chat.approvalCard(person, runId, stepId);
  });

  // Grant and access-review cards (issue 6): the same AccessChat calls as Slack.
  const grantVerbs: Array<[string, GrantAction]> = [
    [CARD_ACTIONS.grantExtend, 'extend'],
    [CARD_ACTIONS.grantLetExpire, 'let-expire'],
    [CARD_ACTIONS.grantRevoke, 'revoke'],
    [CARD_ACTIONS.grantConfirm, 'confirm'],
  ];
  for (const [verb, grantAction] of grantVerbs) {
    on(verb, async (person, data, context) => {
      const { card, reply } = await chat.access.click(person, grantAction, typeof data.grantId === 'string' ? data.grantId : '');
      // The clicked card (a reminder) changes in place; a new request (Extend) is a message of its own.
      if (reply) await context.sendActivity(cardMessage(reply, readerTimeOf(context)));
      return card;
    });
  }
  for (const [verb, answer] of [
    [CARD_ACTIONS.reviewKeep, 'keep'],
    [CARD_ACTIONS.reviewRevoke, 'revoke'],
  ] as const) {
    on(verb, async (person, data) =>
      chat.access.reviewClick(
        person,
        answer,
        typeof data.grantId === 'string' ? data.grantId : '',
        typeof data.reviewId === 'string' ? data.reviewId : '',
      ),
    );
  }

  // The access request form: field problems come back on the form, as Slack shows them in its ack.
  // The chosen pair is client data: one the form would not offer this person is marked on it too.
  on(CARD_ACTIONS.accessRequestSubmit, async (person, data) => {
    const values = accessFormValues(data);
    const errors: Partial<Record<'target' | 'duration' | 'reason', string>> = { ...AccessChat.checkForm(values) };
    const refusal = errors.target ? undefined : await chat.access.targetRefusal(person, values.targetId);
    if (refusal) errors.target = refusal;
    if (Object.keys(errors).length === 0) return chat.access.submitForm(person, values);
    return chat.access.formAgain(person, values, errors);
  });

  // Alert and check-in cards: the core acts (authorised there), the clicker gets the fresh card.
  const supervision = deps.supervision;
  if (supervision) {
    on([...ALERT_VERBS], async (person, data, context) =>
      supervision.alertClick(person, verbOf(context) as AlertVerb, typeof data.alertId === 'string' ? data.alertId : ''),
    );
    on([...CHECKIN_VERBS], async (person, data, context) =>
      supervision.checkInAction(person, verbOf(context) as CheckInVerb, typeof data.checkInId === 'string' ? data.checkInId : ''),
    );
  }

  // The agent buttons of alerts, check-ins and notices, and the prompts some of them open.
  on([...AGENT_BUTTON_VERBS], async (person, data, context) =>
    chat.actions.click(person, verbOf(context) as AgentButtonVerb, buttonIds(data)),
  );
  on(CARD_ACTIONS.promptSubmit, async (person, data) => {
    const { verb, ids, values } = promptSubmission(data);
    if (!verb)
      return chat.notice('warning', 'That form no longer works', 'This card is out of date. Send "help" to see what Roster can do.');
    return chat.actions.submit(person, verb, ids, values);
  });

  // Typeahead: a choice set with a Data.Query asks for choices as the person types (the directory
  // for people pickers, the agents a form may pick, the access form's pairs). Answered from what
  // this person may pick; a malformed search is refused with 400, an unknown person gets nothing.
  app.addRoute(
    async (context) => context.activity.type === 'invoke' && context.activity.name === SEARCH_INVOKE,
    async (context) => {
      const parsed = searchInvokeSchema.safeParse(context.activity.value);
      if (!parsed.success) {
        await answerInvoke(context, 400, { error: 'bad_search', message: 'A search needs queryText and dataset.' });
        return;
      }
      const person = await identity.person(context);
      let results: Array<{ title: string; value: string }> = [];
      if (person) {
        try {
          const { queryText, dataset, queryOptions } = parsed.data;
          const found = await chat.search(person, dataset, queryText);
          results = found
            .slice(queryOptions.skip, queryOptions.skip + queryOptions.top)
            .map((c) => ({ title: c.detail ? `${c.label} — ${c.detail}` : c.label, value: c.value }));
        } catch (err) {
          log.warn({ err }, 'a Teams picker search failed');
        }
      }
      await answerInvoke(context, 200, { type: SEARCH_RESPONSE_TYPE, value: { results } });
    },
    true,
  );

  // Registered last, so it only answers verbs no handler above knows (an old card, a forged invoke).
  on(/.*/, async () =>
    chat.notice('warning', 'That button no longer works', 'This card is out of date. Send "help" to see what Roster can do.'),
  );

  // Any other invoke (a name Roster does not serve, or an adaptiveCard/action that is not an
  // Action.Execute) is the client's mistake: 400 with a reason, where the SDK would answer 501.
  app.addRoute(
    async (context) => context.activity.type === 'invoke',
    async (context) => {
      log.info({ name: context.activity.name }, 'an invoke Roster does not handle was refused');
      await context.sendActivity({
        type: 'invokeResponse',
        value: { status: 400, body: { error: 'unsupported_invoke', message: 'Roster does not handle this kind of request.' } },
      } as Parameters<TurnContext['sendActivity']>[0]);
    },
    true,
    RouteRank.Last,
  );
}

/** The invoke a typeahead choice set sends (Teams' dynamic search, `Data.Query`). */
export const SEARCH_INVOKE = 'application/search';
/** The type of a search invoke's answer. */
const SEARCH_RESPONSE_TYPE = 'application/vnd.microsoft.search.searchResponse';

/** The value of an `application/search` invoke: what was typed, the dataset, the page Teams wants. */
const searchInvokeSchema = z
  .object({
    queryText: z.string().max(1000).default(''),
    dataset: z.string().min(1).max(100),
    queryOptions: z
      .object({ skip: z.number().int().min(0).max(1000).default(0), top: z.number().int().min(1).max(100).default(15) })
      .prefault({}),
  })
  .loose();

/** Answers an invoke with a status and a JSON body. */
async function answerInvoke(context: TurnContext, status: number, body: unknown): Promise<void> {
  await context.sendActivity({ type: 'invokeResponse', value: { status, body } } as Parameters<TurnContext['sendActivity']>[0]);
}

/** Whether a button was clicked on the home card (see {@link HOME_SURFACE}). */
function fromHome(data: Record<string, unknown>): boolean {
  return data.surface === HOME_SURFACE;
}

/**
 * A decision, acting once: a repeated click (a redelivered invoke, a double click) is refused by
 * the core with `already_decided`, and the person simply sees their own card again, with their
 * decision recorded on it.
 */
async function decideOnce(
  chat: ChatService,
  person: Person,
  input: { runId: string; stepId: string; decision: 'approve' | 'deny'; comment?: string },
): Promise<CardModel> {
  try {
    // The invoke answers once the decision and its audit entry are stored; the other approvers'
    // cards and the status card are updated right after, through the outbox.
    return await chat.decide(person, input, { answerFirst: true });
  } catch (err) {
    if (isRosterError(err) && err.code === 'already_decided') return chat.approvalCard(person, input.runId, input.stepId);
    throw err;
  }
}

/**
 * An approval card clicked in a group chat or channel is seen by others too: the clicker gets
 * their own view as the invoke response, and the message itself becomes the shared, read-only
 * view (its refresh still gives each approver their own). In a 1:1 chat there is nobody else,
 * and the flow engine updates every card it sent; a click on the home card leaves that message
 * the home card.
 */
async function updateSharedCopy(
  context: TurnContext,
  clicked: Record<string, unknown>,
  card: CardModel,
  time: CardTime,
  log: Logger,
): Promise<void> {
  const messageId = context.activity.replyToId;
  if (!messageId || isPersonal(context.activity) || fromHome(clicked) || card.kind !== 'approval-request') return;
  const { cannotDecideReason: _personal, headline: _asked, ...data } = card.data;
  try {
    // Seen by many, so its times are in the organisation's zone, named.
    const shared = cardMessage({ kind: card.kind, data: { ...data, canDecide: false } }, time);
    shared.id = messageId;
    await context.updateActivity(shared);
  } catch (err) {
    log.warn({ err }, 'could not update the shared copy of an approval card');
  }
}

/**
 * What replaces the request form once it is sent. The live status card is the one the flow
 * posts to the requester (and keeps up to date), so this card points there instead of showing a
 * second copy that would go stale.
 */
function submittedNotice(chat: ChatService, agentName: string, agentId?: string): CardModel {
  return chat.notice(
    'success',
    `Request sent: ${agentName}`,
    `Your request is on its way${agentId ? ` (agent ${agentId})` : ''}. Roster keeps its status card up to date in this chat. ` +
      `Next, submit the evaluation results: send "eval ${agentId ?? agentName}".`,
  );
}
