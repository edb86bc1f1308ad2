import { loadOrgConfig } from '../../src/config/org-config.js';
import { InvalidInputError } from '../../src/core/errors.js';
import { idOrUndefined, parseAgentId, parseRunId } from '../../src/core/ids.js';
import { agentClient } from '../api/support.js';
import { onBothPlatforms, type TestRoster } from '../helpers/app.js';
import type { FakeSlack } from '../helpers/fake-slack.js';
import { eventually, people, requestAwaitingApproval, SHIPPED_CONFIG } from '../helpers/harness.js';
import { asRunId } from '../helpers/ids.js';
import { runRosterCli } from '../helpers/roster-process.js';
import { buttonClick, interaction, postSlack } from '../helpers/slack-requests.js';
import { cardText } from './teams/card-reading.js';
import { teamsUser, type TeamsClient, type TeamsUser } from './teams/teams-client.js';

/*
 * Ids are parsed once, where they come in (src/core/ids.ts). A malformed id from each edge (a
 * Slack button's value, a Teams Action.Execute's data, a CLI argument, an HTTP path) is refused
 * with a clear error for the person or a 4xx code for the client: never a crash, never a look-up
 * of an empty id, and nothing changes.
 */

const org = loadOrgConfig(SHIPPED_CONFIG);
const NOAH = { id: 'U04J5M9C1RF', email: 'noah.fischer@brightwater.example' }; // approver:engineering
const MALFORMED = ['', 'run id with spaces', { $ne: null }, '../../etc/passwd', 'x'.repeat(300)];

describe('parse functions', () => {
  it('brand well-formed ids and refuse the rest with an invalid_input error that says what was expected', () => {
    expect(parseAgentId('agt_0123456789abcdef')).toBe('agt_0123456789abcdef');
    expect(idOrUndefined('RunId', 'run_0123456789abcdef')).toBe('run_0123456789abcdef');
    for (const bad of MALFORMED) {
      expect(idOrUndefined('AgentId', bad)).toBeUndefined();
      expect(() => parseRunId(bad, 'runId')).toThrow(InvalidInputError);
    }
    const err = (() => {
      try {
        parseRunId('no good', 'runId');
      } catch (e) {
        return e as InvalidInputError;
      }
      return undefined;
    })();
    expect(err).toMatchObject({ code: 'invalid_input', userMessage: 'That "no good" is not a valid request id.' });
    expect(err!.fields).toEqual({ runId: 'That "no good" is not a valid request id.' });
  });
});

describe('a malformed id from each edge is refused clearly', () => {
  let slack: FakeSlack;
  let teams: TeamsClient;
  let roster: TestRoster;
  let stop: () => Promise<void>;
  let noahTeams: TeamsUser;
  let waitingRun: { runId: string; agentId: string };

  beforeAll(async () => {
    ({ slack, roster, teams, stop } = await onBothPlatforms());
    noahTeams = teamsUser(roster.chat.person(NOAH.email)!);
    await teams.install(noahTeams);
    waitingRun = await requestAwaitingApproval(roster.services, org, people.grace, 'Malformed Id Target');
  }, 120_000);

  afterAll(async () => {
    await stop();
  });

  const unchanged = async () => {
    const run = (await roster.services.runs.get(asRunId(waitingRun.runId)))!;
    expect(run.status).toBe('waiting');
    expect(run.steps.approvals?.decisions ?? []).toEqual([]);
  };

  it('Slack: an Approve button whose value names a malformed request id is answered privately, saying the button could not be read', async () => {
    const repliesToNoah = () =>
      slack.calls.filter((c) => c.method === 'chat.postMessage' && c.args.channel === NOAH.id).map((c) => JSON.stringify(c.args));
    const before = repliesToNoah().length;
    const value = JSON.stringify({ runId: 'run id with spaces', stepId: 'approvals' });
    const res = await postSlack(roster.baseUrl, interaction(buttonClick(NOAH.id, 'approval_approve', value)));
    expect(res.status).toBe(200);
    await eventually(() => repliesToNoah().length > before, 30_000);
    const reply = repliesToNoah().slice(before).join('\n');
    expect(reply).toContain('That button could not be read');
    expect(reply).toContain('runId');
    // No look-up of an empty id: the refusal is about the value, not "I couldn't find the request".
    expect(reply).not.toContain("couldn't find");
    await unchanged();
  }, 60_000);

  it('Teams: an Action.Execute whose data names a malformed id (or none) is answered with an error card, not a 5xx', async () => {
    for (const data of [
      { runId: { $ne: null }, stepId: 'approvals' },
      { stepId: 'approvals' },
      { runId: waitingRun.runId, stepId: '../../etc/passwd' },
    ]) {
      const r = await teams.execute(noahTeams, 'approval_approve', data);
      expect(r.status).toBe(200);
      const text = cardText(r.card);
      expect(text).toContain('That button could not be read');
      expect(text).not.toContain("couldn't find");
    }
    const alert = await teams.execute(noahTeams, 'alert_ack', { alertId: 'alr with spaces' });
    expect(alert.status).toBe(200);
    expect(cardText(alert.card)).toContain('alertId');
    // What the person reads: the button was refused for its value, not looked up.
    expect(cardText(alert.card)).toContain('That button could not be read');
    expect(cardText(alert.card)).not.toContain("couldn't find");
    await unchanged();
  }, 60_000);

  it('HTTP: an agent API path with a malformed approval id is a 4xx with a code, never a 5xx', async () => {
    const client = agentClient(() => roster);
    const { token } = await client.agentAndToken({ name: 'Malformed Path Agent' });
    for (const id of ['not%20an%20id', '%24ne', 'apr_' + 'z'.repeat(24)]) {
      const res = await client.api(token, 'GET', `/api/v1/approvals/${id}`);
      expect(res.status).toBe(404);
      expect(res.body.error).toBe('not_found');
    }
    const consume = await client.api(token, 'POST', '/api/v1/approvals/..%2F..%2Fx/consume', { details_hash: 'x' });
    expect(consume.status).toBeGreaterThanOrEqual(400);
    expect(consume.status).toBeLessThan(500);
  }, 60_000);
});

describe('the CLI refuses a malformed agent or effect id with a usage error', () => {
  const cli = (args: string[]) =>
    runRosterCli(args, {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      LOG_LEVEL: 'silent',
      MONGODB_URI: 'mongodb://127.0.0.1:9/none',
    });

  it('roster archive, roster audit export --agent and roster outbox retry name what they expected, exit 2, and never reach the database', async () => {
    const archive = await cli(['archive', 'agt with spaces']);
    expect(archive.code).toBe(2);
    expect(archive.err).toContain('"agt with spaces" is not an agent id');
    const exported = await cli(['audit', 'export', '--agent', '{"$ne":null}']);
    expect(exported.code).toBe(2);
    expect(exported.err).toContain('--agent takes an agent id');
    const retried = await cli(['outbox', 'retry', 'fx with spaces']);
    expect(retried.code).toBe(2);
    expect(retried.err).toContain('"fx with spaces" is not an effect id');
  }, 60_000);
});
