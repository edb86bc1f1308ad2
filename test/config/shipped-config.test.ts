import { loadOrgConfig, validateOrgConfig, type OrgConfig } from '../../src/config/org-config.js';
import { parseDirectoryRole } from '../../src/config/roles.js';
import { peopleWithRole, rotationLevels } from '../../src/config/directory.js';
import { shippedConfigDir } from './config-paths.js';

describe('the shipped sample organisation (config/)', () => {
  let config: OrgConfig;
  beforeAll(() => {
    config = loadOrgConfig(shippedConfigDir);
  });

  it('loads with zero problems', () => {
    expect(validateOrgConfig(shippedConfigDir)).toEqual({ ok: true, config });
  });

  it('has at least 3 business units, each with an approver', () => {
    expect(config.businessUnits.length).toBeGreaterThanOrEqual(3);
    for (const unit of config.businessUnits) {
      expect(peopleWithRole(config, `approver:${unit.id}`).map((p) => p.email)).not.toHaveLength(0);
    }
  });

  it('has at least 10 people covering every kind of directory role', () => {
    expect(config.people.length).toBeGreaterThanOrEqual(10);
    const kinds = new Set(config.people.flatMap((person) => person.roles.map((role) => parseDirectoryRole(role)?.kind)));
    expect([...kinds].sort()).toEqual(['approver', 'compliance', 'data-owner', 'dpo', 'it-admin', 'oncall', 'requester', 'security']);
    expect(peopleWithRole(config, 'it-admin')).toHaveLength(2);
    for (const system of ['crm', 'finance', 'hris', 'kb']) {
      expect(peopleWithRole(config, `data-owner:${system}`)).toHaveLength(1);
    }
  });

  it('has Slack-only, Teams-only and Teams-preferring people with plausible ids', () => {
    const slackOnly = config.people.filter(
      (p) => p.slackUserId !== undefined && p.teamsAadObjectId === undefined && p.teamsUpn === undefined,
    );
    const teamsOnly = config.people.filter((p) => p.slackUserId === undefined && p.teamsAadObjectId !== undefined);
    expect(slackOnly.map((p) => p.email)).toEqual(['daniel.okafor@brightwater.example']);
    expect(teamsOnly.map((p) => p.email)).toEqual(['tom.becker@brightwater.example']);
    expect(config.people.filter((p) => p.preferredChannel === 'teams').length).toBeGreaterThanOrEqual(1);
    for (const person of config.people) {
      if (person.slackUserId !== undefined) expect(person.slackUserId).toMatch(/^U0[A-Z0-9]{8,}$/);
      if (person.teamsAadObjectId !== undefined)
        expect(person.teamsAadObjectId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
  });

  it('has a two-level ai-ops rotation with different people on each level, paged by alerts', () => {
    expect(config.settings.alertRotation).toBe('ai-ops');
    const levels = rotationLevels(config, 'ai-ops')?.map((level) => level.map((person) => person.email));
    expect(levels).toEqual([['liam.oneill@brightwater.example', 'aisha.khan@brightwater.example'], ['noah.fischer@brightwater.example']]);
  });

  it('has at least 12 scopes spanning every risk level and the pii, financial, health and public data classes', () => {
    expect(config.scopes.length).toBeGreaterThanOrEqual(12);
    expect(new Set(config.scopes.map((scope) => scope.risk))).toEqual(new Set(['low', 'medium', 'high']));
    const classes = new Set(config.scopes.flatMap((scope) => scope.dataClasses));
    for (const dataClass of ['pii', 'financial', 'health', 'public']) expect(classes).toContain(dataClass);
  });

  it('has at least 5 catalog roles: low, medium and high risk, one touching pii, one financial', () => {
    expect(config.catalog.length).toBeGreaterThanOrEqual(5);
    expect(new Set(config.catalog.map((role) => role.riskTier))).toEqual(new Set(['low', 'medium', 'high']));
    expect(config.catalog.filter((role) => role.dataClasses.includes('pii')).length).toBeGreaterThanOrEqual(1);
    expect(config.catalog.filter((role) => role.dataClasses.includes('financial')).length).toBeGreaterThanOrEqual(1);
    const hr = config.catalog.find((role) => role.id === 'hr-onboarding-assistant');
    expect(hr?.dataClasses).toEqual(expect.arrayContaining(['pii', 'health']));
    const fraud = config.catalog.find((role) => role.id === 'fraud-screening');
    expect(fraud?.riskTier).toBe('high');
    expect(fraud?.dataClasses).toContain('financial');
  });

  it('parses durations to text and milliseconds and applies defaults', () => {
    expect(config.settings.breakGlassMaxTtl).toEqual({ text: '4h', ms: 4 * 60 * 60 * 1000 });
    const kb = config.catalog.find((role) => role.id === 'kb-answerer');
    expect(kb?.checkInCadence).toEqual({ text: '30d', ms: 30 * 24 * 60 * 60 * 1000 });
    expect(kb?.flow).toBe('agent-request');
    expect(kb?.drift.psiDegraded).toBe(0.2);
    expect(kb?.forbiddenScopes[1]).toEqual({ scope: 'hris:employee:read' });
    expect(kb?.businessUnits).toBeUndefined();
  });
});
