import type { PagerConfig, Rotation } from './schemas.js';
import { ConfigError } from './org-config.js';
import { urlProblem } from './webhooks.js';
import type { ResolvedPager } from '../core/pager.js';

/*
 * The rotations' pagers (`pager:` of a rotation in org.yaml) with their secrets read from the
 * environment, once at start-up. A pager that names a variable which is not set, a webhook secret
 * too short to be one, or (in production) a base URL other than the vendor's own https host stops
 * start-up with one line per problem: a rotation that believes it pages PagerDuty and does not is
 * worse than none.
 */

/** The vendors' API hosts: production talks to these only. */
export const PAGER_VENDOR_URLS = {
  pagerduty: ['https://events.pagerduty.com', 'https://events.eu.pagerduty.com'],
  opsgenie: ['https://api.opsgenie.com', 'https://api.eu.opsgenie.com'],
} as const;

/** The shortest inbound webhook secret accepted (PagerDuty's are 64 characters). */
const MIN_WEBHOOK_SECRET = 16;

function defaultBaseUrl(pager: PagerConfig): string {
  if (pager.provider === 'pagerduty') return PAGER_VENDOR_URLS.pagerduty[0];
  return pager.region === 'eu' ? PAGER_VENDOR_URLS.opsgenie[1] : PAGER_VENDOR_URLS.opsgenie[0];
}

/**
 * Resolves every rotation's pager.
 * @throws ConfigError listing every problem (one line each, naming the variable, never its value).
 */
export function resolvePagers(
  rotations: readonly Pick<Rotation, 'id' | 'pager'>[],
  options: { env: NodeJS.ProcessEnv; production: boolean; file?: string },
): ResolvedPager[] {
  const file = options.file ?? 'org.yaml';
  const problems: string[] = [];
  const pagers: ResolvedPager[] = [];
  for (const [i, rotation] of rotations.entries()) {
    const pager = rotation.pager;
    if (!pager) continue;
    const at = `${file}: rotations[${i}] (${rotation.id}): pager`;
    const keyEnv = pager.provider === 'pagerduty' ? pager.routingKeyEnv : pager.apiKeyEnv;
    const keyField = pager.provider === 'pagerduty' ? 'routingKeyEnv' : 'apiKeyEnv';
    const key = options.env[keyEnv]?.trim();
    if (!key) problems.push(`${at}.${keyField}: the environment variable ${keyEnv} is not set`);
    let webhookSecret: string | undefined;
    if (pager.webhookSecretEnv) {
      webhookSecret = options.env[pager.webhookSecretEnv]?.trim();
      if (!webhookSecret) problems.push(`${at}.webhookSecretEnv: the environment variable ${pager.webhookSecretEnv} is not set`);
      else if (webhookSecret.length < MIN_WEBHOOK_SECRET)
        problems.push(
          `${at}.webhookSecretEnv: the secret in ${pager.webhookSecretEnv} is too short (at least ${MIN_WEBHOOK_SECRET} characters)`,
        );
    }
    const baseUrl = (pager.baseUrl ?? defaultBaseUrl(pager)).replace(/\/+$/, '');
    if (options.production) {
      const vendor: readonly string[] = PAGER_VENDOR_URLS[pager.provider];
      if (!vendor.includes(baseUrl)) problems.push(`${at}.baseUrl: production sends only to ${vendor.join(' or ')}`);
    } else {
      const bad = urlProblem(baseUrl, [], true);
      if (bad) problems.push(`${at}.baseUrl: ${bad}`);
    }
    if (key) pagers.push({ rotation: rotation.id, provider: pager.provider, baseUrl, key, ...(webhookSecret ? { webhookSecret } : {}) });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return pagers;
}
