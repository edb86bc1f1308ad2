import type { ChatService } from '../../src/channels/chat.js';
import type { DataOf } from '../../src/cards/view-models.js';
import type { Person } from '../../src/config/schemas.js';
import { agentRecord, errorOf, eventually, ownerlessAgent, people, startHarness, type Harness } from '../helpers/harness.js';
import { generateEvents } from '../helpers/synthetic-telemetry.js';
import { asAgentId, asAlertId } from '../helpers/ids.js';

/*
 * The agent buttons of alert and check-in cards (issues 7, 8 and 10), through the chat layer
 * both platforms share, against the embedded database with the scheduler running: Register and
 * Assign sponsor on shadow and ownerless alerts, Add note, Decisions behind this (and Record as
 * failure mode) and Retire agent.
 */

const DAY = 86_400_000;

describe('agent buttons on alerts and check-ins', () => {
  let h: Harness;
  let chat: ChatService;
  const who = (email: string): Person => h.org.people.find((p) => p.email === email)!;

  beforeEach(async () => {
    h = await startHarness();
    chat = h.chat;
  });
  afterEach(async () => {
    await h.close();
  });

  const shadowAlert = (agentId: string) =>
    h.services.supervision.alerts.raise({
      kind: 'shadow',
      agentId: asAgentId(agentId),
      severity: 'critical',
      summary: `Telemetry arrived for ${agentId}, which is not registered in Roster.`,
      details: { agentName: 'Unregistered agent' },
    });
  const alertCard = (alertId: string, viewer: string) =>
    h.services.supervision.alertRepo
      .get(asAlertId(alertId))
      .then((a) => h.services.supervision.cards.alert(a!, viewer).data as DataOf<'alert'>);

  it('Register: a responder picks a role, fills the request form, and the agent is requested under its own id', async () => {
    const alert = await shadowAlert('agt_5ade5ade5ade0007');
    expect((await alertCard(alert.id, people.liam)).agentActions).toEqual(['alert_register', 'alert_assign_sponsor']);
    expect((await alertCard(alert.id, people.daniel)).agentActions).toEqual([]);
    expect(await errorOf(chat.actions.click(who(people.daniel), 'alert_register', { alertId: alert.id }))).toMatchObject({
      code: 'forbidden',
    });

    const { prompt } = await chat.actions.click(who(people.liam), 'alert_register', { alertId: alert.id });
    expect(prompt?.kind).toBe('prompt');
    const data = prompt!.data as DataOf<'prompt'>;
    expect(data.inputs[0]!.options!.map((o) => o.value)).toContain('support-assistant');
    const missing = await chat.actions.submit(who(people.liam), 'alert_register', { alertId: alert.id }, {});
    expect(missing.errors).toEqual({ role: 'Pick a catalog role.' });

    const next = await chat.actions.submit(who(people.liam), 'alert_register', { alertId: alert.id }, { role: 'support-assistant' });
    expect(next.form).toMatchObject({
      kind: 'request-form',
      data: { roleId: 'support-assistant', registerAgentId: 'agt_5ade5ade5ade0007' },
    });
    const values = {
      roleId: 'support-assistant',
      registerAgentId: asAgentId('agt_5ade5ade5ade0007'),
      agentName: 'Gateway Support Bot',
      purpose: 'Answers tier-1 tickets through the gateway.',
      businessUnit: 'customer-support',
      sponsors: [people.tom],
    };
    // Someone who may not register it cannot submit the form's hidden id either.
    expect(await errorOf(chat.submitRequest(who(people.daniel), values))).toMatchObject({ code: 'forbidden' });
    const result = await chat.submitRequest(who(people.liam), values);
    expect(result).toMatchObject({ ok: true, agentId: 'agt_5ade5ade5ade0007' });
    // Liam named Tom: Tom counts as its sponsor once he accepts (issue 15, item 3).
    await chat.actions.click(who(people.tom), 'sponsor_confirm', { agentId: 'agt_5ade5ade5ade0007' });
    expect(await h.services.agents.get(asAgentId('agt_5ade5ade5ade0007'))).toMatchObject({ status: 'requested', sponsors: [people.tom] });
    const after = (await h.services.supervision.alertRepo.get(alert.id))!;
    expect(after).toMatchObject({ status: 'acknowledged', details: { registrationBy: people.liam } });
    expect(after.details.registrationRunId).toMatch(/^run_/);
    expect((await alertCard(alert.id, people.liam)).agentActions).toEqual(['alert_assign_sponsor']);
    expect((await alertCard(alert.id, people.liam)).stateLabel).toContain('Registration requested by Liam');
    const trail = (await h.services.audit.export()).map((e) => e.action);
    expect(trail).toEqual(expect.arrayContaining(['alert.registration-requested', 'agent.registered']));
    // Registered now: a second registration under that id is refused.
    expect(await chat.submitRequest(who(people.liam), { ...values, agentName: 'Another Name' })).toMatchObject({ ok: false });
    expect(await errorOf(chat.actions.click(who(people.liam), 'alert_register', { alertId: alert.id }))).toMatchObject({
      code: 'invalid_input',
      userMessage: expect.stringContaining('already being registered'),
    });
    expect(await h.services.runs.list({ agentId: asAgentId('agt_5ade5ade5ade0007') })).toHaveLength(1);
  });

  it('Assign sponsor: the shadow agent gets a sponsor who may register it; an ownerless agent gets its sponsor back', async () => {
    const shadow = await shadowAlert('agt_5ade5ade5ade0003');
    expect(await errorOf(chat.actions.click(who(people.tom), 'alert_assign_sponsor', { alertId: shadow.id }))).toMatchObject({
      code: 'forbidden',
    });
    const { prompt } = await chat.actions.click(who(people.liam), 'alert_assign_sponsor', { alertId: shadow.id });
    expect((prompt!.data as DataOf<'prompt'>).inputs[0]).toMatchObject({ name: 'sponsor', kind: 'user' });
    const unknown = await chat.actions.submit(
      who(people.liam),
      'alert_assign_sponsor',
      { alertId: shadow.id },
      { sponsor: 'nobody@else.example' },
    );
    expect(unknown.errors?.sponsor).toMatch(/not in the directory/);
    const done = await chat.actions.submit(who(people.liam), 'alert_assign_sponsor', { alertId: shadow.id }, { sponsor: people.tom });
    expect(done.card).toMatchObject({ kind: 'alert', data: { stateLabel: 'Sponsor: Tom Becker.' } });
    expect((await h.services.supervision.alertRepo.get(shadow.id))?.details.sponsor).toBe(people.tom);
    // Tom was told, with a card on which he may register it (and nothing else).
    const [told] = h.notifier.to(people.tom, 'alert');
    expect(told!.card.data).toMatchObject({ alertId: shadow.id, canRespond: false, agentActions: ['alert_register'] });
    expect((await chat.actions.click(who(people.tom), 'alert_register', { alertId: shadow.id })).prompt?.kind).toBe('prompt');

    const { agent: orphan, alert: ownerless } = await ownerlessAgent(h, { name: 'Orphaned Drafter' });
    expect((await alertCard(ownerless.id, people.aisha)).agentActions).toEqual(
      expect.arrayContaining(['alert_assign_sponsor', 'alert_note', 'alert_decisions', 'alert_retire']),
    );
    await chat.actions.submit(who(people.aisha), 'alert_assign_sponsor', { alertId: ownerless.id }, { sponsor: people.tom });
    expect((await h.services.agents.get(orphan.id))?.sponsors).toEqual([people.tom]);
    expect((await h.services.supervision.alertRepo.get(ownerless.id))?.status).toBe('resolved');
    expect(h.notifier.to(people.tom, 'notice').map((m) => m.card.data.title)).toContain('You sponsor Orphaned Drafter now');
    expect((await h.services.audit.export({ agentId: orphan.id })).map((e) => e.action)).toEqual(
      expect.arrayContaining(['alert.sponsor-assigned', 'sponsorship.assigned', 'alert.resolved']),
    );
  });

  it('a drift alert: Add note, Decisions behind this, Record as failure mode and Retire agent', async () => {
    const agent = agentRecord({ name: 'Slipping Drafter', sponsors: [people.tom] });
    await h.services.agents.insert(agent);
    const end = new Date(Math.floor(Date.now() / DAY) * DAY);
    await h.services.supervision.telemetry.ingest(
      generateEvents({ agentId: agent.id, profile: 'accuracy-drop', days: 3, end, perDay: 10, seed: 3, driftDays: 2 }),
    );
    const alert = await h.services.supervision.alerts.raise({
      kind: 'drift',
      agentId: agent.id,
      severity: 'critical',
      summary: 'Slipping Drafter: accuracy fell from 0.92 to 0.80.',
      details: { agentName: agent.name },
    });
    expect((await alertCard(alert.id, people.liam)).agentActions).toEqual(['alert_note', 'alert_decisions', 'alert_retire']);
    expect((await alertCard(alert.id, people.grace)).agentActions).toEqual(['alert_note', 'alert_decisions']);

    // Add note: a prompt; an empty note is refused with the reason on the field.
    const opened = await chat.actions.click(who(people.liam), 'alert_note', { alertId: alert.id });
    expect(opened.prompt).toMatchObject({ kind: 'prompt', data: { promptVerb: 'alert_note', payload: { alertId: alert.id } } });
    const empty = await chat.actions.submit(who(people.liam), 'alert_note', { alertId: alert.id }, { text: ' ' });
    expect(empty.errors?.text).toBeDefined();
    expect(empty.prompt?.kind).toBe('prompt');
    const noted = await chat.actions.submit(
      who(people.liam),
      'alert_note',
      { alertId: alert.id },
      { text: 'Refunds over $500 go to the wrong queue.' },
    );
    expect(noted.card?.kind).toBe('alert');
    expect((await h.services.agents.get(agent.id))?.knowledgeNotes).toEqual([
      expect.objectContaining({ kind: 'failure-mode', text: 'Refunds over $500 go to the wrong queue.', by: people.liam }),
    ]);

    // Decisions behind this: the decision log, each decision with Record as failure mode.
    expect(await errorOf(chat.actions.click(who(people.daniel), 'alert_decisions', { alertId: alert.id }))).toMatchObject({
      code: 'forbidden',
    });
    const { followUp } = await chat.actions.click(who(people.liam), 'alert_decisions', { alertId: alert.id });
    const log = followUp!.data as DataOf<'notice'>;
    expect(log.title).toMatch(/^Decisions of Slipping Drafter: the 15 most recent/);
    expect(log.sections).toHaveLength(15);
    const record = log.sections![0]!.actions[0]!;
    expect(record).toMatchObject({ action: 'decision_record', value: { agentId: agent.id } });
    const recorded = await chat.actions.click(who(people.liam), 'decision_record', record.value);
    expect(recorded.followUp?.data).toMatchObject({ title: 'Failure mode recorded on Slipping Drafter' });
    const notes = (await h.services.agents.get(agent.id))!.knowledgeNotes;
    expect(notes).toHaveLength(2);
    expect(notes[1]!.text).toContain(`Decision ${record.value.eventId}`);
    // A compliance officer reads decisions but records no notes: no buttons for them.
    const marcusLog = (await chat.actions.click(who(people.marcus), 'alert_decisions', { alertId: alert.id })).followUp!
      .data as DataOf<'notice'>;
    expect(marcusLog.sections!.every((s) => s.actions.length === 0)).toBe(true);

    // Retire agent: the retirement flow starts; nothing is revoked until the sign-offs.
    expect(await errorOf(chat.actions.click(who(people.grace), 'alert_retire', { alertId: alert.id }))).toMatchObject({
      code: 'forbidden',
    });
    const retire = await chat.actions.click(who(people.liam), 'alert_retire', { alertId: alert.id });
    expect(retire.followUp?.kind).toBe('request-status');
    const [run] = await h.services.runs.list({ agentId: agent.id, flowId: 'retirement' });
    expect(run?.context.reason).toMatch(/^Retire chosen from the drift alert/);
    await eventually(async () => (await h.services.agents.get(agent.id))?.status === 'retiring');
  });

  it('a check-in: Add note and Decisions behind this for the sponsor', async () => {
    const then = new Date(Date.now() - 40 * DAY).toISOString();
    const agent = agentRecord({ name: 'Reviewed Drafter', sponsors: [people.tom], createdAt: then, statusChangedAt: then });
    await h.services.agents.insert(agent);
    const end = new Date(Math.floor(Date.now() / DAY) * DAY);
    await h.services.supervision.telemetry.ingest(
      generateEvents({ agentId: agent.id, profile: 'accuracy-drop', days: 30, end, seed: 7, driftDays: 14 }),
    );
    const record = await h.services.supervision.checkins.run(agent.id, new Date());
    expect(record.findings.length).toBeGreaterThan(0);
    const card = h.services.supervision.cards.checkIn(record, (await h.services.agents.get(agent.id))!, people.tom)
      .data as DataOf<'checkin'>;
    expect(card).toMatchObject({ canNote: true, canReadDecisions: true });
    const outsider = h.services.supervision.cards.checkIn(record, agent, people.daniel).data as DataOf<'checkin'>;
    expect(outsider).toMatchObject({ canNote: false, canReadDecisions: false });

    await chat.actions.submit(
      who(people.tom),
      'checkin_note',
      { checkInId: record.id },
      { text: 'Accuracy dropped after the pricing FAQ changed.' },
    );
    expect((await h.services.agents.get(agent.id))?.knowledgeNotes.map((n) => n.text)).toEqual([
      'Accuracy dropped after the pricing FAQ changed.',
    ]);
    const decisions = await chat.actions.click(who(people.tom), 'checkin_decisions', { checkInId: record.id });
    expect(decisions.card?.kind).toBe('checkin');
    expect((decisions.followUp!.data as DataOf<'notice'>).sections!.length).toBeGreaterThan(0);
    expect(await errorOf(chat.actions.click(who(people.daniel), 'checkin_note', { checkInId: record.id }))).toMatchObject({
      code: 'forbidden',
    });
  });
});
