import type { FlowEngine } from '../../flows/engine.js';
import type { FlowRun, RunRepository } from '../../flows/types.js';
import { assertConcernedByRun, isConcernedByRun } from '../../core/policies.js';
import type { CommandHandler } from '../handler.js';
import { idToLookUp } from '../../core/ids.js';

/** What showing a request needs: the run, and to whom its cards were sent. */
export interface ShowRunDeps {
  engine: Pick<FlowEngine, 'get'>;
  runs: Pick<RunRepository, 'messages'>;
}

/**
 * A request (run) as it is now, for an approval card or its deny form. A card's buttons carry
 * only ids: a request is shown to the people it concerns (those it was sent to, its requester,
 * its sponsors, who decided on it) and IT admins; anyone else is refused.
 */
export function showRunHandler(deps: ShowRunDeps): CommandHandler<'run.show', { run: FlowRun; recipients: string[] }, FlowRun> {
  return {
    load: async (actor, { runId }) => {
      const run = await deps.engine.get(idToLookUp('RunId', runId, 'the request'));
      // Who a card went to is read only when the run itself does not name the person (one read fewer per click).
      const recipients = isConcernedByRun(actor, run) ? [] : (await deps.runs.messages(run.id)).map((m) => m.person);
      return { run, recipients };
    },
    authorise: (actor, { run, recipients }) => assertConcernedByRun(actor, run, recipients),
    handle: async (_actor, _command, { run }) => run,
  };
}
