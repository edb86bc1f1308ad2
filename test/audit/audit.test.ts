import {
  AuditContentionError,
  canonicalJson,
  GENESIS_HASH,
  hashEntry,
  InvalidAuditInputError,
  linkEntry,
  nextEntry,
  prepareEntry,
  verifyChain,
  type AuditEntry,
  type AuditEntryFields,
} from '../../src/core/audit.js';
import { ConflictError, InvalidInputError } from '../../src/core/errors.js';
import { buildChain, rehashed, sampleInput } from './chain-builder.js';
import { asAgentId } from '../helpers/ids.js';

describe('canonicalJson', () => {
  it('writes the same text whatever the key order, at every depth', () => {
    const a = { b: 1, a: { y: [1, { q: true, p: null }], x: 'x' } };
    const b = { a: { x: 'x', y: [1, { p: null, q: true }] }, b: 1 };
    expect(canonicalJson(a)).toBe(canonicalJson(b));
    expect(canonicalJson(a)).toBe('{"a":{"x":"x","y":[1,{"p":null,"q":true}]},"b":1}');
  });

  it('keeps array order, writes Dates as ISO strings and leaves undefined out', () => {
    expect(canonicalJson({ list: [3, 1, 2], at: new Date(Date.UTC(2024, 4, 1, 9, 30)), gone: undefined, holes: [undefined] })).toBe(
      '{"at":"2024-05-01T09:30:00.000Z","holes":[null],"list":[3,1,2]}',
    );
  });

  it('escapes text and sorts keys by code unit like RFC 8785', () => {
    expect(canonicalJson({ é: 1, z: 'line\nquote" 😀', A: 0.1 + 0.2 })).toBe('{"A":0.30000000000000004,"z":"line\\nquote\\" 😀","é":1}');
  });

  it.each([
    ['NaN', { n: Number.NaN }, /details\.n: NaN is not a finite number/],
    ['Infinity', { n: Infinity }, /not a finite number/],
    ['a bigint', { n: 1n }, /a bigint has no JSON form/],
    ['a Map', { m: new Map() }, /a Map is not plain JSON data/],
    ['an invalid Date', { d: new Date('nope') }, /the date is invalid/],
    ['a lone surrogate', { s: 'a\uD800b' }, /lone surrogate/],
    ['a $ key', { $where: 1 }, /the key "\$where" cannot be stored/],
  ])('refuses %s instead of storing something else', (_label, details, message) => {
    expect(() => canonicalJson({ details })).toThrow(message);
  });

  it('refuses circular data', () => {
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    expect(() => canonicalJson(loop)).toThrow(/refers to itself/);
  });
});

describe('hashEntry', () => {
  const base: AuditEntryFields = {
    seq: 7,
    at: new Date(Date.UTC(2024, 0, 1)),
    actor: { kind: 'person', email: 'ana@example.com' },
    action: 'grant.approved',
    subject: { type: 'grant', id: 'g-1', agentId: asAgentId('invoice-bot') },
    details: { scope: 'erp:invoices.read', ttl: '8h' },
    prevHash: GENESIS_HASH,
  };

  it('is a SHA-256 hex digest that ignores key order', () => {
    const reordered: AuditEntryFields = {
      prevHash: base.prevHash,
      details: { ttl: '8h', scope: 'erp:invoices.read' },
      subject: { agentId: asAgentId('invoice-bot'), id: 'g-1', type: 'grant' },
      action: base.action,
      actor: { email: 'ana@example.com', kind: 'person' },
      at: new Date(base.at.getTime()),
      seq: 7,
    };
    expect(hashEntry(base)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashEntry(reordered)).toBe(hashEntry(base));
  });

  it.each<[string, Partial<AuditEntryFields>]>([
    ['seq', { seq: 8 }],
    ['at (one millisecond)', { at: new Date(Date.UTC(2024, 0, 1) + 1) }],
    ['actor', { actor: { kind: 'person', email: 'bob@example.com' } }],
    ['actor kind', { actor: { kind: 'agent', agentId: 'ana@example.com' } }],
    ['action', { action: 'grant.denied' }],
    ['subject', { subject: { type: 'grant', id: 'g-2', agentId: asAgentId('invoice-bot') } }],
    ['subject agent', { subject: { type: 'grant', id: 'g-1' } }],
    ['details', { details: { scope: 'erp:invoices.write', ttl: '8h' } }],
    ['nested details type', { details: { scope: 'erp:invoices.read', ttl: 8 } }],
    ['prevHash', { prevHash: '1'.repeat(64) }],
  ])('changes when %s changes', (_field, change) => {
    expect(hashEntry({ ...base, ...change })).not.toBe(hashEntry(base));
  });

  it('starts the chain from 64 zeros', () => {
    expect(GENESIS_HASH).toBe('0'.repeat(64));
  });
});

