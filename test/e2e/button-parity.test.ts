import { randomBytes } from 'node:crypto';
import type { AgentRecord, GrantRecord } from '../../src/core/agents.js';
import type { AuditEntry } from '../../src/core/audit.js';
import { DENY_REASON_NEEDED } from '../../src/core/requests.js';
import {
  buttonData,
  clickingOnSlack,
  clickingOnTeams,
  everything,
  trailWith,
  type Clicker,
  type ClickingRoster,
} from '../helpers/clickers.js';
import { agentRecord, eventually, grantRecord, ownerlessAgent } from '../helpers/harness.js';
import { generateEvents } from '../helpers/synthetic-telemetry.js';
import { asAgentId, asAlertId, asCheckInId, asGrantId, asHandoffId } from '../helpers/ids.js';
import { commandsOf } from '../helpers/commands.js';

/*
 * Issue 17 item 7: every alert, check-in, grant, access-review and approval button the issue
 * names, clicked through Roster's real endpoint on both platforms — Slack's signed interactions
 * and modal submits to Bolt's receiver, Teams' adaptiveCard/action invokes to the Agents SDK —
 * with the same assertions on what the person sees, the stored state and the audit trail.
 */

type Roster = ClickingRoster['roster'];

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const LIAM = 'liam.oneill@brightwater.example'; // it-admin, on-call level 1
const AISHA = 'aisha.khan@brightwater.example'; // it-admin, on-call level 1
const NOAH = 'noah.fischer@brightwater.example'; // on-call level 2
const PRIYA = 'priya.raman@brightwater.example'; // sponsor here; on both platforms
const GRACE = 'grace.liu@brightwater.example'; // security
const MARCUS = 'marcus.johnson@brightwater.example'; // compliance
const ELENA = 'elena.rossi@brightwater.example'; // dpo
const SOFIA = 'sofia.alvarez@brightwater.example'; // approver in people-ops
const JONAS = 'jonas.weber@brightwater.example'; // recruiter (works the hand-off queue)
const MAYA = 'maya.chen@brightwater.example'; // approver in finance

