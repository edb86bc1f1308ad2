import { randomBytes } from 'node:crypto';
import mongoose, { type ConnectOptions, type Connection } from 'mongoose';

export interface TestDb {
  readonly connection: Connection;
  readonly uri: string;
  readonly dbName: string;
  /** Drops the database and closes the connection. */
  close(): Promise<void>;
}

/** The server started by the global setup (or ROSTER_TEST_MONGODB_URI). */
export function testMongoUri(): string {
  const uri = process.env.ROSTER_TEST_MONGODB_URI;
  if (!uri) throw new Error('ROSTER_TEST_MONGODB_URI is not set: run the tests through `npm test`.');
  return uri;
}

/** A fresh, uniquely named database on the shared test server, over TCP like production. */
export function uniqueDbName(prefix = 't'): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/**
 * Opens `dbName` on the test server as Roster opens its own database (src/store/database.ts): a
 * collection comes into being with its first index or write, never by Mongoose's `create` per
 * model. On the embedded server `create` is not atomic with a concurrent first write to the same
 * collection (it checks, then registers the collection and adds its _id index without the lock
 * the write takes), so a test inserting right after making a repository could lose the document
 * to reads by _id, or see the insert fail with "Unknown error: null". Under load this lost the
 * agent of test/resilience/outbox-crash-timers.test.ts, and with it every sponsor notice.
 */
export function connectTestDb(dbName: string, options: Omit<ConnectOptions, 'dbName'> = {}, uri = testMongoUri()): Promise<Connection> {
  return mongoose.createConnection(uri, { serverSelectionTimeoutMS: 5000, ...options, dbName, autoCreate: false }).asPromise();
}

export async function openTestDb(prefix?: string): Promise<TestDb> {
  const uri = testMongoUri();
  const dbName = uniqueDbName(prefix);
  const connection = await connectTestDb(dbName);
  return {
    connection,
    uri,
    dbName,
    async close() {
      await connection.dropDatabase().catch(() => undefined);
      await connection.close();
    },
  };
}

/**
 * `uri` with the driver's command monitoring on: it is a client option, so set in the URI Roster
 * connects with, Roster's own connection then emits `commandStarted` for every command it sends.
 */
export function monitoredUri(uri: string): string {
  // A URI without a path gets the `/` the connection-string format puts before its options.
  return `${uri}${/^mongodb:\/\/[^/]+$/.test(uri) ? '/' : ''}${uri.includes('?') ? '&' : '?'}monitorCommands=true`;
}

/**
 * A command Roster sends whatever anyone does (Agenda's polling of its jobs, the outbox worker's
 * periodic scan for due effects, connection upkeep): left out when counting what an operation
 * costs, so that the count does not depend on how long the operation took.
 */
export function isBackgroundCommand(e: { commandName: string; command: Record<string, unknown> }): boolean {
  const collection = e.command[e.commandName];
  // `ismaster` in lower case is the handshake opening a connection: command monitoring never reports
  // it, a proxy reading the wire sees it when sent as OP_MSG (test/helpers/db-proxy.ts; the bench's
  // Roster sent some under load).
  if (collection === 'agendaJobs' || ['hello', 'isMaster', 'ismaster', 'ping', 'endSessions'].includes(e.commandName)) return true;
  const filter = e.command.filter as Record<string, unknown> | undefined;
  return e.commandName === 'find' && !!filter && 'outbox.due' in filter;
}
