import type { Connection } from 'mongoose';

/** Told of a write to an agent or its grants: the agent's id, or undefined when the write may concern any agent. */
export type AccessWriteListener = (agentId: string | undefined) => void;

const listeners = new WeakMap<Connection, Set<AccessWriteListener>>();

/**
 * Listens to every write this process makes to agents and grants through the repositories of
 * `connection` (src/store/agent-store.ts), told once each write is done, whether or not it
 * succeeded. What remembers agents or grants (the live access of the agent API) forgets them
 * here, so this process's next call reads its own writes. Resolves the function that stops listening.
 */
export function onAccessWrite(connection: Connection, listener: AccessWriteListener): () => void {
  let set = listeners.get(connection);
  if (!set) {
    set = new Set();
    listeners.set(connection, set);
  }
  set.add(listener);
  return () => set.delete(listener);
}

/** Tells the listeners of `connection` that an agent (or, without an id, any agent) or its grants were written. */
export function accessWritten(connection: Connection, agentId?: string): void {
  const set = listeners.get(connection);
  if (!set) return;
  for (const listener of set) listener(agentId);
}

/**
 * `write`, telling the listeners of `connection` once it is done (whether or not it succeeded)
 * which agents it concerned: `agentsOf` names them from the arguments and the result (undefined
 * when the write failed); naming none tells them any agent may be concerned.
 */
export function telling<A extends unknown[], T>(
  connection: Connection,
  write: (...args: A) => Promise<T>,
  agentsOf: (args: A, result: T | undefined) => Array<string | undefined> | undefined,
): (...args: A) => Promise<T> {
  return async (...args: A): Promise<T> => {
    let result: T | undefined;
    try {
      result = await write(...args);
      return result;
    } finally {
      const agents = agentsOf(args, result);
      if (!agents || agents.some((id) => id === undefined)) accessWritten(connection);
      else for (const id of new Set(agents)) accessWritten(connection, id);
    }
  };
}
