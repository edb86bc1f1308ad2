import { z } from 'zod';
import { durationSchema } from './duration.js';
import { formatMismatch, describeValue } from './zod-messages.js';
import { isTimeZone, WEEKDAYS, type Weekday } from '../core/time.js';

/*
 * Zod schemas for the four organisation configuration files, each with its inferred type
 * beside it. Every object is strict: an unknown field is an error, so a typo such as
 * `default_scopes` is reported rather than silently ignored. Durations parse to
 * `{ text, ms }` (see duration.ts). Cross-file references are checked in cross-references.ts.
 */

const nonEmpty = z.string().trim().min(1);

/** A lowercase identifier such as `customer-support` or `ai-ops`. */
const cronField = /^(\*|[0-9,\-*/]+)$/;
/** An IANA time zone such as `Europe/Berlin` (or `UTC`), as this runtime knows them. */
export const timeZoneSchema = z.string().refine(isTimeZone, 'expected an IANA time zone such as Europe/Berlin');

/** A time of day, 24-hour `HH:MM` (`24:00` is the end of the day). */
const timeOfDaySchema = z.string().regex(/^(([01]\d|2[0-3]):[0-5]\d|24:00)$/, { error: formatMismatch('a time of day like "09:00"') });

/**
 * When people may be sent reminders that can wait (grant expiry reminders, approval reminders,
 * check-in reviews), in each person's own zone: Monday to Friday, 09:00 to 17:00 by default.
 * On-call pages never wait.
 */
export const workingHoursSchema = z
  .strictObject({
    start: timeOfDaySchema.default('09:00'),
    end: timeOfDaySchema.default('17:00'),
    days: z
      .array(z.enum(WEEKDAYS))
      .min(1)
      .default((): Weekday[] => ['mon', 'tue', 'wed', 'thu', 'fri']),
  })
  .refine((h) => h.end > h.start, { error: 'end must be later than start', path: ['end'] });
/** Working hours, see {@link workingHoursSchema}. */
export type WorkingHoursSetting = z.output<typeof workingHoursSchema>;

/** An interval such as `15 minutes`, or a five-field cron expression with an optional IANA time zone. */
const cadenceSchema = z.union([
  z.string().regex(/^\d+(\.\d+)? ?(seconds?|minutes?|hours?|days?|weeks?)$/, 'expected an interval such as "15 minutes"'),
  z
    .object({
      cron: z.string().refine(
        (v) =>
          v.trim().split(/\s+/).length === 5 &&
          v
            .trim()
            .split(/\s+/)
            .every((f) => cronField.test(f)),
        'expected a five-field cron expression such as "0 3 * * *"',
      ),
      timezone: timeZoneSchema.optional(),
    })
    .strict(),
]);

export const slugSchema = z.string().regex(/^[a-z][a-z0-9-]*$/, { error: formatMismatch('a lowercase id like "customer-support"') });

/** An e-mail address, normalised to lower case. */
export const emailSchema = z.email({ error: formatMismatch('an e-mail address') }).transform((email) => email.toLowerCase());

/** Pattern of a scope id: `system:permission`, possibly with more segments (`finance:ledger:write`). */
export const SCOPE_ID_PATTERN = /^[a-z][a-z0-9-]*(?::[a-z][a-z0-9-]*)+$/;

/** A scope id such as `crm:read` or `finance:ledger:write`. */
export const scopeIdSchema = z.string().regex(SCOPE_ID_PATTERN, {
  error: formatMismatch('a scope id "system:permission" like "crm:read" (lowercase, colon-separated)'),
});

/** Risk level of a scope or catalog role. */
export const riskLevelSchema = z.enum(['low', 'medium', 'high']);
/** Risk level of a scope or catalog role. */
export type RiskLevel = z.output<typeof riskLevelSchema>;

