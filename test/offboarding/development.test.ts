import { newAgentId, type AgentRecord } from '../../src/core/agents.js';
import { renderCard } from '../../src/cards/render.js';
import { agentRecord, eventually, people, startHarness, type Harness } from '../helpers/harness.js';
import { createDevelopmentRepository } from '../../src/store/development-store.js';
import { commandsOf } from '../helpers/commands.js';

const PRIYA = 'priya.raman@brightwater.example';
const DAY = 86_400_000;

describe('versions and retraining (embedded database, scheduler running)', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  async function agent(createdDaysAgo = 10): Promise<AgentRecord> {
    const id = newAgentId();
    const at = new Date(Date.now() - createdDaysAgo * DAY).toISOString();
    const record = agentRecord({
      id,
      name: `Drafter ${id.slice(-4)}`,
      sponsors: [PRIYA, people.tom],
      purpose: 'Drafts replies.',
      baseline: { accuracy: 0.96, p95LatencyMs: 3000, costPerTaskUSD: 0.02 },
      createdAt: at,
      updatedAt: at,
      statusChangedAt: at,
    });
    await h.services.agents.insert(record);
    return record;
  }
  const good = { accuracy: 0.94, p95LatencyMs: 2800, costPerTaskUSD: 0.019, roleFitChecked: [] as string[] };
  const withFit = (e: typeof good) => ({
    ...e,
    roleFitChecked: h.org.catalog.find((r) => r.id === 'support-assistant')!.evaluation.roleFit,
  });

  it('a regressing version is refused with the numbers; a passing one goes live only after both approvals', async () => {
    const a = await agent();
    const dev = h.services.development;
    await expect(
      dev.proposeVersion(h.services.engine, PRIYA, a.id, {
        version: '1.1.0',
        changelog: 'Shorter answers.',
        evaluation: withFit({ ...good, accuracy: 0.92 }),
      }),
    ).rejects.toMatchObject({
      code: 'invalid_input',
      userMessage: expect.stringContaining('accuracy 0.920 is 0.040 below the live 0.960 (allowed drop 0.03)'),
    });
    const refused = await dev
      .proposeVersion(h.services.engine, PRIYA, a.id, {
        version: '1.1.1',
        changelog: 'Cheaper model.',
        evaluation: withFit({ ...good, costPerTaskUSD: 0.03 }),
      })
      .catch((e: { userMessage: string }) => e.userMessage);
    expect(refused).toContain('cost per task $0.0300 is over the live $0.0200 + 20%');

    const { run } = await dev.proposeVersion(h.services.engine, PRIYA, a.id, {
      version: '1.2.0',
      changelog: 'Retrained on Q3 tickets.',
      evaluation: withFit(good),
    });
    expect(run.status).toBe('waiting');
    // Priya proposed it: Tom (the other sponsor) and an IT admin approve.
    await expect(commandsOf(h.services).decide(PRIYA, { runId: run.id, stepId: 'approvals', decision: 'approve' })).rejects.toMatchObject({
      code: 'separation_of_duties',
    });
    await commandsOf(h.services).decide(people.tom, { runId: run.id, stepId: 'approvals', decision: 'approve' });
    expect((await h.services.agents.get(a.id))?.version).toBe('1.0.0');
    await commandsOf(h.services).decide(people.liam, { runId: run.id, stepId: 'approvals', decision: 'approve' });
    const live = (await h.services.agents.get(a.id))!;
    expect(live.version).toBe('1.2.0');
    expect(live.baseline?.accuracy).toBe(0.94);
    const trail = (await h.services.audit.export({ agentId: a.id })).map((e) => e.action);
    expect(trail).toEqual(expect.arrayContaining(['version.refused', 'version.proposed', 'decision.approve', 'version.promoted']));
    // The profile shows the history with changelogs and evaluation results.
    const profile = await h.chat.profile(
      h.org.people.find((p) => p.email === PRIYA)!,
      a.id,
    );
    expect(
      (profile.data as { versions: Array<{ version: string; status: string; changelog: string }> }).versions.map(
        (v) => `${v.version} ${v.status}`,
      ),
    ).toEqual(['1.2.0 promoted', '1.1.1 refused', '1.1.0 refused']);
  });

  it('a measured version performed again (the outbox after a crash) starts its promotion once, and only when it had not started', async () => {
    const a = await agent();
    const dev = h.services.development;
    const role = h.org.catalog.find((r) => r.id === a.catalogRoleId)!;
    const submission = { ...good, roleFitChecked: role.evaluation.roleFit };
    const verdict = { passed: true, results: [], summary: 'Measured by Roster on 10 cases: passed.' };
    const run = {
      id: 'evr_redo',
      agentId: a.id,
      version: '1.2.0',
      changelog: 'Better retrieval.',
      requester: PRIYA,
      suiteHash: 'h'.repeat(64),
    };
    // The process died after storing the proposed version and before starting its promotion.
    await createDevelopmentRepository(h.db.connection).saveVersion({
      agentId: a.id,
      version: '1.2.0',
      changelog: 'Better retrieval.',
      proposedBy: PRIYA,
      proposedAt: new Date().toISOString(),
      evaluation: { submission, verdict, source: 'measured', evalRunId: run.id, suiteHash: run.suiteHash },
      status: 'proposed',
    });
    const first = await dev.recordMeasuredVersion(h.services.engine, run, submission, verdict, []);
    expect(first.runId).toBeDefined();
    const again = await dev.recordMeasuredVersion(h.services.engine, run, submission, verdict, []);
    expect(again.runId).toBe(first.runId);
    const promotions = await h.services.runs.list({ flowId: 'retraining-promotion', agentId: a.id });
    expect(promotions.map((r) => r.id)).toEqual([first.runId]);
  });
});

