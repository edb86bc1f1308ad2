import { loadOrgConfig } from '../../src/config/org-config.js';
import { DatabaseUnavailableError } from '../../src/store/database.js';
import { slackTestRosterPerSuite } from '../helpers/app.js';
import { eventually, people, requestAwaitingApproval, SHIPPED_CONFIG } from '../helpers/harness.js';
import { buttonClick, interaction } from '../helpers/slack-requests.js';
import { asRunId } from '../helpers/ids.js';

/*
 * Many approve clicks at once through Roster's real Bolt receiver (signed requests), the outbox
 * worker running: every click ends in a stored decision, or in a message to the clicker saying
 * why nothing was done. A click answered 200 that decides nothing and says nothing is lost.
 */

const NOAH = { id: 'U04J5M9C1RF', email: 'noah.fischer@brightwater.example' }; // approver:engineering
const CLICKS = 40;

describe('concurrent approve clicks: none lost between the ack and the decision', () => {
  const org = loadOrgConfig(SHIPPED_CONFIG);

  const suite = slackTestRosterPerSuite({
    // One approver clicks 40 times at once: room for all of them under the per-person chat limit.
    settings: { rateLimits: { ...org.settings.rateLimits, chat: { ...org.settings.rateLimits.chat, requests: 1_000_000 } } },
  });

  /** A request waiting for engineering approvers (Noah among them), its evaluation passed. */
  const waitingRequest = async (i: number) =>
    (await requestAwaitingApproval(suite.roster.services, org, people.grace, `Click Storm ${i}`)).runId;

  const decidedByNoah = async (runIds: readonly string[]) => {
    const runs = await Promise.all(runIds.map((id) => suite.roster.services.engine.get(asRunId(id))));
    return runs.filter((r) => r.steps.approvals?.decisions?.some((d) => d.by === NOAH.email)).map((r) => r.id);
  };
  const toldNoah = (since: number) =>
    suite.slack.calls.slice(since).filter((c) => c.method === 'chat.postMessage' && c.args.channel === NOAH.id);

  it('every click is decided, or the clicker is told why not', async () => {
    const runIds: string[] = [];
    for (let i = 0; i < CLICKS; i++) runIds.push(await waitingRequest(i));
    await eventually(async () => {
      const runs = await Promise.all(runIds.map((id) => suite.roster.services.engine.get(asRunId(id))));
      return runs.every((r) => r.status === 'waiting' && r.steps.approvals?.status === 'waiting');
    }, 60_000);
    await suite.roster.services.outbox.idle();

    const mark = suite.slack.calls.length;
    const posts = runIds.map((runId) =>
      interaction(buttonClick(NOAH.id, 'approval_approve', JSON.stringify({ runId, stepId: 'approvals' }))),
    );
    const statuses = await Promise.all(
      posts.map(async (p) => {
        const res = await fetch(`${suite.roster.baseUrl}/slack/events`, { method: 'POST', headers: p.headers, body: p.body });
        await res.arrayBuffer();
        return res.status;
      }),
    );
    expect(statuses.filter((s) => s !== 200)).toEqual([]);

    // Settled when each click has an outcome the person can see: a decision, or a message saying why not.
    await eventually(async () => (await decidedByNoah(runIds)).length + toldNoah(mark).length >= CLICKS || undefined, 90_000);
    const decided = await decidedByNoah(runIds);
    const told = toldNoah(mark).map((c) => String(c.args.text ?? ''));
    expect(decided.length + told.length).toBe(CLICKS);
    // What a clicker may be told when a click decides nothing: only that Roster could not act for a moment.
    for (const text of told) expect(text).toContain(DatabaseUnavailableError.userTitle);
    // Each decision has its audit entry (the effect of the decision, through the outbox).
    await eventually(async () => {
      const entries = (await suite.roster.services.audit.export({})).filter((e) => e.action === 'decision.approve');
      return decided.every((id) => entries.some((e) => JSON.stringify(e).includes(id)));
    }, 60_000);
    await suite.roster.services.outbox.idle();
  }, 240_000);
});
