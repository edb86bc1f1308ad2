import {
  businessUnitById,
  catalogRolesFor,
  findPersonByEmail,
  findPersonBySlackId,
  findPersonByTeamsId,
  hasRole,
  peopleWithRole,
  roleById,
  rotationLevels,
  scopeById,
} from '../../src/config/directory.js';
import { loadOrgConfig, type OrgConfig } from '../../src/config/org-config.js';
import { shippedConfigDir } from './config-paths.js';

describe('directory look-ups on the shipped organisation', () => {
  let config: OrgConfig;
  beforeAll(() => {
    config = loadOrgConfig(shippedConfigDir);
  });

  it('finds people by e-mail regardless of case', () => {
    expect(findPersonByEmail(config, ' Maya.Chen@Brightwater.EXAMPLE ')?.name).toBe('Maya Chen');
    expect(findPersonByEmail(config, 'nobody@brightwater.example')).toBeUndefined();
  });

  it('finds people by Slack user id exactly', () => {
    expect(findPersonBySlackId(config, 'U05D9W4H7LE')?.email).toBe('daniel.okafor@brightwater.example');
    expect(findPersonBySlackId(config, 'u05d9w4h7le')).toBeUndefined();
  });

  it('finds people by Teams AAD object id or UPN, case-insensitively', () => {
    expect(findPersonByTeamsId(config, '6C45046D-121A-4C1B-BDF9-D30B47C1CC50')?.email).toBe('tom.becker@brightwater.example');
    expect(findPersonByTeamsId(config, 'Tom.Becker@Brightwater.example')?.email).toBe('tom.becker@brightwater.example');
    expect(findPersonByTeamsId(config, '00000000-0000-0000-0000-000000000000')).toBeUndefined();
  });

  it('lists people with a role; everyone is a requester', () => {
    expect(peopleWithRole(config, 'it-admin').map((p) => p.email)).toEqual([
      'liam.oneill@brightwater.example',
      'aisha.khan@brightwater.example',
    ]);
    expect(peopleWithRole(config, 'approver:finance').map((p) => p.email)).toEqual(['maya.chen@brightwater.example']);
    expect(peopleWithRole(config, 'requester')).toHaveLength(config.people.length);
    expect(peopleWithRole(config, 'sponsor')).toEqual([]);
    const grace = findPersonByEmail(config, 'grace.liu@brightwater.example');
    expect(grace && hasRole(grace, 'security')).toBe(true);
    expect(grace && hasRole(grace, 'requester')).toBe(true);
    expect(grace && hasRole(grace, 'dpo')).toBe(false);
  });

  it('looks up scopes, catalog roles and business units by id', () => {
    expect(scopeById(config, 'finance:ledger:write')?.risk).toBe('high');
    expect(scopeById(config, 'finance:ledger:delete')).toBeUndefined();
    expect(roleById(config, 'fraud-screening')?.escalation).toEqual({ renotifyMinutes: 5, escalateAfterMinutes: 10, maxLoops: 3 });
    expect(roleById(config, 'nope')).toBeUndefined();
    expect(businessUnitById(config, 'people-ops')?.name).toBe('People Operations');
  });

  it('lists the catalog roles a business unit may request', () => {
    expect(catalogRolesFor(config, 'finance').map((role) => role.id)).toEqual(['kb-answerer', 'invoice-triage', 'fraud-screening']);
    expect(catalogRolesFor(config, 'customer-support').map((role) => role.id)).toEqual(['kb-answerer', 'support-assistant']);
  });

  it('resolves rotation levels to people, undefined for an unknown rotation', () => {
    expect(rotationLevels(config, 'ai-ops')?.map((level) => level.map((p) => p.name))).toEqual([
      ["Liam O'Neill", 'Aisha Khan'],
      ['Noah Fischer'],
    ]);
    expect(rotationLevels(config, 'sre')).toBeUndefined();
  });
});