/** Class of data a scope or agent touches. */
export const dataClassSchema = z.enum(['pii', 'financial', 'health', 'public', 'internal']);
/** Class of data a scope or agent touches. */
export type DataClass = z.output<typeof dataClassSchema>;

/** Regulation a catalog role falls under. */
export const regulationSchema = z.enum([
  'gdpr',
  'ccpa',
  'hipaa',
  'sox',
  'eu-ai-act',
  'pci-dss',
  'glba',
  'lgpd',
  'pipeda',
  'iso-42001',
  'nist-ai-rmf',
]);
/** Regulation a catalog role falls under. */
export type Regulation = z.output<typeof regulationSchema>;

/** Chat platform a person prefers to be reached on. */
export const channelSchema = z.enum(['slack', 'teams']);
/** Chat platform a person prefers to be reached on. */
export type Channel = z.output<typeof channelSchema>;

/**
 * Alert escalation policy: re-notify the current level every `renotifyMinutes`, climb to the
 * next level after `escalateAfterMinutes` without acknowledgement, and after the last level
 * start again from level 1 at most `maxLoops` times.
 */
export const escalationSchema = z.strictObject({
  /** The rotation paged (its levels in order); the organisation's `settings.alertRotation` when absent. */
  rotation: slugSchema.optional(),
  renotifyMinutes: z.number().int().positive(),
  escalateAfterMinutes: z.number().int().positive(),
  maxLoops: z.number().int().min(0),
});
/** Alert escalation policy, see {@link escalationSchema}. */
export type Escalation = z.output<typeof escalationSchema>;

// ---------------------------------------------------------------------------------------------
// config/org.yaml

/** A business unit that requests and pays for agents. */
export const businessUnitSchema = z.strictObject({
  id: slugSchema,
  name: nonEmpty,
});
/** A business unit, see {@link businessUnitSchema}. */
export type BusinessUnit = z.output<typeof businessUnitSchema>;

/** The name of an environment variable holding a secret (the secret itself never goes in a file). */
const envNameSchema = z
  .string()
  .regex(/^[A-Z][A-Z0-9_]{0,99}$/, { error: formatMismatch('an environment variable name such as PAGERDUTY_ROUTING_KEY') });
/** A base URL replacing the vendor's (tests point it at a local fake; production accepts only the vendor's https hosts). */
const pagerBaseUrlSchema = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' });

/**
 * Where a rotation is paged besides chat. PagerDuty: an Events API v2 integration's routing key;
 * acknowledgements come back on `/pager/pagerduty`, signed with the V3 webhook subscription's
 * secret. Opsgenie: an API integration's key and the account's region; acknowledgements come back
 * on `/pager/opsgenie` from an outgoing webhook carrying the shared secret (a header or basic auth).
 */
export const pagerSchema = z.discriminatedUnion('provider', [
  z.strictObject({
    provider: z.literal('pagerduty'),
    routingKeyEnv: envNameSchema,
    webhookSecretEnv: envNameSchema.optional(),
    baseUrl: pagerBaseUrlSchema.optional(),
  }),
  z.strictObject({
    provider: z.literal('opsgenie'),
    apiKeyEnv: envNameSchema,
    region: z.enum(['us', 'eu']).default('us'),
    webhookSecretEnv: envNameSchema.optional(),
    baseUrl: pagerBaseUrlSchema.optional(),
  }),
]);
/** A rotation's pager, see {@link pagerSchema}. */
export type PagerConfig = z.output<typeof pagerSchema>;

/**
 * An on-call rotation: `levels[0]` is paged first, `levels[1]` when level 1 does not
 * acknowledge, and so on. Each level lists one or more people by e-mail.
 */
export const rotationSchema = z.strictObject({
  id: slugSchema,
  name: nonEmpty,
  levels: z.array(z.array(emailSchema).min(1)).min(1),
  /** Also page this rotation through PagerDuty or Opsgenie (see {@link pagerSchema}). */
  pager: pagerSchema.optional(),
});
/** An on-call rotation, see {@link rotationSchema}. */
export type Rotation = z.output<typeof rotationSchema>;

