import { startTestRoster } from '../helpers/app.js';

/** A SCIM client as identity providers speak it: bearer token, application/scim+json, raw payloads. */
export const SCIM_TOKEN = 'scim-test-token-0123456789abcdef0123456789abcdef';

export interface ScimReply {
  status: number;
  contentType: string;
  body: Record<string, unknown> & { Resources?: Array<Record<string, unknown>> };
  location?: string;
}

export class ScimClient {
  constructor(
    readonly base: string,
    private readonly headers: Record<string, string> = {},
    private readonly token = SCIM_TOKEN,
  ) {}

  async request(method: string, path: string, body?: unknown, extra: Record<string, string> = {}): Promise<ScimReply> {
    const res = await fetch(`${this.base}/scim/v2${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(body !== undefined ? { 'content-type': 'application/scim+json' } : {}),
        ...this.headers,
        ...extra,
      },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return {
      status: res.status,
      contentType: res.headers.get('content-type') ?? '',
      body: text ? (JSON.parse(text) as ScimReply['body']) : {},
      ...(res.headers.get('location') ? { location: res.headers.get('location')! } : {}),
    };
  }

  get = (path: string) => this.request('GET', path);
  post = (path: string, body: unknown) => this.request('POST', path, body);
  put = (path: string, body: unknown) => this.request('PUT', path, body);
  patch = (path: string, body: unknown) => this.request('PATCH', path, body);
  delete = (path: string) => this.request('DELETE', path);

  /** The id of the one user a filter finds. */
  async userId(filter: string): Promise<string> {
    const found = await this.get(`/Users?filter=${encodeURIComponent(filter)}`);
    if (found.body.totalResults !== 1) throw new Error(`expected one user for ${filter}, got ${String(found.body.totalResults)}`);
    return String(found.body.Resources![0]!.id);
  }
}

export const patchOp = (...Operations: unknown[]) => ({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations });

/** A Roster started by {@link startScimRoster}. */
export type ScimRoster = Awaited<ReturnType<typeof startTestRoster>>;

/** A Roster with SCIM on (the test token) and a client speaking to it as an identity provider would. */
export async function startScimRoster(): Promise<{ roster: ScimRoster; scim: ScimClient }> {
  const roster = await startTestRoster({ env: { ROSTER_SCIM_TOKEN: SCIM_TOKEN } });
  return { roster, scim: new ScimClient(roster.baseUrl) };
}
