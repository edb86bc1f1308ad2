import type { Connection } from 'mongoose';
import type { AgentAccessRecords } from '../core/live-scopes.js';
import { agentFromDoc, grantFromDoc } from './agent-store.js';
import type { AgentId } from '../core/ids.js';

/**
 * What the agent API decides an agent's calls from, in one round trip: its document, with its
 * grants and its boundary changes looked up by their `agentId` indexes (the changes filtered to
 * the approved ones here: a handful per agent, asked for in chat). Undefined for an agent that
 * does not exist.
 */
export function liveAccessReader(connection: Connection): (agentId: AgentId) => Promise<AgentAccessRecords | undefined> {
  return async (agentId) => {
    if (typeof agentId !== 'string') return undefined;
    const [doc] = await connection
      .collection('agents')
      .aggregate([
        { $match: { _id: agentId } },
        { $lookup: { from: 'grants', localField: '_id', foreignField: 'agentId', as: 'grants' } },
        { $lookup: { from: 'boundary_changes', localField: '_id', foreignField: 'agentId', as: 'boundaryChanges' } },
      ])
      .toArray();
    if (!doc) return undefined;
    const { grants, boundaryChanges, ...agent } = doc as Record<string, unknown> & {
      grants: Array<Record<string, unknown>>;
      boundaryChanges: Array<Record<string, unknown>>;
    };
    return {
      agent: agentFromDoc(agent),
      grants: grants.map(grantFromDoc),
      boundaries: boundaryChanges
        .filter((c) => c.status === 'approved')
        .map((c) => ({ id: String(c._id), action: String(c.action), to: c.to as never, createdAt: String(c.createdAt) })),
    };
  };
}
