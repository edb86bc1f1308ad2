import type { FlowEngine } from '../../flows/engine.js';
import type { FlowRun } from '../../flows/types.js';
import type { CommandHandler } from '../handler.js';

/** What a person's open requests need: the engine's runs. */
export interface OpenRequestsDeps {
  engine: Pick<FlowEngine, 'openRequestsOf'>;
}

/** This person's requests still open: their own, so anyone in the directory may ask. */
export function openRequestsHandler(deps: OpenRequestsDeps): CommandHandler<'requests.open', undefined, FlowRun[]> {
  return {
    load: async () => undefined,
    authorise: () => undefined,
    handle: (actor) => deps.engine.openRequestsOf(actor.email),
  };
}