/** How often access grants are reviewed. */
export const reviewCadenceSchema = z.enum(['monthly', 'quarterly', 'semiannual', 'annual']);

/**
 * Where Roster may reach agents under evaluation. `allowedHosts` lists host names, `*.domain`
 * wildcards or IP addresses; nothing is allowed by default. A name must also resolve to a public
 * address unless that address is listed itself (no reaching internal services through an
 * evaluation). `maxAnswerBytes` caps what one answer may weigh.
 */
export const evaluationSettingsSchema = z.strictObject({
  allowedHosts: z
    .array(
      z
        .string()
        .trim()
        .toLowerCase()
        .regex(/^(?:\*\.)?[a-z0-9.-]+$|^\[?[0-9a-f:.]+\]?$/, { error: formatMismatch('a host name, *.domain or an IP address') }),
    )
    .default(() => []),
  maxAnswerBytes: z.number().int().min(1024).max(10_485_760).default(262_144),
});
/** Evaluation settings, see {@link evaluationSettingsSchema}. */
export type EvaluationSettings = z.output<typeof evaluationSettingsSchema>;

/** One rate limit: at most `requests` per `per` for one principal (a short burst may use them at once). */
export const rateLimitSchema = z.strictObject({
  requests: z.number().int().positive().max(1_000_000),
  per: durationSchema,
});
/** One rate limit, see {@link rateLimitSchema}. */
export type RateLimit = z.output<typeof rateLimitSchema>;

/**
 * Per-principal rate limits of every door: a person in chat (Slack and Teams), a telemetry key,
 * and the client address on routes without authentication (health, metrics, dashboard links,
 * Slack and Teams deliveries before their signature is checked).
 */
export const rateLimitsSchema = z.strictObject({
  chat: rateLimitSchema.prefault({ requests: 30, per: '1m' }),
  /**
   * Picker searches as a person types (Slack external selects, Teams typeahead), a keystroke
   * each; unset: 120 a minute ({@link DEFAULT_SEARCH_RATE_LIMIT}).
   */
  search: rateLimitSchema.optional(),
  telemetry: rateLimitSchema.prefault({ requests: 600, per: '1m' }),
  anonymous: rateLimitSchema.prefault({ requests: 600, per: '1m' }),
});
/** The picker search limit when `rateLimits.search` is not set. */
export const DEFAULT_SEARCH_RATE_LIMIT: RateLimit = { requests: 120, per: { text: '1m', ms: 60_000 } };
/** Per-principal rate limits, see {@link rateLimitsSchema}. */
export type RateLimits = z.output<typeof rateLimitsSchema>;

/**
 * How often break-glass may be used before it needs a normal access request: at most `perAgent`
 * uses for one agent and `perPerson` uses by one person within any `window`.
 */
export const breakGlassLimitsSchema = z.strictObject({
  perAgent: z.number().int().min(1).max(100).default(2),
  perPerson: z.number().int().min(1).max(100).default(3),
  window: durationSchema.prefault('30d'),
});
/** Break-glass caps, see {@link breakGlassLimitsSchema}. */
export type BreakGlassLimits = z.output<typeof breakGlassLimitsSchema>;

