import path from 'node:path';
import type { DataOf } from '../../src/cards/view-models.js';
import { parseChatCommand, type ChatService } from '../../src/channels/chat.js';
import { loadEvalSuites } from '../../src/config/eval-suites.js';
import { loadOrgConfig } from '../../src/config/org-config.js';
import { FakeAgent, KB_ANSWERER_ALL_RIGHT } from '../helpers/fake-agent.js';
import { errorOf, eventually, passingEvaluation, people, SHIPPED_CONFIG, startHarness, type Harness } from '../helpers/harness.js';
import { projectRoot } from '../helpers/roster-process.js';
import { commandsOf } from '../helpers/commands.js';
import { asAgentId } from '../helpers/ids.js';

/*
 * Typed-in evaluation results are claims, not measurements: for every role only an IT admin may
 * record them, with a reason; they are marked self-reported on the gate, its audit entry and the
 * approval card, and flagged in the compliance report until Roster has measured the agent itself.
 */

const org = loadOrgConfig(SHIPPED_CONFIG);
/** kb-answerer has a suite (Roster measures it); the HR role has none. */
const suites = loadEvalSuites(path.join(projectRoot, 'test/fixtures/evals/e2e'), org);
const HR_ROLE = 'hr-onboarding-assistant';
const REASON = 'Measured by the vendor on our test set; no endpoint Roster can reach yet.';

const ALL_RIGHT = KB_ANSWERER_ALL_RIGHT;

