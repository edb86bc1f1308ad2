/**
 * The platform-free services a running Roster hands its chat layer, channels and agent API: their
 * types only. They are built, with everything else, in one place: src/compose.ts.
 */
export type { Services, Supervision } from './compose.js';
