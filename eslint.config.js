import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Platform and persistence packages that must never reach the platform-free core. */
const forbiddenInCore = [
  { group: ['@slack/*'], message: 'src/core is platform-free: Slack belongs in src/channels/slack.' },
  { group: ['@microsoft/agents-*'], message: 'src/core is platform-free: Teams belongs in src/channels/teams.' },
  { group: ['mongoose', 'mongoose/*', 'mongodb'], message: 'src/core is persistence-free: use a repository port from src/store.' },
  { group: ['agenda', '@agendajs/*'], message: 'src/core is scheduler-free: timers belong in src/jobs.' },
];

/** A relative import path (`./x`, `../x`, `../../x`), before the directory it reaches into. */
const REL = '^(\\./|(\\.\\./)+)';

/** The core and the flow engine reach nothing built around them: the store, chat, jobs, HTTP and the composition implement their ports. */
const layersOutsideCore = [
  {
    regex: `${REL}store/`,
    message:
      'src/core and src/flows are persistence-free: depend on a port (src/core/ports.ts, a repository interface), which src/store implements.',
  },
  { regex: `${REL}channels/`, message: 'src/core and src/flows are platform-free: chat belongs in src/channels.' },
  {
    regex: `${REL}jobs/`,
    message: 'src/core and src/flows are scheduler-free: depend on a timers port; its Agenda jobs live in src/jobs.',
  },
  { regex: `${REL}(http|api|scim)/`, message: 'src/core and src/flows know no HTTP: routes belong in src/http, src/api, src/scim.' },
  { regex: `${REL}compose\\.js$`, message: 'src/core and src/flows are built by src/compose.ts, never the other way round.' },
  {
    regex: `${REL}(cards|views)/`,
    message:
      'src/core and src/flows build no cards: ask a presenter port (FlowPresenter in src/flows/types.ts, the ports beside each service), which src/views implements.',
  },
];

/** The views turn records into view-models: given what they show, they read no store, and know no channel or job. */
const layersOutsideViews = [
  { regex: `${REL}store/`, message: 'src/views reads no store: a builder is given the records it shows.' },
  { regex: `${REL}channels/`, message: 'src/views is platform-free: a channel adapter renders and sends what a view built.' },
  { regex: `${REL}jobs/`, message: 'src/views knows no jobs: a job asks a view for its card.' },
];

/**
 * Roster is wired in one place, src/compose.ts: elsewhere nothing creates a repository, builds a
 * channel adapter, or defines or schedules an Agenda job.
 */
const concreteStore = {
  regex: `${REL}store/`,
  importNamePattern: '^create',
  message: 'Repositories are created in one place, src/compose.ts (createStore): take the port you need as a dependency.',
};
const channelFactories = {
  regex: `${REL}channels/(slack|teams)/index\\.js$`,
  message: 'Channel adapters are built by src/compose.ts, from the factories src/main.ts passes it.',
};
const jobModules = {
  regex: `${REL}jobs/`,
  allowTypeImports: true,
  message: 'Jobs are defined in src/jobs (one file each, listed in src/jobs/index.ts) and wired by src/compose.ts only.',
};
const agendaPackage = {
  group: ['agenda', '@agendajs/*'],
  allowTypeImports: true,
  message: 'Agenda belongs in src/jobs (one file per job); src/compose.ts wires it.',
};
const compositionOnly = [concreteStore, channelFactories, jobModules, agendaPackage];

/** What chat code holds no matter the platform (the shared chat layer, commands, views, interaction) imports no platform SDK. */
const platformSdks = [
  { group: ['@slack/*'], message: 'Shared chat code is platform-free: Slack belongs in src/channels/slack.' },
  { group: ['@microsoft/agents-*'], message: 'Shared chat code is platform-free: Teams belongs in src/channels/teams.' },
];

/**
 * src/commands runs a person's command whatever the door: it knows no platform, no chat layer and
 * no card, so a handler can be called as well by the CLI, the agent API or MCP as by a click.
 */
const outsideCommands = [
  { regex: `${REL}channels/`, message: 'src/commands knows no chat: the channels parse and render, the bus runs commands.' },
  {
    regex: `${REL}(cards|views|interaction)/`,
    message: 'src/commands returns results, never cards: views build cards from what a command returns.',
  },
];

/**
 * src/core/policies.ts holds the who-may rules as pure functions: it reads core types (and the
 * directory's Person and OrgConfig types) and throws core's coded errors, nothing else, so a rule
 * can never reach for a store, the directory or a platform.
 */
const onlyTypesInPolicies = [
  {
    regex: '^(?!\\./[\\w.-]+$|\\.\\./config/schemas\\.js$)',
    message: 'src/core/policies.ts reads core types only: pass what a rule needs as an argument.',
  },
  {
    regex: '^(\\./(?!errors\\.js$)[\\w.-]+|\\.\\./config/schemas\\.js)$',
    allowTypeImports: true,
    message: 'src/core/policies.ts imports types only (and the coded errors): a rule is a pure function.',
  },
];

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.test-build-*/', 'data/', '.cache/', 'coverage/', 'test/fixtures/lint/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        fetch: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // Later entries replace earlier ones' no-restricted-imports for the files they match: from the widest to the narrowest.
  {
    files: ['src/**/*.ts'],
    ignores: ['src/compose.ts', 'src/main.ts', 'src/store/**', 'src/jobs/**', 'src/cli/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: compositionOnly }] },
  },
  {
    // A platform adapter keeps its own records (conversation references, delivery keys).
    files: ['src/channels/slack/**/*.ts', 'src/channels/teams/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [channelFactories, jobModules, agendaPackage] }] },
  },
  {
    files: ['src/channels/*.ts', 'src/commands/**/*.ts', 'src/views/**/*.ts', 'src/interaction/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [...platformSdks, ...compositionOnly] }] },
  },
  {
    files: ['src/commands/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [...platformSdks, ...outsideCommands, ...compositionOnly] }] },
  },
  {
    files: ['src/views/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [...platformSdks, ...compositionOnly, ...layersOutsideViews] }] },
  },
  {
    files: ['src/core/**/*.ts', 'src/flows/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [...forbiddenInCore, ...layersOutsideCore] }] },
  },
  {
    files: ['src/core/policies.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: onlyTypesInPolicies }] },
  },
);
