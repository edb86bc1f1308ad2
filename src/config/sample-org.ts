import type { OrgConfig } from './schemas.js';

/** The domain of the sample organisation shipped in config/ (Brightwater). */
export const SAMPLE_ORG_DOMAIN = 'brightwater.example';

/**
 * True when the directory is (or still contains) the shipped sample organisation: production must
 * not run with its made-up approvers, who would otherwise hold real approval rights.
 */
export function usesSampleOrganisation(org: Pick<OrgConfig, 'people'>): boolean {
  return org.people.some((p) => p.email.toLowerCase().endsWith(`@${SAMPLE_ORG_DOMAIN}`));
}

/** The start-up problem reported in production when {@link usesSampleOrganisation} holds. */
export const SAMPLE_ORG_PROBLEM =
  `config: people.yaml: production refuses the sample organisation (people @${SAMPLE_ORG_DOMAIN}): ` +
  'replace config/*.yaml with your own, or point ROSTER_CONFIG_DIR at them';
