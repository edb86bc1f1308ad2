import type { OrgConfig } from '../config/schemas.js';
import { findPersonByEmail } from '../config/directory.js';

/**
 * How a card names a person it knows by e-mail: their directory name, else the address itself (a
 * person who left stays recognisable), `''` when there is nobody (a field not yet set).
 */
export function personName(org: OrgConfig, email: string | undefined): string {
  if (!email) return '';
  return findPersonByEmail(org, email)?.name ?? email;
}
