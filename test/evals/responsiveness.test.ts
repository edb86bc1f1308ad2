import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createSlackChannel } from '../../src/channels/slack/index.js';
import { loadEvalSuites } from '../../src/config/eval-suites.js';
import { loadOrgConfig } from '../../src/config/org-config.js';
import { startTestRoster } from '../helpers/app.js';
import { FakeSlack } from '../helpers/fake-slack.js';
import { agentRecord, eventually, passingEvaluation, people, SHIPPED_CONFIG } from '../helpers/harness.js';
import { buttonClick, interaction, postSlack } from '../helpers/slack-requests.js';
import { commandsOf } from '../helpers/commands.js';
import { asRunId } from '../helpers/ids.js';

/** Bolt acknowledges an interaction by answering its HTTP request; Slack gives up after 3 s. */
const SLACK_ACK_WINDOW_MS = 3000;
const CASES = 500;
const NOAH = { id: 'U04J5M9C1RF', email: 'noah.fischer@brightwater.example' }; // approver:engineering

describe('Roster stays responsive while a 500-case suite runs against a slow agent', () => {
  let slack: FakeSlack;
  let agent: http.Server;
  let agentUrl: string;
  let roster: Awaited<ReturnType<typeof startTestRoster>>;

  beforeAll(async () => {
    // The candidate takes 300 ms per answer: at concurrency 16 the run lasts about 10 s.
    agent = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"output":"ok"}'), 300));
    });
    await new Promise<void>((r) => agent.listen(0, '127.0.0.1', r));
    agentUrl = `http://127.0.0.1:${(agent.address() as AddressInfo).port}/answer`;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'roster-responsive-'));
    const cases = Array.from(
      { length: CASES },
      (_, i) => `  - { id: c${i}, input: "question ${i}", grader: { type: contains, value: ok } }`,
    );
    writeFileSync(path.join(dir, 'kb-answerer.yaml'), `concurrency: 16\ncaseTimeout: 10s\nbudget: 5m\ncases:\n${cases.join('\n')}\n`);
    slack = new FakeSlack();
    await slack.start();
    roster = await startTestRoster({
      env: slack.rosterEnv(),
      channels: [createSlackChannel],
      suites: loadEvalSuites(dir, loadOrgConfig(SHIPPED_CONFIG)),
      evaluation: { progressEveryMs: 250 },
    });
  }, 60_000);
  afterAll(async () => {
    await roster.stop();
    await slack.stop();
    agent.closeAllConnections();
    agent.close();
  });

  it('approve clicks are acknowledged within Slack’s 3 s window and decided while the run is in progress', async () => {
    const { services } = roster;
    const org = loadOrgConfig(SHIPPED_CONFIG);
    // Ten requests waiting for approval (results typed in by an IT admin, with a reason).
    const runIds: string[] = [];
    for (let i = 0; i < 10; i++) {
      const { run, agentId } = await commandsOf(services).requestAgent(people.grace, {
        roleId: 'kb-answerer',
        name: `Waiting Helper ${i}`,
        purpose: 'Answers engineering how-to questions from the handbook.',
        businessUnit: 'engineering',
        sponsors: [people.grace],
        justification: 'Saves the platform team hours each week.',
      });
      await commandsOf(services).submitEvaluation(people.liam, agentId, passingEvaluation(org, 'kb-answerer'));
      runIds.push(run.id);
    }

    // The candidate under evaluation: a working agent re-interviewed on the role's 500 cases.
    const candidate = agentRecord({
      catalogRoleId: 'kb-answerer',
      businessUnit: 'engineering',
      sponsors: [people.liam],
      name: 'Slow Poke',
    });
    await services.agents.insert(candidate);
    await services.evaluations.registerEndpoint(people.liam, candidate.id, undefined, { kind: 'http', url: agentUrl });
    const evalRun = await services.evaluations.start(people.liam, { agentId: candidate.id, purpose: 'rerun' });
    const cases = roster.db.connection.collection('eval_cases');
    await eventually(async () => ((await cases.countDocuments({ runId: evalRun.id })) >= 16 ? true : undefined), 30_000);

    const acks = await Promise.all(
      runIds.map(async (runId, i) => {
        const t0 = performance.now();
        const res = await postSlack(
          roster.baseUrl,
          interaction(buttonClick(NOAH.id, 'approval_approve', JSON.stringify({ runId, stepId: 'approvals' }), slack.responseUrl(`n${i}`))),
        );
        return { status: res.status, ms: performance.now() - t0 };
      }),
    );
    // The run was still going after every click was acknowledged.
    const during = (await services.bus.execute(services.bus.person(people.liam), { type: 'evaluation.show', evalRunId: evalRun.id })).run;
    expect(during.status).toBe('running');
    expect(await cases.countDocuments({ runId: evalRun.id })).toBeLessThan(CASES);

    for (const ack of acks) {
      expect(ack.status).toBe(200);
      expect(ack.ms).toBeLessThan(SLACK_ACK_WINDOW_MS);
    }
    // And each click was decided: Noah's approval is on every run.
    for (const runId of runIds) {
      await eventually(async () =>
        (await services.runs.get(asRunId(runId)))?.steps.approvals?.decisions?.some((d) => d.by === NOAH.email) ? true : undefined,
      );
    }
    await services.evaluations.cancel(people.liam, evalRun.id);
  }, 120_000);
});
