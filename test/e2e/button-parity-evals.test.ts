import path from 'node:path';
import { loadEvalSuites } from '../../src/config/eval-suites.js';
import { loadOrgConfig } from '../../src/config/org-config.js';
import type { TestRosterOptions } from '../helpers/app.js';
import { clickingOnSlack, clickingOnTeams, everything, trailWith, type Clicker, type ClickingRoster } from '../helpers/clickers.js';
import { FakeAgent, KB_ANSWERER_ALL_RIGHT, type Behaviour } from '../helpers/fake-agent.js';
import { eventually, SHIPPED_CONFIG } from '../helpers/harness.js';
import { projectRoot } from '../helpers/roster-process.js';

/*
 * Issue 17 item 7, the evaluation buttons of a role Roster measures itself: Register endpoint and
 * run (on the gate card, and the same prompt opened by "eval"), Cancel evaluation and the failing
 * cases of a verdict, clicked through /slack/events and /api/messages with the same assertions on
 * both platforms. The agent under evaluation is a fake
 * HTTP endpoint on 127.0.0.1.
 */

type Roster = ClickingRoster['roster'];

const AMARA = 'amara.osei@brightwater.example'; // requester and sponsor in people-ops; on both platforms
const PRIYA = 'priya.raman@brightwater.example'; // named as a second sponsor; on both platforms

/** One wrong answer (the printer), so the verdict has a failing case to show. */
const ONE_WRONG: Record<string, Behaviour> = {
  ...KB_ANSWERER_ALL_RIGHT,
  'How do I add the office printer?': { output: 'Ask a colleague.' },
};
/** Right, but slow (still inside the suite's 2 s case timeout): a run long enough to cancel. */
const SLOW: Record<string, Behaviour> = Object.fromEntries(
  Object.entries(KB_ANSWERER_ALL_RIGHT).map(([input, b]) => [input, { ...b, delayMs: 1500 }]),
);

const options = (): TestRosterOptions => ({
  suites: loadEvalSuites(path.join(projectRoot, 'test/fixtures/evals/e2e'), loadOrgConfig(SHIPPED_CONFIG)),
  evaluation: { progressEveryMs: 0 },
});