/** Organisation-wide settings; everything except `alertRotation` has a default. */
export const orgSettingsSchema = z.strictObject({
  /** Rotation paged by alerts (drift, fairness, error spikes, shadow agents, …). */
  alertRotation: slugSchema,
  /** Longest TTL a break-glass grant may have. */
  breakGlassMaxTtl: durationSchema.prefault('4h'),
  /** Caps on break-glass uses per agent and per person (small by default: it is for emergencies). */
  breakGlassLimits: breakGlassLimitsSchema.prefault({}),
  accessReviewCadence: reviewCadenceSchema.default('quarterly'),
  /**
   * Cadences of the recurring jobs, each an interval (`15 minutes`) or a cron expression with an
   * optional IANA time zone (`{ cron: '0 3 * * *', timezone: Europe/Berlin }`). A cadence counts
   * from the job's last run, whatever the number of restarts. `accessReviews` overrides
   * `accessReviewCadence`.
   */
  schedules: z
    .object({
      accessReviews: cadenceSchema.optional(),
      checkinSweep: cadenceSchema.optional(),
      retrainingSweep: cadenceSchema.optional(),
      rawEventPurge: cadenceSchema.optional(),
      deliveryKeyPurge: cadenceSchema.optional(),
      /** Signing the audit chain's head (default every 15 minutes). */
      auditCheckpoints: cadenceSchema.optional(),
    })
    .strict()
    .default({}),
  /** Raw telemetry events older than this are deleted; aggregates are kept. */
  rawEventRetentionDays: z.number().int().positive().default(30),
  /** An agent without telemetry for this many days while holding access is flagged dormant. */
  dormantAgentDays: z.number().int().positive().default(90),
  defaultEscalation: escalationSchema.prefault({ renotifyMinutes: 15, escalateAfterMinutes: 30, maxLoops: 2 }),
  evaluation: evaluationSettingsSchema.prefault({}),

  /** How long an agent's previous key keeps working after **Rotate key** (so its platform can switch over). */
  keyRotationGrace: durationSchema.prefault('24h'),
  /** Most unregistered agent ids one platform key's "unregistered agents" alert lists (the rest are counted). */
  unregisteredAgentsListed: z.number().int().min(1).max(500).default(50),
  rateLimits: rateLimitsSchema.prefault({}),
  /** The zone times are shown in for people whose own zone Roster does not know (and on shared Teams posts). */
  timeZone: timeZoneSchema.default('UTC'),
  /** When reminders that can wait are delivered, in each person's zone. */
  workingHours: workingHoursSchema.prefault({}),
});
/** Organisation-wide settings, see {@link orgSettingsSchema}. */
export type OrgSettings = z.output<typeof orgSettingsSchema>;

/**
 * One identity-provider group and what membership of it means in Roster: directory roles (e.g.
 * group "Roster IT Admins" → `it-admin`) and/or the member's business unit. Group names are the
 * SCIM `displayName`, compared case-insensitively.
 */
export const groupMappingSchema = z.strictObject({
  group: nonEmpty,
  roles: z.array(nonEmpty).default(() => []),
  businessUnit: slugSchema.optional(),
});
/** One identity-provider group mapping, see {@link groupMappingSchema}. */
export type GroupMapping = z.output<typeof groupMappingSchema>;

/**
 * How people provisioned over SCIM become Roster people. A member's business unit is the first
 * mapping (in file order) of a group they belong to that names one; else their enterprise
 * `department` when it is a business unit's id or name; else `defaultBusinessUnit`.
 */
export const directorySettingsSchema = z.strictObject({
  defaultBusinessUnit: slugSchema,
  groups: z.array(groupMappingSchema).default(() => []),
});
/** Identity-provider mapping, see {@link directorySettingsSchema}. */
export type DirectorySettings = z.output<typeof directorySettingsSchema>;

/** The whole of `config/org.yaml`. */
export const orgFileSchema = z.strictObject({
  businessUnits: z.array(businessUnitSchema).min(1),
  rotations: z.array(rotationSchema).min(1),
  settings: orgSettingsSchema,
  directory: directorySettingsSchema.optional(),
});
/** The whole of `config/org.yaml`. */
export type OrgFile = z.output<typeof orgFileSchema>;

// ---------------------------------------------------------------------------------------------
// config/people.yaml

/**
 * A person in the directory, keyed by e-mail (lower-cased on load). `roles` holds directory
 * role strings (see roles.ts); `requester` is implicit for everyone. Teams ids are lower-cased.
 */
