import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { checkCrossReferences, scopeSystem, type ParsedConfigFiles } from '../../src/config/cross-references.js';
import { catalogFileSchema, orgFileSchema, peopleFileSchema, scopesFileSchema } from '../../src/config/schemas.js';
import { repoRoot } from './config-paths.js';

/** The shipped files, schema-parsed, as fresh objects each call (tests mutate them). */
function shippedFiles(): Required<ParsedConfigFiles> {
  const read = (file: string): unknown => parse(readFileSync(path.join(repoRoot, 'config', file), 'utf8'));
  return {
    org: orgFileSchema.parse(read('org.yaml')),
    people: peopleFileSchema.parse(read('people.yaml')),
    scopes: scopesFileSchema.parse(read('scopes.yaml')),
    catalog: catalogFileSchema.parse(read('catalog.yaml')),
  };
}

/** `file: path: message` lines, for compact exact assertions. */
function linesOf(files: ParsedConfigFiles): string[] {
  return checkCrossReferences(files).map((problem) => `${problem.file}: ${problem.path}: ${problem.message}`);
}

function personIndex(files: Required<ParsedConfigFiles>, email: string): number {
  const index = files.people.people.findIndex((person) => person.email === email);
  if (index < 0) throw new Error(`no ${email} in the shipped directory`);
  return index;
}

