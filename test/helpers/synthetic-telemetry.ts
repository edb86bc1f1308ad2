/** The deterministic telemetry generator lives in src/demo (the demo seed uses it too). */
export * from '../../src/demo/synthetic-telemetry.js';
