import type { App as BoltApp } from '@slack/bolt';
import type { CardAction } from '../../cards/ids.js';
import type { Logger } from '../../logger.js';
import {
  actionsOn,
  type ActionContext,
  type ActionResult,
  type ButtonAction,
  type FormAction,
  type FormActionId,
} from '../action-table.js';
import { DROPPED_AT_SHUTDOWN, type AcceptedDelivery, type ClickWork } from './click-work.js';
import { errorsToBlocks, formOrigin, SLACK_FORM_READERS, viewSubmissionSchema } from './forms.js';
import type { SlackIdentity } from './identity.js';
import { showClickResult, showSubmitResult } from './outcome.js';
import type { SlackReplies } from './replies.js';

/** The ids of the buttons and forms Slack listens for (a delivery naming any other is explained at once, not routed). */
export const SLACK_BUTTON_IDS: ReadonlySet<string> = new Set(actionsOn('slack', 'button').map(([id]) => id));
export const SLACK_FORM_IDS: ReadonlySet<string> = new Set(actionsOn('slack', 'form').map(([id]) => id));

/** A button's value as the action table's schema reads it: JSON, or the one id a bare value is. */
function buttonPayload(entry: ButtonAction, value: unknown): unknown {
  if (entry.bareValue) return { [entry.bareValue]: typeof value === 'string' ? value : '' };
  try {
    return JSON.parse(String(value));
  } catch {
    return {};
  }
}

/**
 * Every button and form of the action table. A click was acknowledged and queued by the
 * middleware; its listener finds the person, acts and shows the result. A modal submit is
 * acknowledged here: with field errors or the next view when the action says so, its work then
 * queued when it has a quick check, else done before the acknowledgement; what outlasts
 * `submitAckBudgetMs` comes as a message after a bare acknowledgement.
 */
export function registerActions(
  app: BoltApp,
  deps: {
    ctx: ActionContext;
    identity: SlackIdentity;
    replies: SlackReplies;
    work: ClickWork;
    log: Logger;
    /** How long a modal submit may take before it is acknowledged without its outcome (see {@link SUBMIT_ACK_BUDGET_MS}). */
    submitAckBudgetMs: number;
  },
): void {
  for (const [id, entry] of actionsOn('slack', 'button')) onClick(app, deps, id, entry);
  for (const [id, entry] of actionsOn('slack', 'form')) onSubmit(app, deps, id as FormActionId, entry);
}

function onClick(app: BoltApp, deps: Parameters<typeof registerActions>[1], id: CardAction, entry: ButtonAction): void {
  const { ctx, replies } = deps;
  app.action(id, async ({ body, action, client, respond }) => {
    const to = { client, userId: body.user.id, respond, verb: id };
    await replies.asPerson(to, async (person) => {
      const result = await entry.act(ctx, person, buttonPayload(entry, 'value' in action ? action.value : undefined), id);
      await showClickResult(replies, { ...to, body, person }, result);
    });
  });
}

/**
 * How long a modal submit's listener waits for its form to be read and checked (or worked on) before
 * it acknowledges without them. Slack gives the whole delivery three seconds (Bolt answers 404 at
 * 3001 ms, and Slack shows the person an error in the modal while the work goes on), and the
 * delivery's key is stored before the listener runs.
 */
export const SUBMIT_ACK_BUDGET_MS = 2_000;

/** `work`'s value if it settles within `ms`, else undefined (the work goes on; its caller awaits it later). */
async function within<T>(work: Promise<T>, ms: number): Promise<{ value: T } | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([work.then((value) => ({ value })), late]);
  } finally {
    clearTimeout(timer);
  }
}

function onSubmit(app: BoltApp, deps: Parameters<typeof registerActions>[1], id: FormActionId, entry: FormAction): void {
  const { ctx, identity, replies, work } = deps;
  app.view(id, async ({ ack, body, client }) => {
    const parsed = viewSubmissionSchema.safeParse(body);
    if (!parsed.success) return void (await ack());
    const userId = parsed.data.user.id;
    const to = { client, userId, verb: id };
    const person = await identity.person(userId).catch(async (err: unknown) => {
      // Slack could not say who this is (an outage): the form closes and the person hears to try again.
      await ack();
      await replies.privately(to, ctx.chat.errorCard(err, { slackUserId: userId, verb: id }));
      return null;
    });
    if (person === null) return;
    if (!person) {
      await ack();
      return void (await replies.privately(to, ctx.chat.unknownPersonCard()));
    }
    const origin = formOrigin(parsed.data.view.private_metadata);
    const show = (result: ActionResult) => showSubmitResult(replies, ctx.chat, { ...to, person, origin, refused: entry.refused }, result);
    const told = (err: unknown) =>
      replies
        .privately(to, ctx.chat.errorCard(err, { slackUserId: userId, verb: id }))
        .catch((e: unknown) => deps.log.error({ err: e }, 'could not tell the person about an error'));
    const view = parsed.data.view;
    let accepted: AcceptedDelivery | undefined;
    // What is done before the acknowledgement, for its field errors or next view: with a quick
    // check, reading the form and the check (the work is queued after); without one, the work.
    const before = (async (): Promise<{ raw: unknown; errors?: Partial<Record<string, string>>; result?: ActionResult }> => {
      const raw = await SLACK_FORM_READERS[id](view, async (slackId) => (await identity.person(slackId))?.email);
      if (entry.check) return { raw, errors: await entry.check(ctx, person, raw) };
      const result = await entry.act(ctx, person, raw, id);
      return { raw, result, ...(result.errors && Object.values(result.errors).some(Boolean) ? { errors: result.errors } : {}) };
    })();
    try {
      const done = await within(before, deps.submitAckBudgetMs);
      // Too slow to answer in the acknowledgement: the form closes now, and what it leads to comes
      // as a message (field errors as the refusal notice, a next form as a pointer back to its button).
      // While its form is still being read and checked (nothing done yet), the submit is the queue's:
      // a shutdown waits for it, or drops it and tells the person to try again. (Without a check, the
      // work itself is under way in `before`: it cannot be dropped unseen, and is not taken.)
      const dropped = () =>
        replies
          .privately(to, ctx.chat.notice('warning', DROPPED_AT_SHUTDOWN.title, DROPPED_AT_SHUTDOWN.message))
          .catch((e: unknown) => deps.log.error({ err: e }, 'could not tell a person that Roster did nothing with their form'));
      accepted = !done && entry.check ? work.accept(dropped) : undefined;
      if (!done) await ack();
      const { raw, errors, result } = done?.value ?? (await before);
      if (accepted?.dropped) return;
      if (errors && !done) return void (await show({ errors }));
      // In time, field errors and the next view go in the acknowledgement, shown in the submitter's zone.
      if (errors) return void (await ack(await replies.fieldErrors(userId, errorsToBlocks(entry.inputs, errors))));
      const next = done && result ? (result.prompt ?? result.form) : undefined;
      const update = next ? await replies.nextView(userId, next) : undefined;
      if (update) return void (await ack(update));
      if (done) await ack();
      if (result) await show(result);
      else {
        const task = () => replies.asPerson(to, async () => show(await entry.act(ctx, person, raw, id)), person);
        await (accepted ? accepted.work(task) : work.add(task));
      }
    } catch (err) {
      await ack().catch(() => undefined);
      await told(err);
    } finally {
      accepted?.done();
    }
  });
}