describe.each([
  ['Slack', () => clickingOnSlack(options())],
  ['Teams', () => clickingOnTeams(options(), [AMARA, PRIYA])],
])('%s: the evaluation buttons clicked through the endpoint', (_platform, start) => {
  let roster: Roster;
  let p: Clicker;
  let stop: () => Promise<void>;
  let agent: FakeAgent;
  let base: string;
  beforeAll(async () => {
    agent = new FakeAgent({ '/one-wrong': ONE_WRONG, '/slow': SLOW });
    base = await agent.start();
    ({ roster, clicker: p, stop } = await start());
  }, 60_000);
  afterAll(async () => {
    await stop?.();
    await agent?.stop();
  });

  /** Amara requests a kb-answerer; the evaluation gate asks her to register its endpoint. */
  const requested = async (name: string) => {
    const result = await roster.chat.submitRequest(roster.chat.person(AMARA)!, {
      roleId: 'kb-answerer',
      agentName: name,
      purpose: 'Answers how-to questions from the handbook.',
      businessUnit: 'people-ops',
      sponsors: [AMARA],
      justification: 'The help desk answers the same questions every day.',
    });
    expect(result.ok).toBe(true);
    return eventually(async () => (await roster.services.agents.findByName('people-ops', name))?.id);
  };
  /** The endpoint prompt's answers (the same input names on both platforms). */
  const endpoint = (url: string) => ({ kind: 'http', url, secret: 'demo-token' });

  it('the endpoint prompt opened by "eval" starts the interview; the verdict shows the failing case a click away', async () => {
    const agentId = await requested('Printer Helper');
    const asked = await p.say(AMARA, 'eval Printer Helper', (s) => Boolean(s.prompt));
    expect(asked.prompt!.text).toContain('Evaluate with Roster');
    await p.submit(AMARA, asked.prompt!, endpoint(`${base}/one-wrong`), () => true);
    const verdict = await p.delivered(AMARA, 'eval_failures', 'Evaluation passed', 30_000);
    expect(verdict.text).toContain('9 of 10 passed');
    const run = await eventually(async () => {
      const [r] = await roster.services.runs.list({ agentId });
      return r && r.waitingFor.length > 0 && r;
    });
    expect(run.status).toBe('waiting');

    const shown = await p.click(AMARA, verdict, 'eval_failures', {
      until: (s) => everything(s).includes('Failing cases of Printer Helper'),
    });
    expect(everything(shown)).toContain('Failing cases of Printer Helper 1.0.0: 1 of 10');
    expect(everything(shown)).toContain('How do I add the office printer?');
    expect(everything(shown)).toContain('Ask a colleague.');
    const measured = ['evaluation.started', 'gate.passed'];
    const trail = await trailWith(roster, agentId, measured, (e) => e.action);
    expect(trail).toEqual(expect.arrayContaining(measured));
  }, 60_000);

  it('Register endpoint and run on the gate card a named sponsor gets: accepted, registered, measured', async () => {
    const result = await roster.chat.submitRequest(roster.chat.person(AMARA)!, {
      roleId: 'kb-answerer',
      agentName: 'Gate Helper',
      purpose: 'Answers how-to questions from the handbook.',
      businessUnit: 'people-ops',
      sponsors: [AMARA, PRIYA],
      justification: 'The help desk answers the same questions every day.',
    });
    expect(result.ok).toBe(true);
    const agentId = await eventually(async () => (await roster.services.agents.findByName('people-ops', 'Gate Helper'))?.id);
    const ask = await p.delivered(PRIYA, 'sponsor_confirm', 'Will you sponsor Gate Helper?');
    await p.click(PRIYA, ask, 'sponsor_confirm');
    await eventually(async () => (await roster.services.agents.get(agentId))?.sponsors.includes(PRIYA));
    const gate = await p.delivered(PRIYA, 'eval_register', 'Evaluation of Gate Helper: Roster interviews it');
    const asked = await p.click(PRIYA, gate, 'eval_register', { until: (s) => Boolean(s.prompt) });
    expect(asked.prompt!.text).toContain('Evaluate with Roster');
    await p.submit(PRIYA, asked.prompt!, endpoint(`${base}/one-wrong`), () => true);
    await p.delivered(PRIYA, 'eval_failures', 'Evaluation passed', 30_000);
    const registered = [`evaluation.endpoint-registered:${PRIYA}`, `evaluation.started:${PRIYA}`];
    const trail = await trailWith(roster, agentId, registered);
    expect(trail).toEqual(expect.arrayContaining(registered));
  }, 60_000);

  it('Cancel evaluation stops a running interview; the request keeps waiting for results', async () => {
    const agentId = await requested('Slow Helper');
    const asked = await p.say(AMARA, 'eval Slow Helper', (s) => Boolean(s.prompt));
    await p.submit(AMARA, asked.prompt!, endpoint(`${base}/slow`), () => true);
    const progress = await p.delivered(AMARA, 'eval_cancel', 'Slow Helper', 20_000);
    const cancelled = await p.click(AMARA, progress, 'eval_cancel', { until: (s) => everything(s).includes('cancelled') });
    expect(everything(cancelled)).toMatch(/Evaluation of Slow Helper[^\n]* cancelled at \d+ of 10 cases/);
    const entry = await eventually(async () =>
      (await roster.services.audit.export({ agentId })).find((e) => e.action === 'evaluation.cancelled'),
    );
    expect(entry.actor).toMatchObject({ kind: 'person', email: AMARA });
    const { run: evalRun } = await roster.services.bus.execute(roster.services.bus.person(AMARA), {
      type: 'evaluation.show',
      evalRunId: String(entry.details.evalRunId),
    });
    expect(evalRun.status).toBe('cancelled');
    expect(evalRun.done).toBeLessThan(10);
    const [run] = await roster.services.runs.list({ agentId });
    expect(run).toMatchObject({ status: 'waiting', waitingFor: [] });
  }, 60_000);
});