describe('nextEntry', () => {
  it('numbers, links and hashes the entry, recording details as JSON', () => {
    const first = nextEntry(null, sampleInput(1, { details: { when: new Date(Date.UTC(2024, 1, 2)), none: undefined } }), new Date(5));
    expect(first).toMatchObject({ seq: 1, prevHash: GENESIS_HASH, at: new Date(5), details: { when: '2024-02-02T00:00:00.000Z' } });
    expect(Object.keys(first.details)).toEqual(['when']);
    expect(first.hash).toBe(hashEntry(first));
    const second = nextEntry(first, sampleInput(2, { at: new Date(9) }), new Date(10));
    expect(second).toMatchObject({ seq: 2, prevHash: first.hash, at: new Date(9) });
  });

  it('keeps only the documented fields of the actor and subject', () => {
    const entry = nextEntry(
      null,
      {
        actor: { kind: 'system', name: 'scheduler', extra: 1 } as never,
        action: 'checkin.run',
        subject: { type: 'agent', id: 'a1', note: 2 } as never,
      },
      new Date(0),
    );
    expect(entry.actor).toStrictEqual({ kind: 'system', name: 'scheduler' });
    expect(entry.subject).toStrictEqual({ type: 'agent', id: 'a1' });
    expect(entry.details).toStrictEqual({});
  });

  it('names the field that cannot be recorded', () => {
    expect(() => nextEntry(null, sampleInput(1, { actor: { kind: 'person' } as never }), new Date(0))).toThrow(InvalidAuditInputError);
    expect(() => nextEntry(null, sampleInput(1, { action: '' }), new Date(0))).toThrow(/action: must not be empty/);
    expect(() => nextEntry(null, sampleInput(1, { details: { amount: Number.NaN } }), new Date(0))).toThrow(
      /details\.amount: NaN is not a finite number/,
    );
    expect(() => nextEntry(null, sampleInput(1), new Date(Number.NaN))).toThrow(/at: the date is invalid/);
  });

  it('raises coded errors that the edges already know how to explain', () => {
    const invalid = new InvalidAuditInputError('cannot record this audit entry: action: must not be empty');
    expect(invalid).toBeInstanceOf(InvalidInputError);
    expect(invalid).toMatchObject({ code: 'invalid_input', name: 'InvalidAuditInputError' });
    const contention = new AuditContentionError(50);
    expect(contention).toBeInstanceOf(ConflictError);
    expect(contention).toMatchObject({
      code: 'conflict',
      name: 'AuditContentionError',
      attempts: 50,
      userMessage: 'Several people acted on this at the same moment. Please try again.',
      message: 'could not append to the audit log after 50 attempts: other writers kept taking the next number',
    });
  });
});

