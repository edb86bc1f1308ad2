import type { CommandStartedEvent } from 'mongodb';
import { startTestRoster, type TestRoster } from '../helpers/app.js';
import { testMongoUri, uniqueDbName } from '../helpers/db.js';
import { people, requestAwaitingApproval } from '../helpers/harness.js';
import { asRunId } from '../helpers/ids.js';

/*
 * An approval step's approvers are checked for delegations (out of office) before their cards go
 * out: one read for all of them, not one each (every database command costs about a millisecond
 * of Roster's CPU under load, and the cards wait on it). Who decides for an approver who is away
 * is covered by test/core/delegation.test.ts.
 */
describe('flow engine: the delegations of an approval step’s approvers', () => {
  const uri = testMongoUri();
  let roster: TestRoster;
  const started: CommandStartedEvent[] = [];
  beforeAll(async () => {
    roster = await startTestRoster({
      env: { MONGODB_URI: `${uri}${uri.includes('?') ? '&' : '?'}monitorCommands=true` },
      dbName: uniqueDbName('delegreads'),
    });
    roster.db.connection.getClient().on('commandStarted', (event) => started.push(event));
  });
  afterAll(async () => {
    await roster?.stop();
  });

  it('are read once for a step waiting on several people', async () => {
    const from = started.length;
    const { runId } = await requestAwaitingApproval(roster.services, roster.org, people.grace, 'Delegation Reads');
    const run = await roster.services.runs.get(asRunId(runId));
    expect(run?.status).toBe('waiting');
    expect(run!.waitingFor.length).toBeGreaterThan(1);
    const reads = started.slice(from).filter((e) => e.commandName === 'find' && e.command.find === 'delegations');
    // Each time the run starts waiting (before its evaluation is in, then at its approvals) the
    // step's approvers' delegations are read once, not once per approver.
    const waits = run!.events.filter((e) => e.type === 'waiting').length;
    expect({ reads: reads.length, waits }).toEqual({ reads: 2, waits: 2 });
  });
});
