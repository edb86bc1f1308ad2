import { showAgentHandler } from '../../src/commands/handlers/show-agent.js';
import { openEvaluationHandler } from '../../src/commands/handlers/open-evaluation.js';
import { commandSchema } from '../../src/commands/command.js';
import { agentRecord, people, startHarness, type Harness } from '../helpers/harness.js';
import { asRunId } from '../helpers/ids.js';

/*
 * An agent added without a request (a run id nothing stored) shows as having none; a read of its
 * request that fails is that failure, never "no request": a person is not told "Nothing to
 * evaluate" because the database did not answer.
 */
describe("an agent's request as agent.show and evaluation.open read it", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h?.close());

  const failedRead = new Error('the database did not answer');
  const parsed = (command: Record<string, unknown>) => commandSchema.parse(command);

  it('none stored: no request; a failed read: the failure', async () => {
    const agent = agentRecord({ name: 'No Request', sponsors: [people.tom], requestRunId: asRunId('run_none') });
    await h.services.agents.insert(agent);
    const tom = h.services.bus.person(people.tom);
    const reads = { org: h.org, agents: h.services.agents, grants: h.services.grants };

    const show = async (engine: Parameters<typeof showAgentHandler>[0]['engine']) => {
      const handler = showAgentHandler({ ...reads, engine });
      const command = parsed({ type: 'agent.show', agent: agent.id }) as Parameters<typeof handler.handle>[1];
      return handler.handle(tom, command, await handler.load(tom, command));
    };
    expect((await show(h.services.engine)).request).toBeUndefined();
    await expect(show({ find: () => Promise.reject(failedRead) })).rejects.toBe(failedRead);

    const open = async (engine: Parameters<typeof openEvaluationHandler>[0]['engine']) => {
      const handler = openEvaluationHandler({ ...reads, evaluations: h.services.evaluations, engine });
      const command = parsed({ type: 'evaluation.open', agent: agent.id, typedIn: 'again' }) as Parameters<typeof handler.handle>[1];
      return handler.handle(tom, command, await handler.load(tom, command));
    };
    expect(await open(h.services.engine)).toMatchObject({ form: 'none', why: 'no-request' });
    await expect(open({ find: () => Promise.reject(failedRead), flow: (id) => h.services.engine.flow(id) })).rejects.toBe(failedRead);
  });
});