export const personSchema = z.strictObject({
  email: emailSchema,
  name: nonEmpty,
  slackUserId: z
    .string()
    .regex(/^[UW][A-Z0-9]{2,}$/, { error: formatMismatch('a Slack user id like "U024BE7LH"') })
    .optional(),
  teamsAadObjectId: z
    .guid({ error: formatMismatch('an AAD object id (GUID) like "8f2c1a4e-3b7d-4e6f-9a10-2c5d8e7f1b3a"') })
    .transform((id) => id.toLowerCase())
    .optional(),
  teamsUpn: emailSchema.optional(),
  businessUnit: slugSchema,
  manager: emailSchema.optional(),
  preferredChannel: channelSchema.optional(),
  /** The person's IANA time zone (e.g. `Europe/Berlin`), when the directory knows it; chat clients' own zones come first. */
  timeZone: timeZoneSchema.optional(),
  roles: z.array(nonEmpty).default(() => []),
});
/** A person in the directory, see {@link personSchema}. */
export type Person = z.output<typeof personSchema>;

/** The whole of `config/people.yaml`. */
export const peopleFileSchema = z.strictObject({
  people: z.array(personSchema).min(1),
});
/** The whole of `config/people.yaml`. */
export type PeopleFile = z.output<typeof peopleFileSchema>;

// ---------------------------------------------------------------------------------------------
// config/scopes.yaml

/**
 * A permission an agent can be granted. `requiredApprovers` lists directory roles (e.g.
 * `security`, `dpo`) and the request-relative roles `sponsor`, `data-owner` (owner of this
 * scope's system) and `approver` (approver of the agent's business unit); all must approve.
 * `maxTtl` caps the lifetime of a grant of this scope.
 */
export const scopeSchema = z.strictObject({
  id: scopeIdSchema,
  description: nonEmpty,
  risk: riskLevelSchema,
  dataClasses: z.array(dataClassSchema).min(1),
  requiredApprovers: z.array(nonEmpty).min(1),
  maxTtl: durationSchema,
  /**
   * Whether break-glass may grant this scope. When omitted, only scopes that are not high risk
   * and touch neither PII nor health data are eligible (see `isBreakGlassEligible`).
   */
  breakGlass: z.boolean().optional(),
});
/** A grantable permission, see {@link scopeSchema}. */
export type Scope = z.output<typeof scopeSchema>;

/** Whether break-glass may grant a scope: its explicit `breakGlass`, else only low- and medium-risk scopes without PII or health data. */
export function isBreakGlassEligible(scope: Pick<Scope, 'breakGlass' | 'risk' | 'dataClasses'>): boolean {
  if (scope.breakGlass !== undefined) return scope.breakGlass;
  return scope.risk !== 'high' && !scope.dataClasses.some((d) => d === 'pii' || d === 'health');
}

/** The whole of `config/scopes.yaml`. */
export const scopesFileSchema = z.strictObject({
  scopes: z.array(scopeSchema).min(1),
});
/** The whole of `config/scopes.yaml`. */
export type ScopesFile = z.output<typeof scopesFileSchema>;

// ---------------------------------------------------------------------------------------------
// config/catalog.yaml

/**
 * A forbidden scope: written either as a bare scope id or as `{ scope, reason }`; always
 * normalised to the object form. The reason is shown to whoever asks for the scope.
 */
export const forbiddenScopeSchema = z.preprocess(
  (value) => (typeof value === 'string' ? { scope: value } : value),
  z.strictObject(
    { scope: scopeIdSchema, reason: nonEmpty.optional() },
    {
      error: (iss) =>
        iss.code === 'invalid_type' ? `expected a scope id or { scope, reason }, got ${describeValue(iss.input)}` : undefined,
    },
  ),
);
/** A forbidden scope with its optional reason, see {@link forbiddenScopeSchema}. */
export type ForbiddenScope = z.output<typeof forbiddenScopeSchema>;

