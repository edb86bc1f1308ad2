import type { Request } from 'express';

/** Credentials a client presented, and how. */
export type ClientCredentials =
  | { ok: true; clientId: string; secret: string; method: 'client_secret_basic' | 'client_secret_post' }
  | { ok: false; error: 'invalid_request' | 'invalid_client'; description: string; clientId?: string };

/** RFC 6749 §2.3.1: each part was form-urlencoded before `id:secret` was base64-encoded. */
function formDecode(part: string): string | undefined {
  try {
    return decodeURIComponent(part.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/**
 * Reads client credentials from HTTP Basic (`client_secret_basic`) or the form body
 * (`client_secret_post`). Using both in one request is refused, as RFC 6749 §2.3 requires.
 */
export function clientCredentials(req: Request, body: Record<string, unknown>): ClientCredentials {
  const header = req.headers.authorization;
  const bodyId = body.client_id;
  const bodySecret = body.client_secret;
  if (bodyId !== undefined && typeof bodyId !== 'string')
    return { ok: false, error: 'invalid_request', description: 'client_id must be sent once.' };
  if (bodySecret !== undefined && typeof bodySecret !== 'string')
    return { ok: false, error: 'invalid_request', description: 'client_secret must be sent once.' };
  if (header !== undefined) {
    const basic = /^Basic\s+([A-Za-z0-9+/=._~-]{1,2048})\s*$/i.exec(header);
    if (!basic) return { ok: false, error: 'invalid_client', description: 'Authenticate with HTTP Basic (client id and secret).' };
    if (bodySecret !== undefined) {
      return {
        ok: false,
        error: 'invalid_request',
        description: 'Use one client authentication method: HTTP Basic or client_secret in the body, not both.',
      };
    }
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const id = colon > 0 ? formDecode(decoded.slice(0, colon)) : undefined;
    const secret = colon > 0 ? formDecode(decoded.slice(colon + 1)) : undefined;
    if (!id || !secret) return { ok: false, error: 'invalid_client', description: 'The Basic credentials are malformed.' };
    if (bodyId !== undefined && bodyId !== id)
      return { ok: false, error: 'invalid_request', description: 'client_id in the body differs from the authenticated client.' };
    return { ok: true, clientId: id, secret, method: 'client_secret_basic' };
  }
  if (bodyId && bodySecret) return { ok: true, clientId: bodyId, secret: bodySecret, method: 'client_secret_post' };
  return {
    ok: false,
    error: 'invalid_client',
    description: 'Client authentication is required (HTTP Basic, or client_id and client_secret in the body).',
    ...(bodyId ? { clientId: bodyId } : {}),
  };
}
