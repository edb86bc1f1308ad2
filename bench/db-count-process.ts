/*
 * The count of Roster's database commands for `npm run bench`, in a process of its own: Roster
 * (bench/roster-process.ts) connects through this TCP proxy, which reads each command's name and
 * collection from the bytes passing through (test/helpers/db-proxy.ts). Roster's process does no
 * work for it: the driver's command monitoring, used before, decoded every reply twice in Roster's
 * process (about 8% of a sweep's CPU, and heap besides).
 */
import { isBackgroundCommand } from '../test/helpers/db.js';
import { DbProxy } from '../test/helpers/db-proxy.js';
import { serveBench } from './ipc.js';

let proxy: DbProxy | undefined;
/** Commands sent through the proxy, Agenda's polling, the outbox worker's scans and connection upkeep left out. */
let commands = 0;
const byKind = new Map<string, number>();

serveBench({
  /** Starts the proxy in front of `uri` (one host: the embedded server, or a standalone); resolves `uri` through it. */
  async start(uri: string) {
    const target = new URL(uri);
    if (target.protocol !== 'mongodb:' || target.host.includes(','))
      throw new Error('the bench counts commands through a proxy in front of one host: set MONGODB_URI to mongodb://host:port/…');
    proxy = await DbProxy.start(uri);
    proxy.onCommand((e) => {
      // Agenda's polling, the outbox worker's scan for due effects (one find per holder collection
      // every few seconds) and connection upkeep run whatever the load: left out, so that commands
      // per operation do not depend on its duration.
      if (isBackgroundCommand(e)) return;
      const collection = e.command[e.commandName];
      commands += 1;
      const kind = `${e.commandName} ${typeof collection === 'string' ? collection : ''}`.trim();
      byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
    });
    target.host = new URL(proxy.uri).host;
    return target.toString();
  },

  commands: () => commands,

  /** Commands by kind (`find flow_runs` …) since the last call. */
  commandKinds() {
    const kinds = Object.fromEntries([...byKind].sort((a, b) => b[1] - a[1]));
    byKind.clear();
    return kinds;
  },

  stop: () => proxy?.close(),
});
