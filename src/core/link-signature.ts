import { createHmac, timingSafeEqual } from 'node:crypto';

/*
 * The signature of the links Roster hands out and later trusts on their own (the dashboard's
 * person-bound links, the chart images' links in Slack cards): HMAC-SHA256 under a secret of
 * Roster's, base64url. One place, so each kind of link is signed and checked the same way.
 */

/** The signature of `payload` under `secret`. */
export function linkSignature(secret: string, payload: string): string {
  return createHmac('sha256', secret).update(payload).digest('base64url');
}

/** Whether `given` is the signature of `payload`, compared in constant time (any length is answered, never thrown on). */
export function isLinkSignature(secret: string, payload: string, given: string): boolean {
  const expected = Buffer.from(linkSignature(secret, payload));
  const actual = Buffer.from(given);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
