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
    // The outbox worker scans every holder collection for due effects, delegations included: at
    // start (not awaited) and every 5 s, so its scans land in this window now and then (under load
    // a second one did: 3 reads). One is made to land here; it is not a read of the step's people.
    await roster.services.outbox.drain();
    const delegationFinds = started.slice(from).filter((e) => e.commandName === 'find' && e.command.find === 'delegations');
    expect(delegationFinds.some((e) => e.command.filter?.['outbox.due'])).toBe(true);
    const reads = delegationFinds.filter((e) => e.command.filter?.principal !== undefined);
    // The run waits twice (for its evaluation, then at its approvals); when the approval step opens,
    // its approvers' delegations are read once for all of them, not once per approver.
    const waits = run!.events.filter((e) => e.type === 'waiting');
    expect({ reads: reads.length, waits: waits.length, approvalWaits: waits.filter((e) => e.detail === 'approval').length }).toEqual({
      reads: 1,
      waits: 2,
      approvalWaits: 1,
    });
    const approvers = run!.steps[run!.events.find((e) => e.detail === 'approval')!.stepId!]!.groups!.flatMap((g) => g.eligible);
    expect(approvers.length).toBeGreaterThan(1);
    expect(reads[0]!.command.filter.principal).toEqual({ $in: expect.arrayContaining(approvers) });
  });
});
