import type { BoundaryChangeRecord, BoundaryChanges } from '../../core/boundary-changes.js';
import type { FleetView } from '../../core/fleet.js';
import type { HandoffRecord, Handoffs } from '../../core/handoffs.js';
import { maySeeFleetOnHome } from '../../core/policies.js';
import type { FlowEngine } from '../../flows/engine.js';
import type { FlowRun } from '../../flows/types.js';
import type { CommandHandler } from '../handler.js';

/** What a person's waiting work needs: the runs, the hand-off cases and the boundary changes waiting for them, and the fleet. */
export interface WaitingTasksDeps {
  engine: Pick<FlowEngine, 'waitingFor'>;
  handoffs: Pick<Handoffs, 'openFor'>;
  changes: Pick<BoundaryChanges, 'pendingFor'>;
  fleet: () => Promise<FleetView>;
}

/** What waits for a person (`pending`, App Home, the Teams home card): decisions, cases to take or resolve, changes to decide. */
export interface WaitingTasks {
  approvals: FlowRun[];
  cases: HandoffRecord[];
  changes: BoundaryChangeRecord[];
}

/**
 * `pending` and the home card: what waits for the person (their own, so anyone in the directory may
 * ask; each list holds only what they may decide or work), and the fleet summary the home card
 * shows IT admins.
 */
export function waitingTasksHandlers(deps: WaitingTasksDeps) {
  return {
    'tasks.waiting': {
      load: async () => undefined,
      authorise: () => undefined,
      handle: async (actor) => {
        const [approvals, cases, changes] = await Promise.all([
          deps.engine.waitingFor(actor.email),
          deps.handoffs.openFor(actor.email),
          deps.changes.pendingFor(actor),
        ]);
        return { approvals, cases, changes };
      },
    },
    'home.fleet': {
      load: async () => undefined,
      authorise: () => undefined,
      handle: async (actor) => (maySeeFleetOnHome(actor) ? deps.fleet() : undefined),
    },
  } satisfies {
    'tasks.waiting': CommandHandler<'tasks.waiting', undefined, WaitingTasks>;
    'home.fleet': CommandHandler<'home.fleet', undefined, FleetView | undefined>;
  };
}
