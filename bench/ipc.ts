/*
 * The bench's processes talk over Node's IPC channel: the load generator forks Roster, the fakes
 * and the floors as their own processes (so none of them shares an event loop with another) and
 * calls their handlers by name. Kept free of Roster's modules so that a floor process loads only
 * what the floor itself needs.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const benchDir = path.dirname(fileURLToPath(import.meta.url));

interface Reply {
  id: number;
  result?: unknown;
  error?: string;
}

/** A bench process started by {@link forkBench}. */
export interface BenchProcess {
  readonly pid: number;
  /** Calls the process's handler `method` with `args` (JSON over IPC) and resolves its result. */
  call<T = unknown>(method: string, ...args: unknown[]): Promise<T>;
  /** Calls its `stop` handler when it has one, then closes the channel and waits for the exit. */
  stop(): Promise<void>;
}

/**
 * Forks `bench/<script>` (TypeScript through tsx) and resolves once it has started serving
 * (see {@link serveBench}). `gc` runs it with `--expose-gc`, for an RSS measured after a full collection.
 */
export function forkBench(script: string, options: { gc?: boolean } = {}): Promise<BenchProcess> {
  const child: ChildProcess = fork(path.join(benchDir, script), [], {
    execArgv: [
      '--import',
      'tsx',
      ...(options.gc ? ['--expose-gc'] : []),
      // BENCH_CPU_PROF_DIR: each forked process writes a V8 CPU profile there when it exits.
      ...(process.env.BENCH_CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF_DIR}`] : []),
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let next = 0;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let handlers: string[] = [];
  return new Promise((resolve, reject) => {
    child.once('exit', (code, signal) => {
      const err = new Error(`bench process ${script} exited (${code ?? signal})`);
      for (const waiter of pending.values()) waiter.reject(err);
      pending.clear();
      reject(err);
    });
    child.on('message', (message: Reply | { ready: string[] }) => {
      if ('ready' in message) {
        handlers = message.ready;
        const handle: BenchProcess = {
          pid: child.pid!,
          call<T>(method: string, ...args: unknown[]): Promise<T> {
            return new Promise<T>((res, rej) => {
              const id = next++;
              pending.set(id, { resolve: res as (v: unknown) => void, reject: rej });
              child.send({ id, method, args });
            });
          },
          async stop() {
            if (child.exitCode !== null || child.signalCode !== null) return;
            if (handlers.includes('stop')) await handle.call('stop').catch(() => undefined);
            if (child.connected) child.disconnect();
            await exited;
          },
        };
        resolve(handle);
        return;
      }
      const waiter = pending.get(message.id);
      if (!waiter) return;
      pending.delete(message.id);
      if (message.error !== undefined) waiter.reject(new Error(`${script}: ${message.error}`));
      else waiter.resolve(message.result);
    });
  });
}

/**
 * In a forked bench process: answers calls with `handlers`, and exits when the load generator goes
 * away. Every bench process also answers `cpuMs`: the CPU time it has used so far (user + system,
 * ms), a per-request cost that hardly depends on what else the shared machine is doing.
 */
export function serveBench(own: Record<string, (...args: never[]) => unknown>): void {
  const handlers: Record<string, (...args: never[]) => unknown> = {
    cpuMs: () => {
      const { user, system } = process.cpuUsage();
      return (user + system) / 1000;
    },
    ...own,
  };
  process.on('message', (message: { id: number; method: string; args: unknown[] }) => {
    void (async () => {
      try {
        const handler = handlers[message.method];
        if (!handler) throw new Error(`no handler ${message.method}`);
        const result = await (handler as (...args: unknown[]) => unknown)(...message.args);
        process.send!({ id: message.id, result: result ?? null });
      } catch (err) {
        process.send!({ id: message.id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      }
    })();
  });
  process.on('disconnect', () => process.exit(0));
  process.send!({ ready: Object.keys(handlers) });
}
