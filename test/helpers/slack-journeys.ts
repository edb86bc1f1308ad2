import type { FakeSlack } from './fake-slack.js';
import { eventually } from './harness.js';
import { actionElements } from './slack-blocks.js';
import { buttonClick, interaction, postSlack, slashCommand, viewSubmission, type SlackPost } from './slack-requests.js';

/*
 * What a person does in Slack, as signed deliveries to a Roster (in this process or spawned) whose
 * Slack Web API is a FakeSlack: each step asserts Slack got a 200 and waits for what Roster sends back.
 */

const view = (call: { args: Record<string, unknown> }) => call.args.view as Record<string, unknown>;

/** The first modal with this callback id opened after call number `from`. */
async function modalOpened(slack: FakeSlack, callbackId: string, from: number, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = slack.calls.slice(from).find((c) => c.method === 'views.open' && view(c).callback_id === callbackId);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no ${callbackId} modal was opened within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function post(baseUrl: string, payload: SlackPost): Promise<void> {
  const res = await postSlack(baseUrl, payload);
  if (res.status !== 200) throw new Error(`Slack delivery answered ${res.status}: ${res.text}`);
}

/** The catalog's Request button for `roleId`, then the request modal submitted. */
export async function requestAgentInSlack(
  baseUrl: string,
  slack: FakeSlack,
  request: { userId: string; roleId: string; name: string; businessUnit: string; sponsorIds?: string[] },
): Promise<void> {
  const from = slack.calls.length;
  await post(
    baseUrl,
    interaction(buttonClick(request.userId, 'catalog_request', request.roleId, slack.responseUrl(`click-${request.name}`))),
  );
  const opened = await modalOpened(slack, 'agent_request_submit', from);
  await post(
    baseUrl,
    interaction(
      viewSubmission(request.userId, view(opened), {
        agent_name: { agent_name: { type: 'plain_text_input', value: request.name } },
        purpose: { purpose: { type: 'plain_text_input', value: 'Answers engineering how-to questions from the handbook.' } },
        business_unit: { business_unit: { type: 'static_select', selected_option: { value: request.businessUnit } } },
        sponsors: { sponsors: { type: 'multi_users_select', selected_users: request.sponsorIds ?? [request.userId] } },
        justification: { justification: { type: 'plain_text_input', value: 'Saves the platform team hours each week.' } },
      }),
    ),
  );
}

/**
 * `/roster eval <agent> self-reported`, then the evaluation modal submitted with passing results,
 * every role-fit item checked and the reason for typing them in; `userId` must be an IT admin's.
 */
export async function submitPassingEvaluationInSlack(baseUrl: string, slack: FakeSlack, userId: string, agentName: string): Promise<void> {
  const from = slack.calls.length;
  // `self-reported`: for a role Roster measures itself, an IT admin asks for the typed-in form explicitly.
  await post(baseUrl, slashCommand(userId, `eval ${agentName} self-reported`, slack.responseUrl(`eval-${agentName}`)));
  const opened = await modalOpened(slack, 'evaluation_submit', from);
  const roleFit = actionElements(view(opened).blocks)
    .filter((e) => e.action_id === 'role_fit')
    .flatMap((e) => e.options as Array<{ value: string }>);
  await post(
    baseUrl,
    interaction(
      viewSubmission(userId, view(opened), {
        accuracy: { accuracy: { type: 'number_input', value: '0.91' } },
        p95_latency_ms: { p95_latency_ms: { type: 'number_input', value: '2100' } },
        cost_per_task_usd: { cost_per_task_usd: { type: 'number_input', value: '0.01' } },
        role_fit_0: { role_fit: { type: 'checkboxes', selected_options: roleFit.map((o) => ({ value: o.value })) } },
        notes: { notes: { type: 'plain_text_input', value: 'Measured by the vendor; no endpoint Roster can reach yet.' } },
      }),
    ),
  );
  // The verdict is the reply to the submitter, posted after the modal closes: wait for it, so a
  // test that kills Roster next does not race the reply it never meant to test.
  await eventually(
    () =>
      slack.calls.slice(from).some(
        (c) =>
          c.method === 'chat.postMessage' &&
          c.args.channel === userId &&
          // The verdict's header, not the approval card that quotes the evaluation's summary.
          JSON.stringify(c.args.blocks).includes(`Evaluation passed: ${agentName}`),
      ),
    30_000,
  );
}

/** Approval cards (first ones, reminders, escalations) posted to a Slack user for a run, from call number `from` on. */
export function approvalCardsTo(slack: FakeSlack, userId: string, runId: string, from = 0): Array<{ args: Record<string, unknown> }> {
  return slack.calls
    .slice(from)
    .filter(
      (c) =>
        c.method === 'chat.postMessage' &&
        c.args.channel === userId &&
        actionElements(c.args.blocks).some((e) => e.action_id === 'approval_approve' && String(e.value).includes(runId)),
    );
}

/** The value of a card's Approve button (`{"runId","stepId"}`). */
export function approveValueOf(card: { args: Record<string, unknown> }): string {
  const button = actionElements(card.args.blocks).find((e) => e.action_id === 'approval_approve');
  if (!button) throw new Error('the card has no Approve button');
  return String(button.value);
}