describe('checkCrossReferences', () => {
  it('finds nothing wrong in the shipped configuration', () => {
    expect(linesOf(shippedFiles())).toEqual([]);
  });

  it("checks the rotation a catalog role's escalation policy names", () => {
    const files = shippedFiles();
    const r = files.catalog.roles.findIndex((role) => role.escalation);
    files.catalog.roles[r]!.escalation!.rotation = 'ai-op';
    expect(linesOf(files)).toEqual([`catalog: roles[${r}].escalation.rotation: unknown rotation "ai-op" (did you mean "ai-ops"?)`]);
    files.catalog.roles[r]!.escalation!.rotation = 'ai-ops';
    expect(linesOf(files)).toEqual([]);
  });

  it('rejects sponsor as a directory role with a helpful message, and unknown role targets', () => {
    const files = shippedFiles();
    const i = personIndex(files, 'elena.rossi@brightwater.example');
    files.people.people[i]!.roles = ['dpo', 'sponsor', 'it_admin', 'approver:legal', 'oncall:sre', 'data-owner:erp', 'dpo'];
    expect(linesOf(files)).toEqual([
      `people: people[${i}].roles[1]: "sponsor" is not a directory role: sponsors are named per agent when the agent is requested`,
      `people: people[${i}].roles[2]: unknown role "it_admin" (did you mean "it-admin"?)`,
      `people: people[${i}].roles[3]: role "approver:legal" names unknown business unit "legal" (known: finance, customer-support, people-ops, engineering, risk-compliance)`,
      `people: people[${i}].roles[4]: role "oncall:sre" names unknown rotation "sre" (known: ai-ops)`,
      `people: people[${i}].roles[5]: role "data-owner:erp" names system "erp", which no scope in scopes.yaml uses (known: kb, web, tickets, crm, email, finance, payments, hris)`,
      `people: people[${i}].roles[6]: duplicate role "dpo"`,
    ]);
  });

  it('checks people: duplicates, managers, business units and chat identities', () => {
    const files = shippedFiles();
    const people = files.people.people;
    const tom = personIndex(files, 'tom.becker@brightwater.example');
    const daniel = personIndex(files, 'daniel.okafor@brightwater.example');
    const amara = personIndex(files, 'amara.osei@brightwater.example');
    people[tom]!.slackUserId = people[0]!.slackUserId;
    people[tom]!.businessUnit = 'support';
    people[daniel]!.manager = 'fatima.ndiay@brightwater.example';
    people[daniel]!.preferredChannel = 'teams';
    people[amara]!.manager = people[amara]!.email;
    people.push({
      ...people[amara]!,
      slackUserId: undefined,
      teamsAadObjectId: undefined,
      teamsUpn: undefined,
      manager: undefined,
      roles: [],
    });
    expect(linesOf(files)).toEqual([
      `people: people[${daniel}].manager: unknown person "fatima.ndiay@brightwater.example" (did you mean "fatima.ndiaye@brightwater.example"?)`,
      `people: people[${daniel}].preferredChannel: "teams" needs teamsAadObjectId or teamsUpn`,
      `people: people[${tom}].businessUnit: unknown business unit "support" (known: finance, customer-support, people-ops, engineering, risk-compliance)`,
      `people: people[${tom}].slackUserId: Slack user id "${people[0]!.slackUserId}" is already used by people[0] (maya.chen@brightwater.example)`,
      `people: people[${amara}].manager: a person cannot be their own manager`,
      `people: people[${people.length - 1}]: no chat identity: add slackUserId, teamsAadObjectId or teamsUpn`,
      `people: people[${people.length - 1}].email: duplicate e-mail "amara.osei@brightwater.example" (first at people[${amara}])`,
    ]);
  });

  it('checks rotations against the directory in both directions, and business units have approvers', () => {
    const files = shippedFiles();
    const sofia = personIndex(files, 'sofia.alvarez@brightwater.example');
    const aisha = personIndex(files, 'aisha.khan@brightwater.example');
    files.org.rotations[0]!.levels[1]!.push('aisha.khan@brightwater.example', 'bob@brightwater.example');
    files.people.people[aisha]!.roles = ['it-admin'];
    files.people.people[sofia]!.roles = ['data-owner:hris', 'oncall:ai-ops'];
    files.org.settings.alertRotation = 'ai-op';
    expect(linesOf(files)).toEqual([
      'org: businessUnits[2]: nobody in people.yaml has role "approver:people-ops"',
      'org: rotations[0].levels[0][1]: "aisha.khan@brightwater.example" is on this rotation but does not have role "oncall:ai-ops" in people.yaml',
      'org: rotations[0].levels[1][1]: "aisha.khan@brightwater.example" is already on level 1 of this rotation',
      'org: rotations[0].levels[1][2]: unknown person "bob@brightwater.example"',
      'org: settings.alertRotation: unknown rotation "ai-op" (did you mean "ai-ops"?)',
      `people: people[${sofia}].roles[1]: "sofia.alvarez@brightwater.example" has role "oncall:ai-ops" but is on no level of rotation "ai-ops" in org.yaml`,
    ]);
  });

  it('checks the approver roles scopes require', () => {
    const files = shippedFiles();
    const i = files.scopes.scopes.findIndex((scope) => scope.id === 'email:send');
    files.scopes.scopes[i]!.requiredApprovers = ['sponsor', 'requester', 'legal', 'approver:hr', 'security', 'security', 'data-owner'];
    files.scopes.scopes.push({ ...files.scopes.scopes[0]!, requiredApprovers: ['dpo'] });
    expect(linesOf(files)).toEqual([
      `scopes: scopes[${i}].requiredApprovers[1]: "requester" cannot be a required approver: everyone is a requester`,
      `scopes: scopes[${i}].requiredApprovers[2]: unknown role "legal" (expected sponsor, data-owner, approver, it-admin, security, compliance, dpo, approver:<business-unit>, data-owner:<system> or oncall:<rotation>)`,
      `scopes: scopes[${i}].requiredApprovers[3]: role "approver:hr" names unknown business unit "hr" (known: finance, customer-support, people-ops, engineering, risk-compliance)`,
      `scopes: scopes[${i}].requiredApprovers[5]: duplicate approver role "security"`,
      `scopes: scopes[${i}].requiredApprovers[6]: "data-owner" needs someone with role "data-owner:email" in people.yaml, and nobody has it`,
      `scopes: scopes[${files.scopes.scopes.length - 1}].id: duplicate scope id "kb:read" (first at scopes[0])`,
    ]);
  });

  it('reports a role nobody holds', () => {
    const files = shippedFiles();
    const elena = personIndex(files, 'elena.rossi@brightwater.example');
    files.people.people[elena]!.roles = [];
    const dpoScopes = files.scopes.scopes.flatMap((scope, i) => (scope.requiredApprovers.includes('dpo') ? [i] : []));
    expect(linesOf(files)).toEqual(
      dpoScopes.map(
        (i) =>
          `scopes: scopes[${i}].requiredApprovers[${files.scopes.scopes[i]!.requiredApprovers.indexOf('dpo')}]: nobody in people.yaml has role "dpo"`,
      ),
    );
    expect(dpoScopes.length).toBeGreaterThan(0);
  });

  it('checks catalog roles: scopes, forbidden defaults, undeclared data classes, business units, duplicates', () => {
    const files = shippedFiles();
    const kb = files.catalog.roles[0]!;
    expect(kb.id).toBe('kb-answerer');
    kb.defaultScopes = ['kb:read', 'crm:read'];
    kb.allowedScopes = ['web:search', 'kb:raed', 'finance:ledger:read', 'hris:medical:read'];
    kb.businessUnits = ['finance', 'legal'];
    files.catalog.roles.push({ ...files.catalog.roles[1]! });
    expect(linesOf(files)).toEqual([
      'catalog: roles[0].allowedScopes[1]: unknown scope "kb:raed" (did you mean "kb:read"?)',
      'catalog: roles[0].allowedScopes[2]: scope "finance:ledger:read" touches financial data, which this role does not list in dataClasses',
      'catalog: roles[0].allowedScopes[3]: scope "hris:medical:read" touches health and pii data, which this role does not list in dataClasses',
      'catalog: roles[0].businessUnits[1]: unknown business unit "legal" (known: finance, customer-support, people-ops, engineering, risk-compliance)',
      'catalog: roles[0].defaultScopes[1]: scope "crm:read" touches pii data, which this role does not list in dataClasses',
      'catalog: roles[0].defaultScopes[1]: default scope "crm:read" is also forbidden (forbiddenScopes[0])',
      'catalog: roles[0].forbiddenScopes[2].scope: scope "finance:ledger:read" is both allowed (allowedScopes[2]) and forbidden',
      `catalog: roles[${files.catalog.roles.length - 1}].id: duplicate catalog role id "support-assistant" (first at roles[1])`,
    ]);
  });

  it('skips checks that need a file which failed to load, but runs the others', () => {
    const files = shippedFiles();
    files.catalog.roles[0]!.allowedScopes = ['crm:delete'];
    files.catalog.roles[0]!.businessUnits = ['legal'];
    expect(linesOf({ catalog: files.catalog, scopes: files.scopes })).toEqual([
      'catalog: roles[0].allowedScopes[0]: unknown scope "crm:delete"',
    ]);
    expect(linesOf({ catalog: files.catalog, org: files.org })).toEqual([
      'catalog: roles[0].businessUnits[0]: unknown business unit "legal" (known: finance, customer-support, people-ops, engineering, risk-compliance)',
    ]);
    expect(linesOf({ catalog: files.catalog })).toEqual([]);
  });

  it('takes the system of a scope from its first segment', () => {
    expect(scopeSystem('finance:ledger:write')).toBe('finance');
    expect(scopeSystem('crm:read')).toBe('crm');
  });
});
