import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { projectRoot } from '../helpers/roster-process.js';

const dockerfile = readFileSync(path.join(projectRoot, 'Dockerfile'), 'utf8');

/** The HEALTHCHECK command, run as Docker runs a shell-form CMD. */
function healthcheck(env: Record<string, string>): Promise<number | null> {
  const cmd = /^HEALTHCHECK .*? CMD (.+)$/m.exec(dockerfile)![1]!.replace(/^node /, `"${process.execPath}" `);
  return new Promise((resolve) => {
    spawn('sh', ['-c', cmd], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: 'ignore' }).on('exit', (code) => resolve(code));
  });
}

describe('Dockerfile', () => {
  it('builds and runs on Node 24 LTS', () => {
    const froms = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    expect(froms).toEqual(['node:24-bookworm-slim', 'node:24-bookworm-slim']);
  });

  it('health check probes /readyz on $PORT: healthy on 200, unhealthy on 503 or nothing listening', async () => {
    let ready = true;
    const server = http.createServer((req, res) => {
      res.writeHead(req.url === '/readyz' && ready ? 200 : 503).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = String((server.address() as AddressInfo).port);
    try {
      expect(await healthcheck({ PORT: port })).toBe(0);
      ready = false;
      expect(await healthcheck({ PORT: port })).toBe(1);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    expect(await healthcheck({ PORT: port })).toBe(1);
  }, 30_000);
});
