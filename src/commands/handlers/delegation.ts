import type { Delegation, Delegations } from '../../core/delegations.js';
import type { CommandHandler } from '../handler.js';

/** What out of office needs: the delegations. */
export interface DelegationDeps {
  delegations: Pick<Delegations, 'away' | 'back' | 'current'>;
}

/**
 * `away`, `back` and what is current. There is no one to refuse: a person hands over, ends and
 * reads only their own delegation (the commands name no principal but the actor); who may be the
 * delegate (someone else in the directory) and which days are the service's checks of the input.
 */
export function delegationHandlers(deps: DelegationDeps) {
  const nobodyToRefuse = () => undefined;
  return {
    'delegation.away': {
      load: async () => undefined,
      authorise: nobodyToRefuse,
      handle: (actor, { from, to, delegate }) => deps.delegations.away(actor.email, from, to, delegate),
    },
    'delegation.back': {
      load: async () => undefined,
      authorise: nobodyToRefuse,
      handle: (actor) => deps.delegations.back(actor.email),
    },
    'delegation.current': {
      load: async () => undefined,
      authorise: nobodyToRefuse,
      handle: (actor) => deps.delegations.current(actor.email),
    },
  } satisfies {
    'delegation.away': CommandHandler<'delegation.away', undefined, Delegation>;
    'delegation.back': CommandHandler<'delegation.back', undefined, number>;
    'delegation.current': CommandHandler<'delegation.current', undefined, Delegation | undefined>;
  };
}