/** Thresholds an agent must meet in evaluation before it may be onboarded. */
export const evaluationSchema = z.strictObject({
  minAccuracy: z.number().min(0).max(1),
  maxP95LatencyMs: z.number().int().positive(),
  maxCostPerTaskUSD: z.number().min(0),
  /** Role-fit checklist items a reviewer ticks off. */
  roleFit: z.array(nonEmpty).min(1),
});
/** Evaluation thresholds, see {@link evaluationSchema}. */
export type EvaluationThresholds = z.output<typeof evaluationSchema>;

/**
 * Metrics a check-in compares against the baseline: `task-mix` is the distribution of task
 * types (population stability index), `fairness` the disparate-impact ratio per segment.
 */
export const driftMetricSchema = z.enum([
  'accuracy',
  'failure-rate',
  'handoff-rate',
  'p95-latency',
  'cost-per-task',
  'volume',
  'task-mix',
  'fairness',
]);
/** A metric watched for drift. */
export type DriftMetric = z.output<typeof driftMetricSchema>;

/**
 * Drift and fairness policy; every field has a default, so `drift:` may be omitted.
 * - `accuracyDropMin`: absolute accuracy drop versus baseline that counts as drift (0.05 = 5 points);
 * - `psiWatch` / `psiDegraded`: population stability index thresholds for watch / degraded;
 * - `pValue`: significance level for statistical tests;
 * - `minSamplesPerGroup`: segments with fewer events are not judged for fairness;
 * - `disparateImpactMin`: lowest acceptable disparate-impact ratio (four-fifths rule = 0.8).
 */
export const driftPolicySchema = z
  .strictObject({
    metrics: z
      .array(driftMetricSchema)
      .min(1)
      .default(() => [...driftMetricSchema.options]),
    accuracyDropMin: z.number().gt(0).max(1).default(0.05),
    psiWatch: z.number().positive().default(0.1),
    psiDegraded: z.number().positive().default(0.2),
    pValue: z.number().gt(0).lt(1).default(0.01),
    minSamplesPerGroup: z.number().int().positive().default(30),
    disparateImpactMin: z.number().gt(0).max(1).default(0.8),
  })
  .check((ctx) => {
    if (ctx.value.psiWatch >= ctx.value.psiDegraded) {
      ctx.issues.push({
        code: 'custom',
        path: ['psiDegraded'],
        input: ctx.value.psiDegraded,
        message: `must be greater than psiWatch (${ctx.value.psiWatch}), got ${ctx.value.psiDegraded}`,
      });
    }
  });
/** Drift and fairness policy, see {@link driftPolicySchema}. */
export type DriftPolicy = z.output<typeof driftPolicySchema>;

/**
 * A catalog role ("job description") business units may request. `defaultScopes` are granted
 * at onboarding and are implicitly allowed; `allowedScopes` may be requested later;
 * `forbiddenScopes` never. `businessUnits` omitted means every business unit may request it.
 * `flow` names the flow that handles a request (default `agent-request`).
 */
/**
 * What the role's model costs per million tokens, in USD: OTLP traces report token usage, and a
 * task's cost is its usage times these prices. Cache reads default to the input price.
 */
export const priceTableSchema = z.strictObject({
  inputPerMillionTokensUSD: z.number().min(0).max(10_000),
  outputPerMillionTokensUSD: z.number().min(0).max(10_000),
  cacheReadPerMillionTokensUSD: z.number().min(0).max(10_000).optional(),
});
/** A role's model prices, see {@link priceTableSchema}. */
export type PriceTable = z.output<typeof priceTableSchema>;

/** A named action an agent may take, e.g. `contracts.modify`: lowercase words joined by dots. */
export const actionNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]*(?:\.[a-z][a-z0-9-]*)+$/, { error: formatMismatch('an action name like "contracts.modify"') });