describe.each([
  ['Slack', () => clickingOnSlack()],
  ['Teams', () => clickingOnTeams()],
])('%s: every button clicked through the endpoint', (platform, start) => {
  let roster: Roster;
  let p: Clicker;
  let stop: () => Promise<void>;
  beforeAll(async () => {
    ({ roster, clicker: p, stop } = await start());
  }, 60_000);
  afterAll(async () => {
    await stop?.();
  });

  /** A decided check-in's buttons: Slack also keeps "Show the numbers" (Teams toggles the numbers on the card, no button). */
  const decidedCheckInVerbs = [...(platform === 'Slack' ? ['checkin_numbers'] : []), 'checkin_note', 'checkin_decisions'];
  /** A registered, active agent sponsored by Priya, with a name no other test uses. */
  const activeAgent = async (name: string, overrides: Partial<AgentRecord> = {}) => {
    const agent = agentRecord({ name, sponsors: [PRIYA], requestedBy: PRIYA, ...overrides });
    await roster.services.agents.insert(agent);
    return agent;
  };
  /** An active agent 40 days old whose accuracy fell over its last 14 days, and its check-in run (sent to Priya). */
  const degradedAgent = async (name: string) => {
    const created = new Date(Date.now() - 40 * DAY).toISOString();
    const agent = await activeAgent(name, { createdAt: created, updatedAt: created, statusChangedAt: created });
    await roster.services.supervision.telemetry.ingest(
      generateEvents({
        agentId: agent.id,
        profile: 'accuracy-drop',
        days: 30,
        end: new Date(Math.floor(Date.now() / DAY) * DAY),
        driftDays: 14,
      }),
    );
    await roster.services.supervision.checkins.run(agent.id);
    return agent;
  };
  const driftAlert = (agent: AgentRecord) =>
    roster.services.supervision.alerts.raise({
      kind: 'drift',
      agentId: agent.id,
      severity: 'critical',
      summary: `${agent.name}: accuracy fell from 0.93 to 0.71`,
      details: { agentName: agent.name },
    });
  /** The agent's audit trail once `count` entries with `action` are written (the outbox writes some after the click returns). */
  const audited = (agentId: string, action: string, count = 1) =>
    eventually(async () => {
      const entries = (await roster.services.audit.export({ agentId: asAgentId(agentId) })).filter((e) => e.action === action);
      return entries.length >= count && entries;
    });
  const byPerson = (entry: AuditEntry | undefined) => (entry?.actor.kind === 'person' ? entry.actor.email : undefined);
  const alertOf = async (id: string) => (await roster.services.supervision.alertRepo.get(asAlertId(id)))!;

  it('Snooze 1 h, 4 h and 24 h: each click snoozes the alert for that long and the card says until when', async () => {
    const agent = await activeAgent('Snooze Drafter');
    const alert = await driftAlert(agent);
    let card = await p.delivered(LIAM, 'alert_snooze_1h', 'Snooze Drafter');
    for (const [verb, hours] of [
      ['alert_snooze_1h', 1],
      ['alert_snooze_4h', 4],
      ['alert_snooze_24h', 24],
    ] as const) {
      const before = Date.now();
      const seen = await p.click(LIAM, card, verb, { until: (s) => Boolean(s.card) });
      const after = Date.now();
      expect(seen.card!.text).toContain('Snoozed until');
      // A snoozed alert can still be acknowledged, escalated, snoozed again or resolved.
      expect(seen.card!.verbs).toEqual(expect.arrayContaining(['alert_ack', 'alert_escalate', 'alert_snooze_24h', 'alert_resolve']));
      const stored = await alertOf(alert.id);
      expect(stored.status).toBe('snoozed');
      const until = Date.parse(stored.snoozedUntil!);
      expect(until).toBeGreaterThanOrEqual(before + hours * HOUR - 1000);
      expect(until).toBeLessThanOrEqual(after + hours * HOUR + 1000);
      card = seen.card!;
    }
    const snoozed = await audited(agent.id, 'alert.snoozed', 3);
    expect(snoozed.map(byPerson)).toEqual([LIAM, LIAM, LIAM]);
    const lengths = snoozed.map((e) => Math.round((Date.parse(String(e.details.until)) - new Date(e.at).getTime()) / HOUR));
    expect(lengths).toEqual([1, 4, 24]);
  }, 60_000);

  it('Escalate pages the next level at once; Resolve from that page closes the alert', async () => {
    const agent = await activeAgent('Escalation Drafter');
    const alert = await driftAlert(agent);
    const page = await p.delivered(AISHA, 'alert_escalate', 'Escalation Drafter');
    const escalated = await p.click(AISHA, page, 'alert_escalate', { until: (s) => Boolean(s.card) });
    expect(escalated.card!.text).toContain('Level 2 of 2');
    expect(escalated.card!.text).toContain('Noah Fischer');
    expect(await alertOf(alert.id)).toMatchObject({ level: 1, status: 'open' });
    const [entry] = await audited(agent.id, 'alert.escalated');
    expect(byPerson(entry)).toBe(AISHA);
    expect(entry!.details).toMatchObject({ level: 2, manual: true });

    // Level 2 is paged with the same buttons; Noah resolves from his page.
    const noahPage = await p.delivered(NOAH, 'alert_resolve', 'Escalation Drafter');
    const resolved = await p.click(NOAH, noahPage, 'alert_resolve', { until: (s) => Boolean(s.card) });
    expect(resolved.card!.text).toContain('Resolved by Noah Fischer');
    for (const gone of ['alert_ack', 'alert_escalate', 'alert_snooze_1h', 'alert_resolve', 'alert_suspend']) {
      expect(resolved.card!.verbs).not.toContain(gone);
    }
    expect(await alertOf(alert.id)).toMatchObject({ status: 'resolved', resolvedBy: NOAH });
    expect(byPerson((await audited(agent.id, 'alert.resolved'))[0])).toBe(NOAH);
  }, 60_000);

  it('Suspend agent asks an IT admin to approve; once approved the agent is suspended', async () => {
    const agent = await activeAgent('Suspension Drafter');
    const alert = await driftAlert(agent);
    const page = await p.delivered(LIAM, 'alert_suspend', 'Suspension Drafter');
    const asked = await p.click(LIAM, page, 'alert_suspend', { until: (s) => everything(s).includes('Suspension of') });
    expect(everything(asked)).toContain('Suspension of Suspension Drafter requested');
    expect(everything(asked)).toContain('An IT admin has to approve it');
    // Both platforms: the page stays in place as the alert (not replaced by the notice), the notice is a message beside it.
    expect(asked.card?.text).toContain('Suspension Drafter');
    expect(asked.card!.verbs).toContain('alert_resolve');
    expect(asked.followUps.map((f) => f.text).join(' ')).toContain('Suspension of Suspension Drafter requested');
    // Nothing happens to the agent until an IT admin other than Liam approves.
    expect((await roster.services.agents.get(agent.id))?.status).toBe('active');
    const [run] = await roster.services.runs.list({ agentId: agent.id });
    expect(run).toMatchObject({ flowId: 'agent-suspension', status: 'waiting', requester: LIAM, context: { alertId: alert.id } });
    expect(byPerson((await audited(agent.id, 'run.started'))[0])).toBe(LIAM);

    const approval = await p.delivered(AISHA, 'approval_approve', 'Suspension Drafter');
    await p.click(AISHA, approval, 'approval_approve');
    await eventually(async () => (await roster.services.agents.get(agent.id))?.status === 'suspended');
    expect(byPerson((await audited(agent.id, 'decision.approve'))[0])).toBe(AISHA);
  }, 60_000);

  it('Block agent on a shadow alert refuses its telemetry and resolves the alert', async () => {
    const shadowId = `agt_${randomBytes(8).toString('hex')}`;
    const alert = await roster.services.supervision.alerts.raise({
      kind: 'shadow',
      agentId: asAgentId(shadowId),
      severity: 'critical',
      summary: `Telemetry arrived for ${shadowId}, which is not registered in Roster.`,
      details: { agentName: 'Unregistered agent' },
    });
    const page = await p.delivered(LIAM, 'alert_block', shadowId);
    // A shadow agent is blocked, not suspended.
    expect(page.verbs).not.toContain('alert_suspend');
    const blocked = await p.click(LIAM, page, 'alert_block', { until: (s) => Boolean(s.card) });
    expect(blocked.card!.text).toContain("Resolved by Liam O'Neill");
    expect(blocked.card!.verbs).not.toContain('alert_block');
    expect([...(await roster.services.supervision.telemetry.blocked([shadowId]))]).toEqual([shadowId]);
    expect(await alertOf(alert.id)).toMatchObject({ status: 'resolved', resolvedBy: LIAM });
    const [entry] = await audited(shadowId, 'agent.blocked');
    expect(byPerson(entry)).toBe(LIAM);
    expect(entry!.details).toMatchObject({ blockedAgentId: shadowId });
  }, 60_000);

  it('Assign sponsor on an ownerless alert asks for a person, makes them sponsor and tells them', async () => {
    const { agent: orphan, alert } = await ownerlessAgent(roster, { name: 'Orphaned Ledger Bot', requestedBy: PRIYA });
    const page = await p.delivered(AISHA, 'alert_assign_sponsor', 'Orphaned Ledger Bot');
    const asked = await p.click(AISHA, page, 'alert_assign_sponsor', { until: (s) => Boolean(s.prompt) });
    expect(asked.prompt!.text).toMatch(/sponsor/i);
    const done = await p.submit(AISHA, asked.prompt!, { sponsor: PRIYA }, (s) => Boolean(s.card));
    // The clicked alert card is updated in place: resolved, with the new sponsor named.
    expect(done.card!.text).toContain('Resolved by Aisha Khan');
    expect(done.card!.text).toContain('Sponsor: Priya Raman.');
    expect((await roster.services.agents.get(orphan.id))?.sponsors).toEqual([PRIYA]);
    expect((await alertOf(alert.id)).status).toBe('resolved');
    await p.sawText(PRIYA, 'You sponsor Orphaned Ledger Bot now');
    const assigned = [`alert.sponsor-assigned:${AISHA}`, `sponsorship.assigned:${AISHA}`, `alert.resolved:${AISHA}`];
    const trail = await trailWith(roster, orphan.id, assigned);
    expect(trail).toEqual(expect.arrayContaining(assigned));
  }, 60_000);

  it('Keep on a degraded check-in records the decision and leaves only the note and decision buttons', async () => {
    const agent = await degradedAgent('Keeper Drafter');
    const review = await p.delivered(PRIYA, 'checkin_keep', 'Keeper Drafter');
    const checkInId = String(buttonData(review, 'checkin_keep').checkInId);
    // A degraded check-in may have put the agent on probation; Keep changes nothing about that.
    const statusBefore = (await roster.services.agents.get(agent.id))?.status;
    const kept = await p.click(PRIYA, review, 'checkin_keep', { until: (s) => Boolean(s.card) });
    expect(kept.card!.text.toLowerCase()).toContain('keep');
    expect(kept.card!.verbs).toEqual(decidedCheckInVerbs);
    expect((await roster.services.supervision.checkinRepo.get(asCheckInId(checkInId)))?.decision).toMatchObject({
      choice: 'keep',
      by: PRIYA,
    });
    expect((await roster.services.agents.get(agent.id))?.status).toBe(statusBefore);
    expect(byPerson((await audited(agent.id, 'checkin.keep'))[0])).toBe(PRIYA);

    // The decided card's own buttons: Add note asks for the note, Decisions behind this sends the log.
    const asked = await p.click(PRIYA, kept.card!, 'checkin_note', { until: (s) => Boolean(s.prompt) });
    // The form recalls the first finding as the card's face says it, in plain words.
    const [first] = (await roster.services.supervision.checkinRepo.get(asCheckInId(checkInId)))!.findings;
    expect(first?.plain).toBeDefined();
    expect(asked.prompt!.text).toContain(`after "${first!.plain!.slice(0, 300)}"`);
    const noted = await p.submit(PRIYA, asked.prompt!, { text: 'Accuracy dips when tickets mention refunds.' }, (s) =>
      everything(s).includes('Noted on Keeper Drafter'),
    );
    expect(everything(noted)).toContain('Accuracy dips when tickets mention refunds.');
    expect((await roster.services.agents.get(agent.id))?.knowledgeNotes).toEqual([
      expect.objectContaining({ kind: 'failure-mode', by: PRIYA, text: 'Accuracy dips when tickets mention refunds.' }),
    ]);
    expect(byPerson((await audited(agent.id, 'knowledge.noted'))[0])).toBe(PRIYA);
    const log = await p.click(PRIYA, kept.card!, 'checkin_decisions', {
      until: (s) => everything(s).includes('Decisions of Keeper Drafter'),
    });
    expect(everything(log)).toContain('The decisions behind the check-in of');
  }, 60_000);

  it('Retire on a degraded check-in records the choice and starts the retirement sign-offs', async () => {
    const agent = await degradedAgent('Retiree Drafter');
    const review = await p.delivered(PRIYA, 'checkin_retire', 'Retiree Drafter');
    const checkInId = String(buttonData(review, 'checkin_retire').checkInId);
    const retired = await p.click(PRIYA, review, 'checkin_retire', { until: (s) => Boolean(s.card) });
    expect(retired.card!.verbs).toEqual(decidedCheckInVerbs);
    expect((await roster.services.supervision.checkinRepo.get(asCheckInId(checkInId)))?.decision).toMatchObject({
      choice: 'retire',
      by: PRIYA,
    });
    const runs = await eventually(async () => {
      const all = (await roster.services.runs.list({ agentId: agent.id })).filter((r) => r.flowId === 'retirement');
      return all.length > 0 && all;
    });
    expect(runs).toEqual([expect.objectContaining({ status: 'waiting', requester: PRIYA })]);
    expect(byPerson((await audited(agent.id, 'checkin.retire'))[0])).toBe(PRIYA);
  }, 60_000);

  it('Add note on an alert keeps the note on the agent; Retire agent starts the retirement sign-offs', async () => {
    const agent = await activeAgent('Noted Drafter');
    const alert = await driftAlert(agent);
    const page = await p.delivered(LIAM, 'alert_note', 'Noted Drafter');
    const asked = await p.click(LIAM, page, 'alert_note', { until: (s) => Boolean(s.prompt) });
    expect(asked.prompt!.text).toContain('accuracy fell from 0.93 to 0.71');
    const noted = await p.submit(
      LIAM,
      asked.prompt!,
      { text: 'Drifts after each knowledge-base import.' },
      (s) => Boolean(s.card) && everything(s).includes('Noted on Noted Drafter'),
    );
    expect(noted.card!.text).toContain('drift alert: Noted Drafter');
    expect((await roster.services.agents.get(agent.id))?.knowledgeNotes).toEqual([
      expect.objectContaining({ kind: 'failure-mode', by: LIAM, text: 'Drifts after each knowledge-base import.' }),
    ]);
    expect(byPerson((await audited(agent.id, 'knowledge.noted'))[0])).toBe(LIAM);

    const retire = await p.click(LIAM, noted.card!, 'alert_retire', { until: (s) => Boolean(s.card) && s.followUps.length > 0 });
    expect(everything(retire)).toMatch(/retire/i);
    const [run] = (await roster.services.runs.list({ agentId: agent.id })).filter((r) => r.flowId === 'retirement');
    expect(run).toMatchObject({ status: 'waiting', requester: LIAM });
    expect(String(run!.context.reason)).toContain(alert.id);
    // Retiring while the sponsors, compliance and IT sign off; nothing is revoked before that.
    expect((await roster.services.agents.get(agent.id))?.status).toBe('retiring');
    expect(byPerson((await audited(agent.id, 'run.started'))[0])).toBe(LIAM);
  }, 60_000);

  it('Decisions behind this on an alert sends the decision log; Record as failure mode keeps a decision as a note', async () => {
    const agent = await activeAgent('Claims Drafter');
    await roster.services.supervision.telemetry.ingest(
      Array.from({ length: 3 }, (_, i) => ({
        eventId: `${agent.id}-claim-${i}`,
        agentId: agent.id,
        time: new Date(Date.now() - i * 60_000),
        taskType: 'claim',
        outcome: 'failure' as const,
        correctness: 0,
        latencyMs: 900,
        costUSD: 0.004,
        decisionSummary: `Rejected claim ${i} for a missing receipt that was attached`,
      })),
    );
    await roster.services.supervision.alerts.raise({
      kind: 'error-spike',
      agentId: agent.id,
      severity: 'critical',
      summary: 'Claims Drafter: 3 of its last 3 tasks failed.',
      details: { agentName: agent.name },
    });
    const page = await p.delivered(LIAM, 'alert_decisions', 'Claims Drafter');
    const shown = await p.click(LIAM, page, 'alert_decisions', {
      until: (s) => s.followUps.some((c) => c.text.includes('Decisions of Claims Drafter')),
    });
    const log = shown.followUps.find((c) => c.text.includes('Decisions of Claims Drafter'))!;
    expect(log.text).toContain('Rejected claim 0 for a missing receipt');
    const eventId = `${agent.id}-claim-0`;
    await p.click(LIAM, log, 'decision_record', { where: { eventId } });
    const notes = await eventually(async () => {
      const found = (await roster.services.agents.get(agent.id))?.knowledgeNotes ?? [];
      return found.length > 0 && found;
    });
    expect(notes).toEqual([expect.objectContaining({ kind: 'failure-mode', by: LIAM, text: expect.stringContaining(eventId) })]);
    expect(byPerson((await audited(agent.id, 'knowledge.noted'))[0])).toBe(LIAM);
  }, 60_000);

  it('Confirm on a break-glass review: security confirms the use and the grant keeps running', async () => {
    const agent = await activeAgent('Glass Helper', {
      catalogRoleId: 'kb-answerer',
      sponsors: [LIAM],
      requestedBy: LIAM,
      businessUnit: 'engineering',
    });
    const { grant } = await commandsOf(roster.services).breakGlass(LIAM, {
      agentId: agent.id,
      scope: 'web:search',
      reason: 'Proxy outage.',
    });
    const review = await p.delivered(GRACE, 'grant_confirm', 'Glass Helper');
    expect(review.verbs).toEqual(['grant_confirm', 'grant_revoke']);
    const confirmed = await p.click(GRACE, review, 'grant_confirm', { until: (s) => Boolean(s.card) });
    expect(confirmed.card!.text).toContain('Confirmed');
    expect(confirmed.card!.verbs).not.toContain('grant_confirm');
    expect(await roster.services.grants.get(grant.id)).toMatchObject({ status: 'active', confirmedBy: GRACE });
    const [entry] = await audited(agent.id, 'grant.break-glass.confirmed');
    expect(byPerson(entry)).toBe(GRACE);
    expect(entry!.subject.id).toBe(grant.id);
  }, 60_000);

  it('Start retraining on "retraining due" records that the sponsor started it', async () => {
    const created = new Date(Date.now() - 100 * DAY).toISOString(); // past support-assistant's 90-day retraining cadence
    const agent = await activeAgent('Retrain Drafter', { createdAt: created, statusChangedAt: created });
    await roster.services.development.retrainingSweep(new Date());
    const due = await p.delivered(PRIYA, 'retrain_start', 'Retraining due: Retrain Drafter');
    const started = await p.click(PRIYA, due, 'retrain_start', { until: (s) => Boolean(s.card) });
    expect(started.card!.text).toContain('Retraining of Retrain Drafter started');
    expect(started.card!.verbs).toEqual([]);
    expect(byPerson((await audited(agent.id, 'retraining.started'))[0])).toBe(PRIYA);
    // A second click (a double click, a redelivery) shows the same answer and records nothing more.
    const again = await p.click(PRIYA, due, 'retrain_start', { until: (s) => Boolean(s.card) });
    expect(again.card!.text).toContain('Retraining of Retrain Drafter started');
    expect(await audited(agent.id, 'retraining.started')).toHaveLength(1);
  }, 60_000);

  it("a leaver's agents: the manager takes one over with Accept sponsorship and retires the other with Retire agent", async () => {
    const leaver = 'gone.sponsor@brightwater.example';
    const kept = await activeAgent('Handover Router', { sponsors: [leaver] });
    const retired = await activeAgent('Sunset Router', { sponsors: [leaver] });
    expect(await roster.services.leavers.left(leaver, PRIYA)).toBe(2);

    const keepOffer = await p.delivered(PRIYA, 'sponsor_accept', 'Handover Router needs a sponsor');
    const accepted = await p.click(PRIYA, keepOffer, 'sponsor_accept', { until: (s) => Boolean(s.card) });
    expect(accepted.card!.text).toContain('You sponsor Handover Router now');
    expect((await roster.services.agents.get(kept.id))?.sponsors).toEqual([PRIYA]);
    expect(byPerson((await audited(kept.id, 'sponsorship.accepted'))[0])).toBe(PRIYA);

    const retireOffer = await p.delivered(PRIYA, 'sponsor_retire', 'Sunset Router needs a sponsor');
    const retiring = await p.click(PRIYA, retireOffer, 'sponsor_retire', { until: (s) => Boolean(s.card) });
    expect(retiring.card!.text).toContain('Retirement of Sunset Router started');
    const [run] = await roster.services.runs.list({ agentId: retired.id, flowId: 'retirement' });
    expect(run).toMatchObject({ requester: PRIYA, status: 'waiting' });
    const [entry] = await audited(retired.id, 'sponsorship.accepted');
    expect(byPerson(entry)).toBe(PRIYA);
    expect(entry!.details).toMatchObject({ toRetire: true });
  }, 60_000);

  it('Refuse on a self-nominated sponsorship: an IT admin declines it and the agent stays without that sponsor', async () => {
    const agent = await activeAgent('Unclaimed Router', { sponsors: [] });
    await roster.services.sponsorships.nominateSelf(PRIYA, agent.id);
    const ask = await p.delivered(LIAM, 'sponsor_decline', 'Confirm Priya Raman as sponsor of Unclaimed Router?');
    expect(ask.verbs).toEqual(['sponsor_confirm', 'sponsor_decline']);
    const refused = await p.click(LIAM, ask, 'sponsor_decline', { until: (s) => Boolean(s.card) });
    expect(refused.card!.verbs).toEqual([]);
    const stored = (await roster.services.agents.get(agent.id))!;
    expect(stored.sponsors).toEqual([]);
    expect(stored.proposedSponsors ?? []).toEqual([]);
    const [entry] = await audited(agent.id, 'sponsorship.declined');
    expect(byPerson(entry)).toBe(LIAM);
    expect(entry!.details).toMatchObject({ sponsor: PRIYA });
  }, 60_000);

  it('Submit new results on a failed evaluation verdict opens the form again; passing results open the approvals', async () => {
    const requested = await roster.chat.submitRequest(roster.chat.person(PRIYA)!, {
      roleId: 'support-assistant',
      agentName: 'Retry Drafter',
      purpose: 'Drafts replies to refund tickets.',
      businessUnit: 'customer-support',
      sponsors: [PRIYA],
      justification: 'Refund tickets wait two days for a first answer.',
    });
    expect(requested.ok).toBe(true);
    const [agent] = (await roster.services.agents.list({})).filter((a) => a.name === 'Retry Drafter');
    // The evaluation form as each platform shows it (an IT admin types in results measured elsewhere).
    const results = (accuracy: string): Record<string, string> =>
      p.platform === 'Slack'
        ? { accuracy, p95_latency_ms: '2100', cost_per_task_usd: '0.01', role_fit_0: '*', notes: 'Vendor test set of 200 tickets.' }
        : { accuracy, p95LatencyMs: '2100', costPerTaskUsd: '0.01', roleFit: '*', notes: 'Vendor test set of 200 tickets.' };
    const opened = await p.say(LIAM, 'eval Retry Drafter', (s) => Boolean(s.prompt));
    const failed = await p.submit(LIAM, opened.prompt!, results('0.5'), (s) =>
      [s.card, ...s.followUps].some((c) => c?.verbs.includes('evaluation_open')),
    );
    const verdict = [failed.card, ...failed.followUps].find((c) => c?.verbs.includes('evaluation_open'))!;
    expect(verdict.text).toContain('Evaluation failed');
    expect((await roster.services.runs.list({ agentId: agent!.id }))[0]).toMatchObject({ status: 'waiting', waitingFor: [] });

    const again = await p.click(LIAM, verdict, 'evaluation_open', { until: (s) => Boolean(s.prompt) });
    expect(again.prompt!.text).toContain('Retry Drafter');
    const passed = await p.submit(LIAM, again.prompt!, results('0.95'), (s) => everything(s).includes('Evaluation passed'));
    expect(everything(passed)).toContain('Evaluation passed');
    const run = await eventually(async () => {
      const [r] = await roster.services.runs.list({ agentId: agent!.id });
      return r && r.waitingFor.length > 0 && r;
    });
    expect(run.status).toBe('waiting');
    const gate = await eventually(async () => {
      const entries = (await roster.services.audit.export({ agentId: agent!.id })).filter((e) => e.action.startsWith('gate.'));
      return entries.length >= 2 && entries;
    });
    expect(gate.map((e) => `${e.action}:${byPerson(e) ?? ''}:${String(e.details.source)}`)).toEqual([
      `gate.failed:${LIAM}:self-reported`,
      `gate.passed:${LIAM}:self-reported`,
    ]);
  }, 60_000);

  it('Start the fix on a compliance gap: compliance starts the DPO review of a personal-data scope', async () => {
    const agent = await activeAgent('Gap Drafter');
    await roster.services.grants.insertMany([grantRecord(agent.id, 'crm:read', { requestedBy: PRIYA, approvedBy: [LIAM] })]);
    const report = await p.say(MARCUS, 'compliance', (s) => s.followUps.some((c) => c.verbs.includes('gap_fix')));
    const card = report.followUps.find((c) => c.verbs.includes('gap_fix'))!;
    const where = { agentId: agent.id, gap: 'pii-scope-without-dpo-approval' };
    const fix = await p.click(MARCUS, card, 'gap_fix', {
      where,
      until: (s) => everything(s).includes('DPO review of Gap Drafter started'),
    });
    expect(everything(fix)).toContain('Elena Rossi got an approval card');
    const [run] = await roster.services.runs.list({ agentId: agent.id, flowId: 'dpo-review' });
    expect(run).toMatchObject({ status: 'waiting', requester: MARCUS, waitingFor: [ELENA] });
    expect(byPerson((await audited(agent.id, 'run.started'))[0])).toBe(MARCUS);
    await p.delivered(ELENA, 'approval_approve', 'Gap Drafter');
    // Asked again while the review runs: nothing new starts.
    const again = await p.click(MARCUS, card, 'gap_fix', { where, until: (s) => everything(s).includes('already under way') });
    expect(everything(again)).toContain(`Request ${run!.id} is waiting for the DPO.`);
    expect(await roster.services.runs.list({ agentId: agent.id, flowId: 'dpo-review' })).toHaveLength(1);
  }, 60_000);

  it('a hand-off: Take it, then Resolve with an outcome', async () => {
    const agent = await activeAgent('Screening Desk', {
      catalogRoleId: 'resume-screener',
      businessUnit: 'people-ops',
      sponsors: [SOFIA],
      requestedBy: SOFIA,
    });
    const { view } = await roster.services.handoffs.create(agent, {
      kind: 'candidate-review',
      summary: 'Strong candidate for the platform role.',
      details: { candidateRef: 'CAND-7002' },
      idempotency_key: `handoff-${agent.id}`,
    });
    const card = await p.delivered(JONAS, 'handoff_take', 'Strong candidate for the platform role.');
    const taken = await p.click(JONAS, card, 'handoff_take', { until: (s) => Boolean(s.card) });
    expect(taken.card!.verbs).not.toContain('handoff_take');
    expect(taken.card!.verbs).toContain('handoff_resolve');
    expect((await roster.services.handoffs.get(agent.id, asHandoffId(view.id))).status).toBe('taken');
    const outcome = String(buttonData(taken.card!, 'handoff_resolve').outcome);
    const resolved = await p.click(JONAS, taken.card!, 'handoff_resolve', { where: { outcome }, until: (s) => Boolean(s.card) });
    expect(resolved.card!.text).toContain(`Resolved by Jonas Weber: ${outcome}.`);
    expect(resolved.card!.verbs).toEqual([]);
    expect(await roster.services.handoffs.get(agent.id, asHandoffId(view.id))).toMatchObject({
      status: 'resolved',
      outcome,
      resolvedBy: JONAS,
    });
    const handled = [`handoff.taken:${JONAS}`, `handoff.resolved:${JONAS}`];
    const trail = await trailWith(roster, agent.id, handled);
    expect(trail).toEqual(expect.arrayContaining(handled));
  }, 60_000);

  it('a boundary change the sponsor asks for in chat: an IT admin approves it and the override applies', async () => {
    const agent = await activeAgent('Boundary Procurer', {
      catalogRoleId: 'procurement-agent',
      businessUnit: 'finance',
      sponsors: [MAYA],
      requestedBy: MAYA,
    });
    const asked = await p.say(
      MAYA,
      'boundary "Boundary Procurer" contracts.modify autonomous Renewals at the same rate are routine now.',
      (s) => everything(s).includes('Boundary change sent to IT'),
    );
    expect(everything(asked)).toContain('Boundary change sent to IT');
    expect(await roster.services.boundaryChanges.override(agent.id, 'contracts.modify')).toBeUndefined();
    const card = await p.delivered(LIAM, 'boundary_approve', 'Boundary change for Boundary Procurer');
    const approved = await p.click(LIAM, card, 'boundary_approve', {
      until: (s) => everything(s).includes('Boundary change for Boundary Procurer approved'),
    });
    expect(everything(approved)).toContain('Boundary change for Boundary Procurer approved');
    expect(await roster.services.boundaryChanges.override(agent.id, 'contracts.modify')).toMatchObject({ mode: 'autonomous' });
    const changed = [`boundary.change-requested:${MAYA}`, `boundary.change-approved:${LIAM}`];
    const trail = await trailWith(roster, agent.id, changed);
    expect(trail).toEqual(expect.arrayContaining(changed));
  }, 60_000);

  it("Ask to reactivate on a suspended agent's profile asks why, then starts the reactivation approvals", async () => {
    const agent = await activeAgent('Paused Helper', {
      catalogRoleId: 'kb-answerer',
      sponsors: [NOAH],
      requestedBy: NOAH,
      businessUnit: 'engineering',
      status: 'suspended',
      suspendedFrom: 'active',
    });
    const shown = await p.say(NOAH, `show ${agent.id}`, (s) => s.followUps.some((c) => c.verbs.includes('agent_reactivate')));
    const profile = shown.followUps.find((c) => c.verbs.includes('agent_reactivate'))!;
    const asked = await p.click(NOAH, profile, 'agent_reactivate', { until: (s) => Boolean(s.prompt) });
    const done = await p.submit(NOAH, asked.prompt!, { text: 'The retrieval index was rebuilt.' }, (s) =>
      everything(s).includes('Reactivation of Paused Helper requested'),
    );
    expect(everything(done)).toContain('Reactivation of Paused Helper requested');
    const [run] = await roster.services.runs.list({ agentId: agent.id, flowId: 'reactivation' });
    expect(run).toMatchObject({ status: 'waiting', requester: NOAH });
    // Still suspended until the approvals are in.
    expect((await roster.services.agents.get(agent.id))?.status).toBe('suspended');
    expect(byPerson((await audited(agent.id, 'run.started'))[0])).toBe(NOAH);
  }, 60_000);

  it('Let expire on a grant reminder is noted on the card and in the audit; the grant runs to its end', async () => {
    const agent = await activeAgent('Expiry Drafter');
    const grant = grantRecord(agent.id, 'tickets:reply', { requestedBy: PRIYA, approvedBy: [LIAM] });
    await roster.services.grants.insertMany([grant]);
    await roster.services.access.remindGrant(grant.id, DAY);
    const reminder = await p.delivered(PRIYA, 'grant_let_expire', 'Expiry Drafter');
    expect(reminder.verbs).toEqual(['grant_extend', 'grant_let_expire']);
    const seen = await p.click(PRIYA, reminder, 'grant_let_expire', { until: (s) => Boolean(s.card) });
    expect(seen.card!.text).toContain('Left to expire');
    expect(seen.card!.verbs).toEqual([]);
    expect((await roster.services.grants.get(grant.id))?.status).toBe('active');
    const [entry] = await audited(agent.id, 'grant.let-expire');
    expect(byPerson(entry)).toBe(PRIYA);
    expect(entry!.subject.id).toBe(grant.id);
  }, 60_000);

  it('Extend on a grant reminder requests the same access again; an approver denies it with a reason (Deny)', async () => {
    const agent = await activeAgent('Extension Drafter', { sponsors: [PRIYA, LIAM] });
    const grant = grantRecord(agent.id, 'crm:read', { requestedBy: PRIYA, approvedBy: [LIAM], reason: 'Order look-ups.' });
    await roster.services.grants.insertMany([grant]);
    await roster.services.access.remindGrant(grant.id, DAY);
    const reminder = await p.delivered(PRIYA, 'grant_extend', 'Extension Drafter');
    const seen = await p.click(PRIYA, reminder, 'grant_extend', {
      until: (s) => Boolean(s.card) && everything(s).includes('Access requested'),
    });
    // Both platforms change the reminder in place to "Extension requested" and send the request's card beside it.
    expect(everything(seen)).toContain('Access requested: crm:read for Extension Drafter');
    expect(seen.card!.verbs).toEqual([]);
    const extension = (await roster.services.grants.listForAgent(agent.id)).find((g) => g.id !== grant.id)!;
    expect(extension).toMatchObject({ scope: 'crm:read', status: 'pending', requestedBy: PRIYA });
    const [run] = (await roster.services.runs.list({ agentId: agent.id })).filter((r) => r.flowId === 'access-request');
    expect(run).toMatchObject({ status: 'waiting', requester: PRIYA });

    // Deny: the approver is asked why; an empty reason is refused and changes nothing.
    const approver = run!.waitingFor[0]!;
    const card = await p.delivered(approver, 'approval_deny', 'Extension Drafter');
    const asked = await p.click(approver, card, 'approval_deny', { until: (s) => Boolean(s.prompt) });
    expect(asked.prompt!.text).toContain('Deny');
    const empty = await p.submit(approver, asked.prompt!, { reason: '   ' });
    // Slack marks the field in the modal; Teams shows the form again with the error on it.
    expect(empty.errors?.reason ?? empty.prompt?.text).toMatch(/say why you deny|give a reason/i);
    // One wording on both platforms, decided in the core.
    expect(empty.errors?.reason ?? empty.prompt?.text).toContain(DENY_REASON_NEEDED);
    expect((await roster.services.runs.get(run!.id))?.status).toBe('waiting');
    const denied = await p.submit(approver, asked.prompt!, { reason: 'Not while the CRM migration runs.' }, (s) =>
      everything(s).includes('Denied'),
    );
    expect(everything(denied)).toContain('Not while the CRM migration runs.');
    await eventually(async () => (await roster.services.runs.get(run!.id))?.status !== 'waiting');
    // Teams answers once the decision and its audit entry are stored; the run is driven on (the
    // grant closed) after the answer, so the grant is read once it has left 'pending'.
    await eventually(async () => (await roster.services.grants.get(extension.id))?.status !== 'pending');
    expect((await roster.services.grants.get(extension.id))?.status).toBe('denied');
    expect((await roster.services.grants.get(grant.id))?.status).toBe('active');
    // The requester reads the reason.
    await p.sawText(PRIYA, 'Not while the CRM migration runs.');
    const [decision] = await audited(agent.id, 'decision.deny');
    expect(byPerson(decision)).toBe(approver);
    expect(JSON.stringify(decision!.details)).toContain('Not while the CRM migration runs.');
  }, 60_000);

  it('access review: Keep one grant, Revoke another from the updated card', async () => {
    const agent = await activeAgent('Review Drafter');
    const month = new Date(Date.now() + 30 * DAY).toISOString();
    const kept: GrantRecord = grantRecord(agent.id, 'crm:read', { id: asGrantId(`${agent.id}:crm`), expiresAt: month });
    const revoked: GrantRecord = grantRecord(agent.id, 'tickets:reply', { id: asGrantId(`${agent.id}:tickets`), expiresAt: month });
    await roster.services.grants.insertMany([kept, revoked]);
    await roster.services.reviews.start();
    const card = await p.delivered(PRIYA, 'review_keep', 'Review Drafter');

    const afterKeep = await p.click(PRIYA, card, 'review_keep', { where: { grantId: kept.id }, until: (s) => Boolean(s.card) });
    // The kept grant has no buttons left; the other one still has both.
    expect(() => buttonData(afterKeep.card!, 'review_keep', { grantId: kept.id })).toThrow();
    buttonData(afterKeep.card!, 'review_revoke', { grantId: revoked.id });
    const afterRevoke = await p.click(PRIYA, afterKeep.card!, 'review_revoke', {
      where: { grantId: revoked.id },
      until: (s) => Boolean(s.card),
    });
    expect(() => buttonData(afterRevoke.card!, 'review_revoke', { grantId: revoked.id })).toThrow();
    expect((await roster.services.grants.get(kept.id))?.status).toBe('active');
    await eventually(async () => (await roster.services.grants.get(revoked.id))?.status === 'revoked');
    const reviewed = [`grant.review.kept:${kept.id}:${PRIYA}`, `grant.review.revoked:${revoked.id}:${PRIYA}`];
    // The revocation's own entry is its outbox effect, written after the grant is stored revoked.
    const trail = await eventually(async () => {
      const t = (await roster.services.audit.export({ agentId: agent.id })).map((e) => `${e.action}:${e.subject.id}:${byPerson(e) ?? ''}`);
      return reviewed.every((r) => t.includes(r)) && t.some((l) => l.startsWith(`grant.revoked:${revoked.id}:`)) && t;
    });
    expect(trail).toEqual(expect.arrayContaining(reviewed));
    expect(trail.some((t) => t.startsWith(`grant.revoked:${revoked.id}:`))).toBe(true);
  }, 60_000);
});