describe('typed-in evaluation results: IT admins only, with a reason, self-reported and flagged', () => {
  let agent: FakeAgent;
  let base: string;
  let h: Harness;
  let chat: ChatService;
  beforeAll(async () => {
    agent = new FakeAgent({ '/kb': ALL_RIGHT });
    base = await agent.start();
  });
  afterAll(async () => {
    await agent.stop();
  });
  beforeEach(async () => {
    h = await startHarness({ suites, evaluation: { progressEveryMs: 0 } });
    chat = h.chat;
  });
  afterEach(async () => {
    await h.close();
  });

  const request = (roleId: string, name: string) =>
    commandsOf(h.services).requestAgent(people.amara, {
      roleId,
      name,
      purpose: 'Guides new hires and answers how-to questions from the handbook.',
      businessUnit: 'people-ops',
      sponsors: [people.amara],
      justification: 'Onboarding volume doubled this year.',
    });

  it('a role without a suite: the requester is pointed to IT, an IT admin records results with a reason, marked self-reported', async () => {
    const { agents, engine, audit } = h.services;
    const commands = commandsOf(h.services);
    const { agentId, run } = await request(HR_ROLE, 'Onboarding Buddy');

    const asRequester = await errorOf(commands.submitEvaluation(people.amara, agentId, passingEvaluation(h.org, HR_ROLE)));
    expect(asRequester.code).toBe('forbidden');
    expect(asRequester.userMessage).toBe(
      'Roster has no evaluation suite for HR onboarding assistant agents yet, so it cannot measure Onboarding Buddy itself. Ask IT: an IT admin can add evals/hr-onboarding-assistant.yaml (then register the endpoint and Roster runs it), or record the results with a reason.',
    );
    expect((await errorOf(commands.submitEvaluation(people.daniel, agentId, passingEvaluation(h.org, HR_ROLE)))).code).toBe('forbidden');
    const { notes: _notes, ...noReason } = passingEvaluation(h.org, HR_ROLE);
    const withoutReason = await errorOf(commands.submitEvaluation(people.aisha, agentId, noReason));
    expect(withoutReason).toMatchObject({
      code: 'invalid_input',
      userMessage: expect.stringContaining('Say why these results are typed in'),
    });
    expect((await engine.get(run.id)).steps.evaluation!.attempts ?? []).toHaveLength(0);

    // In chat: the requester gets the explanation instead of a form; an IT admin gets the form with its reason field.
    const refused = await chat.run(chat.person(people.amara)!, parseChatCommand('eval Onboarding Buddy'));
    expect(refused.card).toMatchObject({ kind: 'notice', data: { level: 'warning', title: 'Typed-in results need an IT admin' } });
    expect((refused.card.data as DataOf<'notice'>).text).toContain('Ask IT');
    const form = await chat.run(chat.person(people.aisha)!, parseChatCommand('eval Onboarding Buddy'));
    expect(form.card.kind).toBe('evaluation-form');
    const missingReason = chat.checkEvaluation({ agentId: asAgentId(agentId), accuracy: 0.95, p95LatencyMs: 1000, costPerTaskUsd: 0.01 });
    expect(missingReason).toEqual({ notes: 'Say why the results are typed in rather than measured (at least 5 characters).' });

    const { verdict, run: after } = await commands.submitEvaluation(people.aisha, agentId, passingEvaluation(h.org, HR_ROLE));
    expect(verdict.passed).toBe(true);
    expect((await agents.get(asAgentId(agentId)))!.evaluation).toMatchObject({ source: 'self-reported', by: people.aisha, reason: REASON });
    expect(after.steps.evaluation!.attempts!.at(-1)).toMatchObject({ source: 'self-reported', by: people.aisha });
    const gate = (await audit.export({ agentId: asAgentId(agentId) })).find((e) => e.action === 'gate.passed')!;
    expect(gate.actor).toEqual({ kind: 'person', email: people.aisha });
    expect(gate.details).toMatchObject({ source: 'self-reported', summary: expect.stringContaining(`(${REASON})`) });
    const approval = h.notifier.to(people.sofia, 'approval-request').at(-1)!.card.data as DataOf<'approval-request'>;
    expect(approval.evaluation).toMatchObject({ passed: true, source: 'self-reported' });
  });

  it('a role with a suite: a sponsor is sent to register the endpoint; compliance flags an IT admin’s typed-in result until Roster measures it', async () => {
    const { agents } = h.services;
    const commands = commandsOf(h.services);
    const { agentId, run } = await request('kb-answerer', 'Handbook Helper');
    const asSponsor = await errorOf(commands.submitEvaluation(people.amara, agentId, passingEvaluation(h.org, 'kb-answerer')));
    expect(asSponsor).toEqual({
      code: 'forbidden',
      userMessage:
        'Roster measures Knowledge-base answerer agents itself: register Handbook Helper\'s endpoint ("eval Handbook Helper") and Roster runs the role\'s suite against it. Only an IT admin may type results in instead, with a reason.',
    });
    await commands.submitEvaluation(people.aisha, agentId, passingEvaluation(h.org, 'kb-answerer'));
    await commands.decide(people.sofia, { runId: run.id, stepId: 'approvals', decision: 'approve' });
    await commands.decide(people.liam, { runId: run.id, stepId: 'approvals', decision: 'approve' });
    expect((await agents.get(asAgentId(agentId)))!.status).toBe('active');

    // The compliance report flags it, with who typed it in and why, and offers the fix.
    const gapOf = async () =>
      (await h.services.bus.execute(h.services.bus.person(people.marcus), { type: 'compliance.report' })).gaps.find(
        (g) => g.kind === 'self-reported-evaluation' && g.agentId === agentId,
      );
    expect((await gapOf())?.detail).toBe(
      `Handbook Helper's evaluation was typed in by ${people.aisha}, not measured by Roster ("${REASON}").`,
    );
    const marcus = chat.person(people.marcus)!;
    const report = await chat.run(marcus, parseChatCommand('compliance'));
    const section = (report.card.data as DataOf<'notice'>).sections!.find((s) => s.actions[0]?.value.gap === 'self-reported-evaluation')!;
    expect(section.actions[0]).toMatchObject({ action: 'gap_fix', label: 'Ask for a measured run', value: { agentId } });
    await expect(chat.actions.click(chat.person(people.daniel)!, 'gap_fix', section.actions[0]!.value)).rejects.toMatchObject({
      code: 'forbidden',
    });
    const fix = await chat.actions.click(marcus, 'gap_fix', section.actions[0]!.value);
    expect(fix.followUp?.data).toMatchObject({ title: 'Sponsors of Handbook Helper asked for a measured evaluation' });

    // The sponsor gets the request with "Register endpoint and run"; the prompt it opens, submitted, starts the re-interview.
    const asked = h.notifier.to(people.amara, 'notice').find((n) => n.card.data.title === 'Evaluate Handbook Helper with Roster')!;
    const button = (asked.card.data as DataOf<'notice'>).actions![0]!;
    expect(button).toMatchObject({ action: 'eval_register', label: 'Register endpoint and run', value: { agentId } });
    // Compliance asked for the run but does not run it: the prompt is refused before it opens.
    await expect(chat.actions.click(marcus, 'eval_register', button.value)).rejects.toMatchObject({ code: 'forbidden' });
    const amara = chat.person(people.amara)!;
    const opened = await chat.actions.click(amara, 'eval_register', button.value);
    expect(opened.prompt?.kind).toBe('prompt');
    const started = await chat.actions.submit(amara, 'eval_register', { agentId }, { kind: 'http', url: `${base}/kb` });
    expect(started.card?.data).toMatchObject({ title: 'Evaluation of Handbook Helper started' });

    // Roster's passing measurement replaces the typed-in result on record, and the gap closes.
    const measured = await eventually(async () => {
      const a = await agents.get(asAgentId(agentId));
      return a?.evaluation?.source === 'measured' ? a.evaluation : undefined;
    }, 30_000);
    expect(measured).toMatchObject({ by: 'roster', suiteHash: suites.get('kb-answerer')!.hash, submission: { accuracy: 1 } });
    expect(await gapOf()).toBeUndefined();
    const completed = (await h.services.audit.export({ agentId: asAgentId(agentId) })).find((e) => e.action === 'evaluation.completed');
    expect(completed?.details).toMatchObject({ purpose: 'rerun', passed: true, replacesSelfReported: true });
  }, 60_000);
});