/** A structured detail an agent sends with a request: its type, label and limits. */
export const actionFieldSchema = z.strictObject({
  type: z.enum(['string', 'number', 'boolean']),
  /** Shown on the approval card; the field name when absent. */
  label: nonEmpty.max(60).optional(),
  required: z.boolean().default(false),
  /** Longest text (strings). */
  maxLength: z.number().int().positive().max(2000).default(500),
  min: z.number().optional(),
  max: z.number().optional(),
});
/** A declared detail field, see {@link actionFieldSchema}. */
export type ActionField = z.output<typeof actionFieldSchema>;

const fieldNameSchema = z.string().regex(/^[a-zA-Z][a-zA-Z0-9_]{0,39}$/, { error: formatMismatch('a field name like "amountUSD"') });

/**
 * Who decides a `needs-approval` action: `sponsor` (the agent's sponsors), `business-unit-approver`
 * (`approver:<the agent's business unit>`), or any directory role (`approver:finance`,
 * `oncall:<rotation>`, `it-admin`, …).
 */
export const boundaryApproverSchema = nonEmpty;

/** An amount threshold: the action needs approval only when the numeric field is above (or at least) the value. */
export const boundaryConditionSchema = z
  .strictObject({
    field: fieldNameSchema,
    above: z.number().optional(),
    atLeast: z.number().optional(),
  })
  .refine((c) => (c.above === undefined) !== (c.atLeast === undefined), { error: 'give exactly one of above or atLeast' });

const autonomousBoundarySchema = z.strictObject({
  mode: z.literal('autonomous'),
  title: nonEmpty.max(100).optional(),
  fields: z.record(fieldNameSchema, actionFieldSchema).default(() => ({})),
});
const forbiddenBoundarySchema = z.strictObject({
  mode: z.literal('forbidden'),
  title: nonEmpty.max(100).optional(),
  /** Shown to the agent and the sponsors. */
  reason: nonEmpty.max(300).optional(),
  fields: z.record(fieldNameSchema, actionFieldSchema).default(() => ({})),
});
const approvalBoundarySchema = z.strictObject({
  mode: z.literal('needs-approval'),
  title: nonEmpty.max(100).optional(),
  fields: z.record(fieldNameSchema, actionFieldSchema).default(() => ({})),
  /** Groups of deciders; with quorum `all` one approval from each group. */
  approvers: z
    .array(boundaryApproverSchema)
    .min(1)
    .default(() => ['sponsor']),
  quorum: z.union([z.literal('all'), z.literal('any'), z.number().int().positive()]).default('any'),
  /** How long to wait for the quorum. */
  wait: durationSchema.prefault('1h'),
  /** What a timeout means: deny (the default) or allow. */
  onTimeout: z.enum(['deny', 'allow']).default('deny'),
  remindAfter: durationSchema.optional(),
  escalateAfter: durationSchema.optional(),
  escalateTo: nonEmpty.optional(),
  /** The person who requested the agent may not approve its actions. */
  separateFromRequester: z.boolean().default(true),
  /** How long an approval may be used: `once` (one consume call), or a duration for a window. */
  usableFor: z.union([z.literal('once'), durationSchema]).default('once'),
  /** Only when the condition holds is approval needed; otherwise the action is autonomous. */
  when: boundaryConditionSchema.optional(),
});

/** One action's boundary: `autonomous`, `needs-approval` (who, quorum, wait, timeout, condition) or `forbidden`. */
export const actionBoundarySchema = z.discriminatedUnion(
  'mode',
  [autonomousBoundarySchema, forbiddenBoundarySchema, approvalBoundarySchema],
  {
    error: (iss) => (iss.code === 'invalid_union' ? 'expected mode autonomous, needs-approval or forbidden' : undefined),
  },
);
/** One action's boundary, see {@link actionBoundarySchema}. */
export type ActionBoundary = z.output<typeof actionBoundarySchema>;
/** A `needs-approval` boundary. */
export type ApprovalBoundary = z.output<typeof approvalBoundarySchema>;

