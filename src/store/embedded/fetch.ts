import { resolveClasspath } from './embedded-mongo.js';

/** `npm run embedded-mongo:fetch`: resolves the embedded database's jars ahead of time (used by CI). */
const classpath = resolveClasspath({ onProgress: (line) => console.log(line) });
console.log(`Embedded database ready: ${classpath.split(':').length} jars cached.`);
