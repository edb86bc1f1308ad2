import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mongoose from 'mongoose';
import { isAlive, spawnRoster, type RosterProcess } from '../helpers/roster-process.js';

/** `npm start` as a newcomer runs it: no MONGODB_URI, so the embedded server with on-disk data. */
describe('Roster process lifecycle (embedded database on disk)', () => {
  let dataDir: string;
  const running: RosterProcess[] = [];

  beforeAll(() => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'roster-data-'));
  });
  afterAll(() => {
    for (const p of running) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function start(): Promise<{ proc: RosterProcess; port: number; mongoUri: string; javaPid: number }> {
    const proc = spawnRoster({ ROSTER_DATA_DIR: dataDir });
    running.push(proc);
    const listening = await proc.waitForLog((l) => l.msg === 'HTTP server listening', 60_000);
    const embeddedLine = await proc.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('Embedded database listening'));
    const mongoPort = /127\.0\.0\.1:(\d+)/.exec(String(embeddedLine.msg))![1];
    const javaPid = Number(proc.logs.find((l) => l.msg === 'embedded database started')?.pid);
    return { proc, port: Number(listening.port), mongoUri: `mongodb://127.0.0.1:${mongoPort}`, javaPid };
  }

  /** Waits (up to 10 s) for the process to be gone; the OS reaps a child that has just exited a moment later. */
  async function gone(pid: number): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  }

  async function get(port: number, route: string): Promise<{ status: number; body: string }> {
    const res = await fetch(`http://127.0.0.1:${port}${route}`);
    return { status: res.status, body: await res.text() };
  }

  it('starts cold to ready, keeps data across a restart, and exits 0 on SIGTERM leaving no Java process', async () => {
    const first = await start();
    const health = await get(first.port, '/healthz');
    expect(health.status).toBe(200);
    const ready = await get(first.port, '/readyz');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toEqual({ status: 'ready' });
    const metrics = await get(first.port, '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('roster_http_request_duration_seconds_bucket{');
    expect(metrics.body).toMatch(/route="\/readyz",status="200"/);
    expect(metrics.body).toContain('process_cpu_user_seconds_total');

    const client = await mongoose.createConnection(first.mongoUri, { dbName: 'roster', autoCreate: false }).asPromise();
    await client.collection('restart_probe').insertOne({ _id: 'probe' as never, written: 'before restart' });
    await client.close();

    expect(isAlive(first.javaPid)).toBe(true);
    const stopAt = Date.now();
    first.proc.child.kill('SIGTERM');
    const exit = await first.proc.exited;
    expect(exit.code).toBe(0);
    expect(Date.now() - stopAt).toBeLessThan(10_000);
    await gone(first.javaPid);
    expect(isAlive(first.javaPid)).toBe(false);

    const second = await start();
    const again = await mongoose.createConnection(second.mongoUri, { dbName: 'roster', autoCreate: false }).asPromise();
    const probe = await again.collection('restart_probe').findOne({ _id: 'probe' as never });
    await again.close();
    expect(probe?.written).toBe('before restart');

    second.proc.child.kill('SIGINT');
    expect((await second.proc.exited).code).toBe(0);
    await gone(second.javaPid);
    expect(isAlive(second.javaPid)).toBe(false);
  }, 120_000);

  it('never leaves the Java process behind, even when Roster is killed with SIGKILL', async () => {
    const run = await start();
    expect(isAlive(run.javaPid)).toBe(true);
    run.proc.child.kill('SIGKILL');
    await run.proc.exited;
    await gone(run.javaPid);
    expect(isAlive(run.javaPid)).toBe(false);
  }, 120_000);
});
