import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import mongoose, { type Connection } from 'mongoose';
import type { Logger } from '../logger.js';
import { EmbeddedMongoError, startEmbeddedMongo, type EmbeddedMongo } from './embedded/embedded-mongo.js';
import type { ProgressStream } from '../progress.js';

export interface DatabaseSettings {
  /** A real MongoDB 6+ deployment; when absent the embedded server is started. */
  uri?: string;
  /** Data directory for the embedded server's H2 file. */
  dataDir: string;
  /** `h2` keeps local data across restarts; `memory` is for tests. */
  embeddedBackend?: 'h2' | 'memory';
  /** Database name; defaults to the one in the URI, else `roster`. */
  dbName?: string;
  /**
   * When a running Roster already serves the embedded database of `dataDir`, connect to it (the CLI)
   * instead of refusing with one line (a second Roster). H2 lets one process open the file.
   */
  shareRunning?: boolean;
  /** Where the first run's download progress goes (standard error by default). */
  downloadProgress?: { stream?: ProgressStream; tty?: boolean; silent?: boolean };
}

export interface Database {
  readonly connection: Connection;
  /** Set when Roster started the embedded server. */
  readonly embedded?: EmbeddedMongo;
  /** Set when this process uses the embedded server of a running Roster (the CLI while Roster runs). */
  readonly sharedWith?: RunningEmbedded;
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
  let sharedWith: RunningEmbedded | undefined;
  let uri = settings.uri;
  const backend = settings.embeddedBackend ?? 'h2';
  const stateFile = path.resolve(settings.dataDir, EMBEDDED_STATE_FILE);
  if (!uri && backend === 'h2') {
    const running = await findRunningEmbedded(settings.dataDir);
    if (running && !settings.shareRunning) {
      throw new EmbeddedMongoError(
        `the embedded database in ${path.resolve(settings.dataDir)} is in use by a running Roster (pid ${running.pid}, database port ${running.port}). ` +
          'Stop it, or set ROSTER_DATA_DIR to another directory.',
      );
    }
    if (running) {
      sharedWith = running;
      uri = `mongodb://127.0.0.1:${running.port}`;
      log.info({ pid: running.pid, port: running.port }, 'using the embedded database of the running Roster');
    }
  }
  if (!uri) {
    const file = path.resolve(settings.dataDir, 'roster.h2.mv.db');
    log.info({ backend, file: backend === 'h2' ? file : undefined }, 'MONGODB_URI is unset: starting the embedded database');
    embedded = await startEmbeddedMongo({
      backend,
      file,
      onProgress: (line) => log.info(line),
      ...(settings.downloadProgress ? { downloadProgress: settings.downloadProgress } : {}),
    });
    uri = embedded.uri;
    log.info({ pid: embedded.pid, port: embedded.port }, 'embedded database started');
    if (backend === 'h2') {
      const state: RunningEmbedded = { pid: process.pid, port: embedded.port, javaPid: embedded.pid, startedAt: new Date().toISOString() };
      writeFileSync(stateFile, `${JSON.stringify(state)}\n`);
    }
  }
  const forgetState = (): void => {
    if (!embedded || backend !== 'h2') return;
    try {
      if ((JSON.parse(readFileSync(stateFile, 'utf8')) as RunningEmbedded).pid === process.pid) rmSync(stateFile, { force: true });
    } catch {
      // Already gone, or rewritten by another process: not ours to remove.
    }
  };
  try {
    const connection = await mongoose
      .createConnection(uri, {
        dbName: settings.dbName ?? (embedded || sharedWith || !hasDatabaseInUri(uri) ? 'roster' : undefined),
        serverSelectionTimeoutMS: 10_000,
        autoIndex: true,
        // Collections come into being with their first index or write. Mongoose's explicit
        // createCollection per model raced the index builds on the embedded server's file backend,
        // which answers a concurrent create with "Unknown error" instead of NamespaceExists, and
        // Roster failed to start (seen once in eight db-outage runs).
        autoCreate: false,
      })
      .asPromise();
    log.info({ db: connection.name, embedded: Boolean(embedded) }, 'database connected');
    return {
      connection,
      embedded,
      ...(sharedWith ? { sharedWith } : {}),
      async ping(timeoutMs = 2000) {
        // No short cut on `readyState`: after an outage Mongoose reports "disconnected" until the
        // driver's monitor looks again (every 10 s), while a command asks it to look at once, so
        // readiness comes back as soon as the database does.
        const db = connection.db;
        if (!db) return false;
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
        forgetState();
        await embedded?.stop();
      },
    };
  } catch (err) {
    forgetState();
    await embedded?.stop();
    throw err;
  }
}

/** Written to the data directory while a Roster serves its embedded database. */
export const EMBEDDED_STATE_FILE = 'embedded-mongo.json';

/** What a running Roster records about the embedded database it started. */
export interface RunningEmbedded {
  /** The Roster process. */
  pid: number;
  /** The embedded server's port on 127.0.0.1. */
  port: number;
  javaPid: number;
  startedAt: string;
}

/**
 * The embedded database a running Roster serves for `dataDir`, when its state file names a live
 * process whose port answers a MongoDB ping; a stale file (Roster was killed) is ignored.
 */
export async function findRunningEmbedded(dataDir: string): Promise<RunningEmbedded | undefined> {
  const file = path.resolve(dataDir, EMBEDDED_STATE_FILE);
  if (!existsSync(file)) return undefined;
  let state: RunningEmbedded;
  try {
    state = JSON.parse(readFileSync(file, 'utf8')) as RunningEmbedded;
  } catch {
    return undefined;
  }
  if (!Number.isInteger(state.port) || !Number.isInteger(state.pid) || state.pid === process.pid) return undefined;
  try {
    process.kill(state.pid, 0);
  } catch (err) {
    // EPERM: the process exists but belongs to another user.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  const probe = mongoose.createConnection(`mongodb://127.0.0.1:${state.port}`, { serverSelectionTimeoutMS: 2000, dbName: 'roster' });
  try {
    await probe.asPromise();
    await probe.db!.command({ ping: 1 });
    return state;
  } catch {
    return undefined;
  } finally {
    await probe.close().catch(() => undefined);
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
