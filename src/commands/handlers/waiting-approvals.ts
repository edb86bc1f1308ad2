import type { FlowEngine } from '../../flows/engine.js';
import type { FlowRun } from '../../flows/types.js';
import type { CommandHandler } from '../handler.js';

/** What the approvals waiting for a person need: the engine's runs. */
export interface WaitingApprovalsDeps {
  engine: Pick<FlowEngine, 'waitingFor'>;
}

/** Runs waiting for this person's decision: their own, so anyone in the directory may ask. */
export function waitingApprovalsHandler(deps: WaitingApprovalsDeps): CommandHandler<'approvals.waiting', undefined, FlowRun[]> {
  return {
    load: async () => undefined,
    authorise: () => undefined,
    handle: (actor) => deps.engine.waitingFor(actor.email),
  };
}
