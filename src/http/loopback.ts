import type { IncomingMessage } from 'node:http';
import { isLoopbackAddress } from '../config/deployment.js';

/** Headers a reverse proxy adds: a request carrying one was made by someone else, elsewhere. */
const FORWARDING_HEADERS = ['forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-real-ip'];

/**
 * True when the request comes straight from this machine: a loopback peer address and no sign of
 * a reverse proxy (a proxy on the same host connects from loopback on behalf of anyone).
 */
export function isDirectLoopbackCaller(req: IncomingMessage): boolean {
  if (!isLoopbackAddress(req.socket.remoteAddress)) return false;
  return !FORWARDING_HEADERS.some((name) => req.headers[name] !== undefined);
}
