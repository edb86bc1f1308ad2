import type { AgentCredential, AgentRecord } from './agents.js';

/** How long a looked-up key is trusted without reading the agent again, unless configured (`ROSTER_KEY_CACHE_MS`). */
export const DEFAULT_KEY_CACHE_MS = 5_000;

/** Most keys remembered at once; the oldest are dropped first. */
const MAX_ENTRIES = 10_000;

export interface KeyCacheOptions {
  /** How long an entry is served; 0 turns the cache off. */
  ttlMs: number;
  /** Milliseconds of a monotonic clock (tests move it instead of waiting). */
  now?: () => number;
  maxEntries?: number;
}

interface Entry {
  agent: AgentRecord;
  credential: AgentCredential;
  until: number;
}

/**
 * The agent and credential each recently presented key hash belongs to, so that a busy agent's
 * telemetry batches do not read its agent document once each. Only keys that were found are
 * remembered (a key issued a moment ago by another replica is never refused from the cache), and
 * the verdict is decided again from the remembered record at every use, so a rotated-out key
 * stops working at its end time exactly.
 *
 * Bound: in this process every write to an agent through the repository (rotation, re-issue,
 * revocation, retirement, any status change) drops its entries before the write returns, so the
 * next request reads the agent again: the store calls {@link forgetAgent} from the writes its
 * repositories report (src/store/access-writes.ts, as for the agent API's live access). A change
 * made by another replica reaches this one after at most `ttlMs`.
 */
export class KeyCache {
  private readonly entries = new Map<string, Entry>();
  /** Bumped by every invalidation: a look-up that began before one may not store what it read. */
  private generation = 0;
  private readonly now: () => number;
  private readonly max: number;

  constructor(private readonly options: KeyCacheOptions) {
    this.now = options.now ?? (() => performance.now());
    this.max = options.maxEntries ?? MAX_ENTRIES;
  }

  /** The remembered agent and credential of a key hash, if still fresh. */
  get(hash: string): { agent: AgentRecord; credential: AgentCredential } | undefined {
    const entry = this.entries.get(hash);
    if (!entry) return undefined;
    if (entry.until <= this.now()) {
      this.entries.delete(hash);
      return undefined;
    }
    return { agent: entry.agent, credential: entry.credential };
  }

  /** A token to hand to {@link set} with what a look-up started now reads. */
  begin(): number {
    return this.generation;
  }

  /** Remembers a look-up's result, unless an invalidation happened since it began. */
  set(hash: string, started: number, agent: AgentRecord, credential: AgentCredential): void {
    if (this.options.ttlMs <= 0 || started !== this.generation) return;
    this.entries.delete(hash);
    this.entries.set(hash, { agent, credential, until: this.now() + this.options.ttlMs });
    while (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
  }

  /** Forgets every key of an agent (its document changed); without an id, every key. */
  forgetAgent(agentId?: string): void {
    this.generation += 1;
    if (agentId === undefined) this.entries.clear();
    else for (const [hash, entry] of this.entries) if (entry.agent.id === agentId) this.entries.delete(hash);
  }
}
