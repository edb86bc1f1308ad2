import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/*
 * The only way Roster talks to an agent under evaluation (or a judge): a POST to a host IT
 * allows, whose resolved address is checked at connect time (so a name cannot be re-pointed at
 * an internal service between the check and the call), no redirects, an answer size cap, and
 * the caller's abort signal (per-case timeout, run budget, cancel).
 */

/** Why a call to an endpoint failed, in words for the evaluation card. */
export class EndpointError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'EndpointError';
  }
}

const internal = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3],
] as const)
  internal.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 127],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  internal.addSubnet(net, bits, 'ipv6');

/** True for loopback, private, link-local, carrier-grade NAT, multicast and unspecified addresses. */
export function isInternalAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return internal.check(address, 'ipv4');
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    return mapped ? internal.check(mapped[1]!, 'ipv4') : internal.check(address, 'ipv6');
  }
  return true;
}

const bare = (host: string) => host.replace(/^\[|\]$/g, '').toLowerCase();

/** The hosts IT allows evaluations to reach (`settings.evaluation.allowedHosts`). */
export class HostPolicy {
  private readonly names: string[];
  private readonly suffixes: string[];
  private readonly addresses: Set<string>;

  constructor(allowed: readonly string[]) {
    const entries = allowed.map(bare);
    this.addresses = new Set(entries.filter((e) => isIP(e)));
    this.suffixes = entries.filter((e) => e.startsWith('*.')).map((e) => e.slice(1));
    this.names = entries.filter((e) => !isIP(e) && !e.startsWith('*.'));
  }

  /** Parses and checks an endpoint URL: http(s), no credentials in it, an allowed host. */
  check(raw: string): URL {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new EndpointError('not a valid URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new EndpointError('only http and https endpoints can be called');
    if (url.username || url.password) throw new EndpointError('put credentials in the secret, not in the URL');
    const host = bare(url.hostname);
    const ok = isIP(host) ? this.addresses.has(host) : this.names.includes(host) || this.suffixes.some((s) => host.endsWith(s));
    if (!ok) throw new EndpointError(`${host} is not a host IT allows evaluations to reach`);
    return url;
  }

  /** Whether a resolved address may be connected to: public, or listed by IT itself. */
  addressAllowed(address: string): boolean {
    return this.addresses.has(bare(address)) || !isInternalAddress(address);
  }

  /** Whether `hostname`, resolved to `address`, may be connected to (a subclass may also trust listed names). */
  protected resolvedAllowed(_hostname: string, address: string): boolean {
    return this.addressAllowed(address);
  }

  /** A DNS lookup for `http.request` that refuses internal addresses IT did not list. */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      const allowed = addresses.filter((a) => this.resolvedAllowed(hostname, a.address));
      if (allowed.length === 0) {
        const refused = Object.assign(new Error(`${hostname} resolves to an internal address IT did not allow`), {
          code: 'EADDRNOTALLOWED',
        });
        return callback(refused, '', 0);
      }
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, allowed);
      callback(null, allowed[0]!.address, allowed[0]!.family);
    });
  };
}

export interface GuardedRequest {
  url: string;
  method?: 'POST' | 'GET' | 'DELETE';
  headers?: Record<string, string>;
  body?: string;
  signal: AbortSignal;
  maxBytes: number;
  /** A keep-alive agent of the run (connections are made through the policy's lookup either way). */
  agent?: http.Agent;
}

export interface GuardedResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** One request under the policy; every failure becomes an {@link EndpointError} with a readable reason. */
export function guardedRequest(policy: HostPolicy, req: GuardedRequest): Promise<GuardedResponse> {
  const url = policy.check(req.url);
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<GuardedResponse>((resolve, reject) => {
    if (req.signal.aborted) return reject(abortReason(req.signal));
    const request = client.request(
      url,
      {
        method: req.method ?? 'POST',
        headers: { ...(req.body !== undefined ? { 'content-length': String(Buffer.byteLength(req.body)) } : {}), ...req.headers },
        lookup: policy.lookup,
        signal: req.signal,
        agent: req.agent ?? false,
      },
      (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400) {
          res.resume();
          request.destroy();
          return reject(new EndpointError(`the endpoint answered ${status} (a redirect); redirects are not followed`));
        }
        const declared = Number(res.headers['content-length'] ?? 0);
        if (declared > req.maxBytes) {
          request.destroy();
          return reject(new EndpointError(`the answer is larger than ${req.maxBytes} bytes`));
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > req.maxBytes) {
            request.destroy();
            reject(new EndpointError(`the answer is larger than ${req.maxBytes} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
          resolve({ status, headers, body: Buffer.concat(chunks) });
        });
        res.on('error', (err) => reject(req.signal.aborted ? abortReason(req.signal) : networkError(err)));
      },
    );
    request.on('error', (err) => reject(req.signal.aborted ? abortReason(req.signal) : networkError(err)));
    if (req.body !== undefined) request.write(req.body);
    request.end();
  });
}

function abortReason(signal: AbortSignal): EndpointError {
  const reason: unknown = signal.reason;
  if (reason instanceof EndpointError) return reason;
  return new EndpointError((reason as Error | undefined)?.name === 'TimeoutError' ? 'timed out' : 'stopped');
}

function networkError(err: Error & { code?: string }): EndpointError {
  if (err instanceof EndpointError) return err;
  switch (err.code) {
    case 'ECONNREFUSED':
      return new EndpointError('the endpoint refused the connection (is it running?)');
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new EndpointError('the endpoint host name does not resolve');
    case 'EADDRNOTALLOWED':
      return new EndpointError(err.message);
    case 'ECONNRESET':
    case 'EPIPE':
      return new EndpointError('the endpoint closed the connection');
    default:
      return new EndpointError(`the endpoint could not be reached (${err.code ?? 'network error'})`);
  }
}