describe('prepareEntry and linkEntry', () => {
  it('hash an entry as hashEntry does, linked to any head, the input converted once', () => {
    const at = new Date('2024-05-01T09:30:00.000Z');
    const inputs = [
      {
        actor: { kind: 'person' as const, email: 'ana@example.com' },
        action: 'grant.approved',
        subject: { type: 'grant', id: 'g-1', agentId: asAgentId('agt_1') },
        details: { z: 1, a: { when: new Date('2024-01-02T03:04:05.000Z'), list: [1, undefined, 'é\u00e9'] }, gone: undefined },
      },
      { actor: { kind: 'system' as const, name: 'supervision' }, action: 'checkin.completed', subject: { type: 'agent', id: 'a' } },
    ];
    const heads = [null, { seq: 41, hash: 'f'.repeat(64) }];
    for (const input of inputs) {
      const prepared = prepareEntry(input, at);
      for (const head of heads) {
        const linked = linkEntry(head, prepared);
        const { hash, ...fields } = linked;
        expect(hash).toBe(hashEntry(fields));
        expect(linked).toEqual(nextEntry(head, input, at));
      }
    }
    expect(() => prepareEntry({ ...inputs[0]!, action: '' }, at)).toThrow(InvalidAuditInputError);
  });
});

describe('verifyChain', () => {
  function bad(entries: AuditEntry[]) {
    const result = verifyChain(entries);
    if (result.ok) throw new Error('expected the chain to be reported as tampered');
    return { checked: result.checked, ...result.firstBad };
  }

  it('accepts an intact chain and returns its head hash', () => {
    const chain = buildChain(5);
    expect(verifyChain(chain)).toEqual({ ok: true, checked: 5, headHash: chain[4]!.hash });
    expect(verifyChain([])).toEqual({ ok: true, checked: 0, headHash: GENESIS_HASH });
  });

  it('reports an entry whose content changed as edited', () => {
    const chain = buildChain(5);
    chain[2] = { ...chain[2]!, details: { ...chain[2]!.details, ttl: '90d' } };
    expect(bad(chain)).toEqual({
      checked: 2,
      seq: 3,
      problem: 'edited',
      message: 'entry 3 was edited: its hash does not match its content',
    });
  });

  it('reports an entry rewritten with a recomputed hash as edited, because the next entry still knows the old hash', () => {
    const chain = buildChain(5);
    chain[2] = rehashed(chain[2]!, { action: 'grant.denied' });
    expect(bad(chain)).toMatchObject({
      seq: 3,
      problem: 'edited',
      message: 'entry 3 was edited: its hash was recomputed, but entry 4 records a different hash for it',
    });
  });

  it('reports a field of the wrong type as edited', () => {
    const chain = buildChain(3);
    chain[1] = { ...chain[1]!, at: chain[1]!.at.toISOString() as never };
    expect(bad(chain)).toMatchObject({ seq: 2, problem: 'edited', message: 'entry 2 was edited: its time is not a valid date' });
  });

  it('reports a missing entry as removed, naming a run of them', () => {
    const chain = buildChain(6);
    expect(bad(chain.filter((e) => e.seq !== 3))).toMatchObject({
      seq: 3,
      problem: 'removed',
      message: 'entry 3 was removed: the chain goes from entry 2 to entry 4',
    });
    expect(bad(chain.filter((e) => e.seq !== 3 && e.seq !== 4))).toMatchObject({
      seq: 3,
      message: 'entries 3–4 were removed: the chain goes from entry 2 to entry 5',
    });
    expect(bad(chain.slice(1))).toMatchObject({ seq: 1, problem: 'removed', message: 'entry 1 was removed: the chain starts at entry 2' });
  });

  it('cannot see entries removed from the end: only the head hash changes', () => {
    const chain = buildChain(5);
    const truncated = verifyChain(chain.slice(0, 4));
    expect(truncated).toEqual({ ok: true, checked: 4, headHash: chain[3]!.hash });
    expect(truncated.ok && truncated.headHash).not.toBe(chain[4]!.hash);
  });

  it('reports entries stored in the wrong order as reordered', () => {
    const [e1, e2, e3, e4, e5] = buildChain(5) as [AuditEntry, AuditEntry, AuditEntry, AuditEntry, AuditEntry];
    expect(bad([e1, e2, e4, e3, e5])).toEqual({
      checked: 2,
      seq: 3,
      problem: 'reordered',
      message: 'entry 3 is out of order: it is stored after entry 4',
    });
  });

  it('reports swapped numbers as reordered at the first misplaced entry', () => {
    const [e1, e2, e3, e4, e5] = buildChain(5) as [AuditEntry, AuditEntry, AuditEntry, AuditEntry, AuditEntry];
    expect(bad([e1, { ...e4, seq: 2 }, e3, { ...e2, seq: 4 }, e5])).toMatchObject({
      seq: 2,
      problem: 'reordered',
      message: 'entry 2 is out of order: it is stored as entry 4',
    });
    expect(bad([e1, { ...e3, seq: 2 }, { ...e2, seq: 3 }, e4, e5])).toMatchObject({ seq: 2, problem: 'reordered' });
  });

  it('reports an entry moved to the end as reordered, not removed', () => {
    const [e1, e2, e3, e4, e5] = buildChain(5) as [AuditEntry, AuditEntry, AuditEntry, AuditEntry, AuditEntry];
    expect(bad([e1, e2, e4, e5, { ...e3, seq: 100 }])).toMatchObject({
      seq: 3,
      problem: 'reordered',
      message: 'entry 3 is out of order: it is stored as entry 100',
    });
  });

  it('reports a forged entry slipped in with the later ones renumbered as inserted', () => {
    const [e1, e2, e3, e4] = buildChain(4) as [AuditEntry, AuditEntry, AuditEntry, AuditEntry];
    const forged = nextEntry(e2, sampleInput(99, { action: 'grant.approved', details: { scope: 'erp:*' } }), new Date(0));
    expect(bad([e1, e2, forged, { ...e3, seq: 4 }, { ...e4, seq: 5 }])).toEqual({
      checked: 3,
      seq: 3,
      problem: 'inserted',
      message: 'entry 3 was inserted: the entry now numbered 4 was recorded as entry 3, directly after entry 2',
    });
    const clumsy = { ...forged, hash: 'f'.repeat(64) };
    expect(bad([e1, e2, clumsy, { ...e3, seq: 4 }, { ...e4, seq: 5 }])).toMatchObject({
      seq: 3,
      problem: 'inserted',
      message: 'entry 3 was inserted: it is not part of the chain; the genuine entry 3 comes right after it, renumbered 4',
    });
  });

  it('reports other entries that are not part of the chain as inserted', () => {
    const [e1, e2, e3] = buildChain(3) as [AuditEntry, AuditEntry, AuditEntry];
    const between = { ...rehashed(e2, { seq: 2.5, action: 'agent.retired' }) };
    expect(bad([e1, e2, between, e3])).toMatchObject({ seq: 2.5, problem: 'inserted' });
    expect(bad([e1, e2, e2, e3])).toMatchObject({ seq: 2, problem: 'inserted' });
    const beyond = rehashed(e3, { seq: 9, prevHash: e3.hash, action: 'agent.retired' });
    expect(bad([e1, e2, e3, beyond])).toMatchObject({
      seq: 9,
      problem: 'inserted',
      message: 'entry 9 was inserted: it claims to follow entry 3, so it should be entry 4',
    });
    expect(bad([e1, e2, e3, { ...e3, seq: 0 }])).toMatchObject({ seq: 0, problem: 'inserted' });
  });

  it('reports a changed actor on the first entry as edited', () => {
    const chain = buildChain(3);
    chain[0] = { ...chain[0]!, actor: { kind: 'person', email: 'mallory@example.com' } };
    expect(bad(chain)).toMatchObject({ seq: 1, problem: 'edited', checked: 0 });
  });
});
