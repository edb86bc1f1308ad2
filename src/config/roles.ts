/** Directory roles that take no argument (SPEC.md "People and roles"). */
export const PLAIN_ROLES = ['requester', 'it-admin', 'security', 'compliance', 'dpo'] as const;

/**
 * Approver roles that only make sense relative to a request, allowed in a scope's
 * `requiredApprovers` but never in the directory:
 * - `sponsor`: a sponsor of the agent the request is for;
 * - `data-owner`: the data owner of the scope's system (`data-owner:<system>`);
 * - `approver`: the approver of the agent's business unit (`approver:<business-unit>`).
 */
export const RELATIVE_APPROVER_ROLES = ['sponsor', 'data-owner', 'approver'] as const;

/** A role that takes no argument, such as `it-admin`. */
export type PlainRole = (typeof PLAIN_ROLES)[number];

/** A role relative to a request, see {@link RELATIVE_APPROVER_ROLES}. */
export type RelativeApproverRole = (typeof RELATIVE_APPROVER_ROLES)[number];

/** A directory role string split into its kind and target. */
export type ParsedRole =
  | { readonly kind: PlainRole }
  | { readonly kind: 'approver'; readonly businessUnit: string }
  | { readonly kind: 'requester-for'; readonly businessUnit: string }
  | { readonly kind: 'data-owner'; readonly system: string }
  | { readonly kind: 'oncall'; readonly rotation: string };

/** Human-readable list of the accepted directory role forms, for error messages. */
export const ROLE_FORMS =
  'requester, it-admin, security, compliance, dpo, approver:<business-unit>, data-owner:<system> or oncall:<rotation>';

/** Human-readable list of the roles accepted in a scope's `requiredApprovers`, for error messages. */
export const APPROVER_ROLE_FORMS =
  'sponsor, data-owner, approver, it-admin, security, compliance, dpo, approver:<business-unit>, data-owner:<system> or oncall:<rotation>';

const TARGET_PATTERN = /^[a-z0-9][a-z0-9-]*$/;

/**
 * Splits a directory role such as `approver:finance` into kind and target. Returns
 * `undefined` for anything else, including the per-agent `sponsor` role and malformed targets.
 * Only the syntax is checked; whether the business unit, system or rotation exists is not.
 */
export function parseDirectoryRole(role: string): ParsedRole | undefined {
  if ((PLAIN_ROLES as readonly string[]).includes(role)) return { kind: role as PlainRole };
  const colon = role.indexOf(':');
  if (colon < 0) return undefined;
  const kind = role.slice(0, colon);
  const target = role.slice(colon + 1);
  if (!TARGET_PATTERN.test(target)) return undefined;
  switch (kind) {
    case 'approver':
      return { kind, businessUnit: target };
    // The explicit permission to request agents for a business unit other than one's own.
    case 'requester':
      return { kind: 'requester-for', businessUnit: target };
    case 'data-owner':
      return { kind, system: target };
    case 'oncall':
      return { kind, rotation: target };
    default:
      return undefined;
  }
}

/** True when `role` is one of the request-relative approver roles (`sponsor`, `data-owner`, `approver`). */
export function isRelativeApproverRole(role: string): role is RelativeApproverRole {
  return (RELATIVE_APPROVER_ROLES as readonly string[]).includes(role);
}
