import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A Maven repository on 127.0.0.1 serving `files` (by repository path) under /maven2, recording each request. */
export async function fakeMavenRepository(
  files: ReadonlyMap<string, Buffer>,
): Promise<{ url: string; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const p = decodeURIComponent((req.url ?? '').replace(/^\/maven2\//, ''));
    requests.push(p);
    const body = files.get(p);
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/java-archive', 'content-length': body.length });
    // Two chunks, so progress sees the download advance.
    res.write(body.subarray(0, Math.floor(body.length / 2)));
    setImmediate(() => res.end(body.subarray(Math.floor(body.length / 2))));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/maven2`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
