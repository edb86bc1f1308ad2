import path from 'node:path';
import { EmbeddedMongoError, resolveClasspath } from './embedded-mongo.js';

/**
 * `npm run embedded-mongo:fetch`: fetches and verifies the embedded database's jars ahead of time
 * (CI runs it before the tests, which never download anything).
 */
try {
  const classpath = await resolveClasspath();
  console.log(`Embedded database ready: ${classpath.split(path.delimiter).length} jars cached and verified.`);
} catch (err) {
  if (!(err instanceof EmbeddedMongoError)) throw err;
  console.error(`embedded-mongo:fetch: ${err.message}`);
  process.exitCode = 1;
}