describe('retraining: due → Postpone (with a reason) → overdue, the sweep run by the scheduler', () => {
  let h: Harness;
  let now = Date.now();
  beforeEach(async () => {
    now = Date.now();
    // The sweep job runs every second; the services' clock is moved forward by the test.
    h = await startHarness({ clock: () => new Date(now), retrainingSweepEvery: '1 second' });
  });
  afterEach(async () => {
    await h.close();
  });

  it('the sponsor gets Start / Postpone, postpones with a reason, and IT admins hear when it runs out; Start stops it', async () => {
    const role = h.org.catalog.find((r) => r.id === 'support-assistant')!;
    const chat = h.chat;
    const priya = chat.person(PRIYA)!;
    const created = new Date(now - role.retrainingCadence.ms - DAY).toISOString();
    const make = async (name: string) => {
      const a = agentRecord({ name, sponsors: [PRIYA, people.tom], createdAt: created, statusChangedAt: created });
      await h.services.agents.insert(a);
      return a;
    };
    const [postponed, started] = [await make('Postponed Drafter'), await make('Started Drafter')];

    const dueNotice = (name: string) =>
      eventually(() => h.notifier.to(PRIYA, 'notice').find((m) => m.card.data.title === `Retraining due: ${name}`), 10_000);
    const due = await dueNotice('Postponed Drafter');
    expect(due.card.data.actions).toEqual([
      { action: 'retrain_start', label: 'Start retraining', style: 'primary', value: { agentId: postponed.id } },
      { action: 'retrain_postpone', label: 'Postpone…', value: { agentId: postponed.id } },
    ]);
    await dueNotice('Started Drafter');

    // Postpone: a prompt for days and a reason; no reason, no postponement.
    const { prompt } = await chat.actions.click(priya, 'retrain_postpone', { agentId: postponed.id });
    expect((prompt!.data as { inputs: Array<{ name: string }> }).inputs.map((i) => i.name)).toEqual(['days', 'text']);
    const refused = await chat.actions.submit(priya, 'retrain_postpone', { agentId: postponed.id }, { days: '7' });
    expect(refused.errors).toEqual({ text: 'Say why the retraining is postponed.' });
    const tooLong = await chat.actions.submit(priya, 'retrain_postpone', { agentId: postponed.id }, { days: '200', text: 'Busy.' });
    expect(tooLong.errors).toEqual({ days: 'Postpone by 1 to 90 days.' });
    // A choice that is none of the options (client data) is not shown back; the prompt still renders.
    const forged = await chat.actions.submit(
      priya,
      'retrain_postpone',
      { agentId: postponed.id },
      { days: '<b>{"$gt":""}', text: 'Busy.' },
    );
    expect(forged.errors).toEqual({ days: 'Postpone by 1 to 90 days.' });
    for (const platform of ['slack', 'teams'] as const) expect(() => renderCard(platform, forged.prompt!)).not.toThrow();
    expect((forged.prompt!.data as { inputs: Array<{ name: string; selectedId?: string; value?: string }> }).inputs).toEqual([
      expect.objectContaining({ name: 'days', selectedId: '14', error: 'Postpone by 1 to 90 days.' }), // the default, not the forgery
      expect.objectContaining({ name: 'text', value: 'Busy.' }),
    ]);
    const ok = await chat.actions.submit(
      priya,
      'retrain_postpone',
      { agentId: postponed.id },
      { days: '7', text: 'Waiting for the Q4 ticket export.' },
    );
    expect(ok.card).toMatchObject({ kind: 'notice', data: { title: 'Retraining of Postponed Drafter postponed' } });
    // Start on the other one: under way, so it never becomes overdue.
    const start = await chat.actions.click(priya, 'retrain_start', { agentId: started.id });
    expect(start.card).toMatchObject({ kind: 'notice', data: { title: 'Retraining of Started Drafter started' } });
    await expect(chat.actions.click(chat.person(people.daniel)!, 'retrain_start', { agentId: postponed.id })).rejects.toMatchObject({
      code: 'forbidden',
    });

    // Eight days later the postponement has run out: the next scheduled sweep tells the IT admins, once.
    now += 8 * DAY;
    const overdue = await eventually(
      () => h.notifier.to(people.liam, 'notice').find((m) => String(m.card.data.title).startsWith('Retraining overdue')),
      10_000,
    );
    expect(overdue.card.data.title).toBe('Retraining overdue: Postponed Drafter');
    expect(String(overdue.card.data.text)).toContain('Waiting for the Q4 ticket export.');
    // Two more sweeps finish (the job's lastFinishedAt moves twice) without telling anyone again.
    const lastSweep = async () =>
      (
        (await h.db.connection.collection('agendaJobs').findOne({ name: 'retraining.sweep' }))?.lastFinishedAt as Date | undefined
      )?.getTime() ?? 0;
    for (let sweeps = 0; sweeps < 2; sweeps++) {
      const before = await lastSweep();
      await eventually(async () => (await lastSweep()) > before, 10_000);
    }
    const titles = h.notifier.to(people.liam, 'notice').map((m) => String(m.card.data.title));
    expect(titles.filter((t) => t.startsWith('Retraining overdue'))).toEqual(['Retraining overdue: Postponed Drafter']);
    expect((await h.services.audit.export({ agentId: postponed.id })).map((e) => e.action)).toEqual(
      expect.arrayContaining(['retraining.due', 'retraining.postponed', 'retraining.overdue']),
    );
    expect((await h.services.audit.export({ agentId: started.id })).map((e) => e.action)).toEqual(
      expect.arrayContaining(['retraining.due', 'retraining.started']),
    );
  }, 30_000);
});

