import path from 'node:path';
import mongoose, { type Connection } from 'mongoose';
import type { Logger } from '../logger.js';
import { startEmbeddedMongo, type EmbeddedMongo } from './embedded/embedded-mongo.js';

export interface DatabaseSettings {
  /** A real MongoDB 6+ deployment; when absent the embedded server is started. */
  uri?: string;
  /** Data directory for the embedded server's H2 file. */
  dataDir: string;
  /** `h2` keeps local data across restarts; `memory` is for tests. */
  embeddedBackend?: 'h2' | 'memory';
  /** Database name; defaults to the one in the URI, else `roster`. */
  dbName?: string;
}

export interface Database {
  readonly connection: Connection;
  /** Set when Roster started the embedded server. */
  readonly embedded?: EmbeddedMongo;
  /** Resolves true when the server answers a ping within the timeout. */
  ping(timeoutMs?: number): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Connects mongoose to MONGODB_URI, or starts the embedded MongoDB-compatible server first.
 * Uses a dedicated connection (not mongoose's global one) so tests can open several.
 */
export async function openDatabase(settings: DatabaseSettings, log: Logger): Promise<Database> {
  let embedded: EmbeddedMongo | undefined;
  let uri = settings.uri;
  if (!uri) {
    const backend = settings.embeddedBackend ?? 'h2';
    const file = path.resolve(settings.dataDir, 'roster.h2.mv.db');
    log.info({ backend, file: backend === 'h2' ? file : undefined }, 'MONGODB_URI is unset: starting the embedded database');
    embedded = await startEmbeddedMongo({
      backend,
      file,
      onProgress: (line) => log.info(line),
    });
    uri = embedded.uri;
    log.info({ pid: embedded.pid, port: embedded.port }, 'embedded database started');
  }
  try {
    const connection = await mongoose
      .createConnection(uri, {
        dbName: settings.dbName ?? (embedded || !hasDatabaseInUri(uri) ? 'roster' : undefined),
        serverSelectionTimeoutMS: 10_000,
        autoIndex: true,
      })
      .asPromise();
    log.info({ db: connection.name, embedded: Boolean(embedded) }, 'database connected');
    return {
      connection,
      embedded,
      async ping(timeoutMs = 2000) {
        const db = connection.db;
        if (!db || connection.readyState !== 1) return false;
        let timer: NodeJS.Timeout | undefined;
        try {
          const timeout = new Promise<false>((resolve) => {
            timer = setTimeout(() => resolve(false), timeoutMs);
          });
          const ok = db
            .command({ ping: 1 })
            .then(() => true)
            .catch(() => false);
          return await Promise.race([ok, timeout]);
        } finally {
          clearTimeout(timer);
        }
      },
      async close() {
        await connection.close().catch((err: unknown) => log.warn({ err }, 'closing the database connection failed'));
        await embedded?.stop();
      },
    };
  } catch (err) {
    await embedded?.stop();
    throw err;
  }
}

/**
 * The database did not answer in time, or the connection is known to be down. `userTitle` and
 * `userMessage` are what a person in chat is told.
 */
export class DatabaseUnavailableError extends Error {
  static readonly userTitle = 'Roster is unavailable for a moment';
  static readonly userMessage = "Roster can't reach its database right now, so nothing was done. Please try again in a minute.";
  override readonly name = 'DatabaseUnavailableError';
}

/**
 * Runs `work` and gives up with {@link DatabaseUnavailableError} at once when `connection` is known
 * to be down, or after `timeoutMs`. For the few writes a chat delivery needs before it can be
 * answered: Slack wants its acknowledgement within 3 s, while the driver waits 10 s for a server
 * that is gone and longer for one that hangs. `work` is not cancelled; a late failure is dropped.
 */
export async function answerWithin<T>(connection: Connection | undefined, timeoutMs: number, work: () => Promise<T>): Promise<T> {
  if (connection && connection.readyState !== 1) throw new DatabaseUnavailableError('the database connection is not open');
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DatabaseUnavailableError(`the database did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  const running = work();
  try {
    return await Promise.race([running, timeout]);
  } finally {
    clearTimeout(timer);
    running.catch(() => undefined);
  }
}

function hasDatabaseInUri(uri: string): boolean {
  const withoutScheme = uri.replace(/^mongodb(\+srv)?:\/\//, '');
  const slash = withoutScheme.indexOf('/');
  if (slash < 0) return false;
  const db = withoutScheme.slice(slash + 1).split('?')[0] ?? '';
  return db.length > 0;
}
