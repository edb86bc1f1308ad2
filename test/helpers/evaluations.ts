import { eventually, people, type Harness } from './harness.js';
import { commandsOf } from './commands.js';

/** Amara requests a kb-answerer agent named `name` (the role the interview suites test); resolves its id. */
export async function requestedKbAnswerer(h: Harness, name: string): Promise<string> {
  const { agentId } = await commandsOf(h.services).requestAgent(people.amara, {
    roleId: 'kb-answerer',
    name,
    purpose: 'Answers how-to questions from the handbook.',
    businessUnit: 'people-ops',
    sponsors: [people.amara],
  });
  return agentId;
}

/** The evaluation run as Amara sees it, once it is no longer running. */
export const evaluationFinished = (h: Harness, runId: string) =>
  eventually(async () => {
    const run = await h.services.bus.execute(h.services.bus.person(people.amara), { type: 'evaluation.show', evalRunId: runId });
    return run.run.status !== 'running' ? run : undefined;
  }, 30_000);
