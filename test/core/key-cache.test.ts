import { KeyCache } from '../../src/core/key-cache.js';
import { issueTelemetryKey } from '../../src/core/agents.js';
import { agentRecord } from '../helpers/harness.js';
import { asAgentId } from '../helpers/ids.js';

describe('KeyCache', () => {
  const { credential } = issueTelemetryKey('agt_00000000000000a1', new Date());
  const agent = agentRecord({ id: asAgentId('agt_00000000000000a1'), name: 'Cached', credentials: [credential] });
  const other = agentRecord({ id: asAgentId('agt_00000000000000b2'), name: 'Other' });

  it('serves an entry for its lifetime only, by its own clock', () => {
    let now = 1_000;
    const cache = new KeyCache({ ttlMs: 500, now: () => now });
    cache.set(credential.hash, cache.begin(), agent, credential);
    now += 499;
    expect(cache.get(credential.hash)?.agent.id).toBe(agent.id);
    now += 1;
    expect(cache.get(credential.hash)).toBeUndefined();
  });

  it('never stores what a look-up read before an invalidation; forgets only the changed agent', () => {
    const cache = new KeyCache({ ttlMs: 60_000, now: () => 0 });
    const started = cache.begin();
    cache.forgetAgent(agent.id); // the agent was written while the look-up ran
    cache.set(credential.hash, started, agent, credential);
    expect(cache.get(credential.hash)).toBeUndefined();

    cache.set(credential.hash, cache.begin(), agent, credential);
    cache.set('other-hash', cache.begin(), other, credential);
    cache.forgetAgent(other.id);
    expect(cache.get(credential.hash)?.agent.id).toBe(agent.id);
    expect(cache.get('other-hash')).toBeUndefined();

    // A write that may concern any agent (src/store/access-writes.ts) forgets every key.
    cache.set('other-hash', cache.begin(), other, credential);
    cache.forgetAgent();
    expect([cache.get(credential.hash), cache.get('other-hash')]).toEqual([undefined, undefined]);
  });

  it('is off with a lifetime of 0, and drops the oldest entries past its size', () => {
    const off = new KeyCache({ ttlMs: 0, now: () => 0 });
    off.set(credential.hash, off.begin(), agent, credential);
    expect(off.get(credential.hash)).toBeUndefined();

    const small = new KeyCache({ ttlMs: 60_000, now: () => 0, maxEntries: 2 });
    for (const hash of ['h1', 'h2', 'h3']) small.set(hash, small.begin(), agent, credential);
    expect(['h1', 'h2', 'h3'].map((h) => small.get(h) !== undefined)).toEqual([false, true, true]);
  });
});