describe('chat words for development and offboarding', () => {
  it('parses update, retrain, retire, note and archive with quoted names', async () => {
    const { parseChatCommand } = await import('../../src/channels/chat.js');
    expect(parseChatCommand('update "Ticket Drafter" 1.3.0 acc=0.95 p95=2500 cost=0.018 fit=all Better tone')).toEqual({
      name: 'update',
      agent: 'Ticket Drafter',
      version: '1.3.0',
      metrics: { acc: '0.95', p95: '2500', cost: '0.018', fit: 'all' },
      changelog: 'Better tone',
    });
    expect(parseChatCommand('retrain agt_0123456789abcdef postpone 7 waiting for data')).toEqual({
      name: 'retrain',
      agent: 'agt_0123456789abcdef',
      days: 7,
      reason: 'waiting for data',
    });
    expect(parseChatCommand('retire "Old Bot" successor "New Bot" obsolete now')).toEqual({
      name: 'retire',
      agent: 'Old Bot',
      successor: 'New Bot',
      reason: 'obsolete now',
    });
    expect(parseChatCommand('note "Old Bot" failure mixes up refunds')).toEqual({
      name: 'note',
      agent: 'Old Bot',
      kind: 'failure-mode',
      text: 'mixes up refunds',
    });
    expect(parseChatCommand('archive')).toMatchObject({ name: 'unknown' });
  });

  it('update proposes a version from chat, with role fit confirmed by fit=all', async () => {
    const h = await startHarness();
    try {
      const { parseChatCommand } = await import('../../src/channels/chat.js');
      const id = newAgentId();
      await h.services.agents.insert(
        agentRecord({
          id,
          name: 'Chatty Drafter',
          sponsors: [PRIYA],
          purpose: 'Drafts.',
          baseline: { accuracy: 0.93, p95LatencyMs: 3000, costPerTaskUSD: 0.02 },
        }),
      );
      const chat = h.chat;
      const priya = chat.person(PRIYA)!;
      const reply = await chat.run(priya, parseChatCommand(`update ${id} 1.1.0 acc=0.95 p95=2500 cost=0.018 fit=all Better tone`));
      expect(reply.card).toMatchObject({ kind: 'notice', data: { title: 'Version 1.1.0 of Chatty Drafter proposed' } });
      await expect(chat.run(priya, parseChatCommand(`update ${id} 1.2.0 acc=0.95 p95=2500 cost=0.018 Better tone`))).rejects.toMatchObject({
        userMessage: expect.stringContaining('not confirmed'),
      });
    } finally {
      await h.close();
    }
  });
});