/** A queue of people who take an agent's hand-offs. */
export const handoffQueueSchema = z.strictObject({
  title: nonEmpty.max(100),
  /** Who works the queue: people by e-mail, or the forms approvers use (`sponsor`, `business-unit-approver`, a directory role). */
  people: z.array(boundaryApproverSchema).min(1),
  /** Outcomes a person may resolve a case with (buttons). */
  outcomes: z
    .array(slugSchema)
    .min(1)
    .max(5)
    .default(() => ['done']),
  remindAfter: durationSchema.optional(),
  escalateAfter: durationSchema.optional(),
  escalateTo: nonEmpty.optional(),
});
/** A hand-off queue, see {@link handoffQueueSchema}. */
export type HandoffQueue = z.output<typeof handoffQueueSchema>;

/** Decision boundaries of a catalog role: its actions and its hand-off rules. */
export const boundariesSchema = z.strictObject({
  actions: z.record(actionNameSchema, actionBoundarySchema).default(() => ({})),
  /** Queues by id. */
  queues: z.record(slugSchema, handoffQueueSchema).default(() => ({})),
  /** Which queue takes which kind of case (`kind: queue`). */
  handoffs: z.record(slugSchema, slugSchema).default(() => ({})),
});
/** Decision boundaries, see {@link boundariesSchema}. */
export type Boundaries = z.output<typeof boundariesSchema>;

export const catalogRoleSchema = z.strictObject({
  id: slugSchema,
  title: nonEmpty,
  description: nonEmpty,
  vendor: nonEmpty,
  model: nonEmpty,
  riskTier: riskLevelSchema,
  businessPurpose: nonEmpty,
  businessUnits: z.array(slugSchema).min(1).optional(),
  defaultScopes: z.array(scopeIdSchema).default(() => []),
  allowedScopes: z.array(scopeIdSchema).default(() => []),
  forbiddenScopes: z.array(forbiddenScopeSchema).default(() => []),
  dataClasses: z.array(dataClassSchema).min(1),
  regulations: z.array(regulationSchema).default(() => []),
  evaluation: evaluationSchema,
  checkInCadence: durationSchema,
  drift: driftPolicySchema.prefault({}),
  retrainingCadence: durationSchema,
  maxAccessTtl: durationSchema,
  valuePerTaskUSD: z.number().min(0).optional(),
  prices: priceTableSchema.optional(),
  escalation: escalationSchema.optional(),
  flow: slugSchema.default('agent-request'),
  /** What the agent may do alone, must ask a human for, or may never do; and whom it hands cases to. */
  boundaries: boundariesSchema.optional(),
});
/** A catalog role, see {@link catalogRoleSchema}. */
export type CatalogRole = z.output<typeof catalogRoleSchema>;

/** The whole of `config/catalog.yaml`. */
export const catalogFileSchema = z.strictObject({
  roles: z.array(catalogRoleSchema).min(1),
});
/** The whole of `config/catalog.yaml`. */
export type CatalogFile = z.output<typeof catalogFileSchema>;

// ---------------------------------------------------------------------------------------------

/** The organisation configuration as loaded from the four files. */
export interface OrgConfig {
  /** From `org.yaml`. */
  readonly businessUnits: BusinessUnit[];
  /** From `org.yaml`. */
  readonly rotations: Rotation[];
  /** From `org.yaml`. */
  readonly settings: OrgSettings;
  /** From `org.yaml`: identity-provider groups → roles and business units (SCIM). */
  readonly directory?: DirectorySettings;
  /**
   * The people: from `people.yaml`, or the live directory's list (provisioned over SCIM), which
   * changes while Roster runs. Read it through the look-ups in directory.ts, which use an index.
   */
  readonly people: Person[];
  /** From `scopes.yaml`. */
  readonly scopes: Scope[];
  /** The `roles` of `catalog.yaml`. */
  readonly catalog: CatalogRole[];
}
