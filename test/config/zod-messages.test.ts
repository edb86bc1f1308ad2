import { z } from 'zod';
import { catalogRoleSchema, forbiddenScopeSchema, personSchema } from '../../src/config/schemas.js';
import { describeValue, formatPath, validateWithSchema } from '../../src/config/zod-messages.js';

const sample = z.strictObject({
  name: z.string(),
  count: z.number(),
  size: z.number().int().min(1).max(10),
  level: z.enum(['low', 'medium', 'high']),
  tags: z.array(z.string()).min(1),
  nested: z.strictObject({ items: z.array(z.strictObject({ flag: z.boolean() })) }),
});

const valid = { name: 'n', count: 1, size: 3, level: 'low', tags: ['a'], nested: { items: [{ flag: true }] } };

function problemsOf(schema: z.ZodType, data: unknown): string[] {
  const result = validateWithSchema(schema, data);
  return result.ok ? [] : result.problems;
}

describe('zod issues in the configuration style', () => {
  it('accepts valid data and returns the parsed value', () => {
    expect(validateWithSchema(sample, valid)).toEqual({ ok: true, data: valid });
  });

  it('names enum options and the value given', () => {
    expect(problemsOf(sample, { ...valid, level: 'extreme' })).toEqual(['level: expected low | medium | high, got "extreme"']);
    expect(problemsOf(sample, { ...valid, level: 2 })).toEqual(['level: expected low | medium | high, got number 2']);
  });

  it('names the expected type and the type and value given', () => {
    expect(problemsOf(sample, { ...valid, count: 'abc' })).toEqual(['count: expected number, got string "abc"']);
    expect(problemsOf(sample, { ...valid, name: null })).toEqual(['name: expected string, got null']);
    expect(problemsOf(sample, { ...valid, tags: 'a' })).toEqual(['tags: expected array, got string "a"']);
    expect(problemsOf(sample, { ...valid, nested: [] })).toEqual(['nested: expected object, got array']);
    expect(problemsOf(sample, { ...valid, size: 2.5 })).toEqual(['size: expected integer, got number 2.5']);
  });

  it('says "required" for a missing field, including a missing enum', () => {
    const { name: _name, level: _level, ...rest } = valid;
    expect(problemsOf(sample, rest)).toEqual(['name: required', 'level: required']);
  });

  it('reports each unknown field on its own line at the object path, suggesting a likely typo', () => {
    expect(problemsOf(sample, { ...valid, foo: 1, Tag: ['x'] })).toEqual([
      '(root): unknown field "foo"',
      '(root): unknown field "Tag" (did you mean "tags"?)',
    ]);
    expect(problemsOf(sample, { ...valid, nested: { items: [{ flag: true }, { flag: false, colour: 'red' }] } })).toEqual([
      'nested.items[1]: unknown field "colour"',
    ]);
  });

  it('states ranges and sizes', () => {
    expect(problemsOf(sample, { ...valid, size: 0 })).toEqual(['size: must be at least 1, got number 0']);
    expect(problemsOf(sample, { ...valid, size: 11 })).toEqual(['size: must be at most 10, got number 11']);
    expect(problemsOf(sample, { ...valid, tags: [] })).toEqual(['tags: must list at least 1 item']);
  });

  it('uses the schema-specific wording for ids, e-mails, GUIDs and nested items', () => {
    const person = { email: 'a@b.example', name: 'A', businessUnit: 'finance', slackUserId: 'U123' };
    expect(problemsOf(personSchema, { ...person, email: 'not-an-email' })).toEqual([
      'email: expected an e-mail address, got "not-an-email"',
    ]);
    expect(problemsOf(personSchema, { ...person, email: undefined })).toEqual(['email: required']);
    expect(problemsOf(personSchema, { ...person, businessUnit: 'Customer Support' })).toEqual([
      'businessUnit: expected a lowercase id like "customer-support", got "Customer Support"',
    ]);
    expect(problemsOf(personSchema, { ...person, slackUserId: 'alice' })).toEqual([
      'slackUserId: expected a Slack user id like "U024BE7LH", got "alice"',
    ]);
    expect(problemsOf(personSchema, { ...person, teamsAadObjectId: '1234' })).toEqual([
      'teamsAadObjectId: expected an AAD object id (GUID) like "8f2c1a4e-3b7d-4e6f-9a10-2c5d8e7f1b3a", got "1234"',
    ]);
    expect(problemsOf(personSchema, { ...person, name: '  ' })).toEqual(['name: must not be empty']);
    expect(problemsOf(forbiddenScopeSchema, 'CRM')).toEqual([
      'scope: expected a scope id "system:permission" like "crm:read" (lowercase, colon-separated), got "CRM"',
    ]);
    expect(problemsOf(forbiddenScopeSchema, 7)).toEqual(['(root): expected a scope id or { scope, reason }, got number 7']);
  });

  it('normalises e-mails and Teams ids to lower case and forbidden scopes to objects', () => {
    const parsed = personSchema.parse({
      email: 'Maya.Chen@Brightwater.Example',
      name: 'Maya',
      businessUnit: 'finance',
      teamsAadObjectId: 'BF3A3CE9-01C7-4978-BE10-73F656FB270B',
      teamsUpn: 'Maya.Chen@Brightwater.Example',
    });
    expect(parsed).toEqual({
      email: 'maya.chen@brightwater.example',
      name: 'Maya',
      businessUnit: 'finance',
      teamsAadObjectId: 'bf3a3ce9-01c7-4978-be10-73f656fb270b',
      teamsUpn: 'maya.chen@brightwater.example',
      roles: [],
    });
    expect(forbiddenScopeSchema.parse('crm:write')).toEqual({ scope: 'crm:write' });
  });

  it('checks drift thresholds against each other', () => {
    const drift = catalogRoleSchema.shape.drift;
    expect(problemsOf(drift, { psiWatch: 0.3, psiDegraded: 0.2 })).toEqual(['psiDegraded: must be greater than psiWatch (0.3), got 0.2']);
    expect(drift.parse(undefined)).toEqual({
      metrics: ['accuracy', 'failure-rate', 'handoff-rate', 'p95-latency', 'cost-per-task', 'volume', 'task-mix', 'fairness'],
      accuracyDropMin: 0.05,
      psiWatch: 0.1,
      psiDegraded: 0.2,
      pValue: 0.01,
      minSamplesPerGroup: 30,
      disparateImpactMin: 0.8,
    });
  });
});

describe('formatPath and describeValue', () => {
  it('formats paths as a.b[2].c', () => {
    expect(formatPath(['roles', 2, 'riskTier'])).toBe('roles[2].riskTier');
    expect(formatPath(['rotations', 0, 'levels', 1, 0])).toBe('rotations[0].levels[1][0]');
    expect(formatPath(['map', 'a b'])).toBe('map["a b"]');
    expect(formatPath([])).toBe('(root)');
  });

  it('describes values with their type', () => {
    expect(describeValue('x'.repeat(80))).toBe(`string "${'x'.repeat(57)}..."`);
    expect(describeValue(true)).toBe('boolean true');
    expect(describeValue({})).toBe('object');
    expect(describeValue(undefined)).toBe('nothing');
  });
});
