import { randomBytes } from 'node:crypto';
import mongoose, { type Connection } from 'mongoose';

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

export async function openTestDb(prefix?: string): Promise<TestDb> {
  const uri = testMongoUri();
  const dbName = uniqueDbName(prefix);
  const connection = await mongoose.createConnection(uri, { dbName, serverSelectionTimeoutMS: 5000 }).asPromise();
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
