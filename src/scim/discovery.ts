import { MAX_RESULTS } from './scim-service.js';
import { SCHEMA_ENTERPRISE, SCHEMA_GROUP, SCHEMA_LIST, SCHEMA_ROSTER, SCHEMA_USER } from './resources.js';

/*
 * Discovery (RFC 7643 §5–7, RFC 7644 §4): what this service provider supports, the two resource
 * types and the schemas of their attributes, as Entra ID's and Okta's schema discovery read them.
 */

const attr = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  type: 'string',
  multiValued: false,
  required: false,
  caseExact: false,
  mutability: 'readWrite',
  returned: 'default',
  uniqueness: 'none',
  ...extra,
});
const sub = (names: string[]) => names.map((n) => attr(n, n === 'primary' ? { type: 'boolean' } : {}));
const multi = (name: string, subs = ['value', 'display', 'type', 'primary']) =>
  attr(name, { type: 'complex', multiValued: true, subAttributes: sub(subs) });

const schema = (id: string, name: string, description: string, attributes: unknown[], base: string) => ({
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:Schema'],
  id,
  name,
  description,
  attributes,
  meta: { resourceType: 'Schema', location: `${base}/Schemas/${id}` },
});

/** The schemas Roster serves, with the attributes it stores. */
export function schemas(base: string) {
  return [
    schema(
      SCHEMA_USER,
      'User',
      'User Account',
      [
        attr('userName', { required: true, uniqueness: 'server' }),
        attr('name', {
          type: 'complex',
          subAttributes: sub(['formatted', 'familyName', 'givenName', 'middleName', 'honorificPrefix', 'honorificSuffix']),
        }),
        ...['displayName', 'nickName', 'profileUrl', 'title', 'userType', 'preferredLanguage', 'locale', 'timezone'].map((n) => attr(n)),
        attr('active', { type: 'boolean' }),
        attr('password', { mutability: 'writeOnly', returned: 'never' }),
        multi('emails'),
        multi('phoneNumbers'),
        multi('ims'),
        multi('photos'),
        multi('addresses', ['formatted', 'streetAddress', 'locality', 'region', 'postalCode', 'country', 'type', 'primary']),
        attr('groups', { type: 'complex', multiValued: true, mutability: 'readOnly', subAttributes: sub(['value', '$ref', 'display']) }),
        multi('entitlements'),
        multi('roles'),
        multi('x509Certificates'),
        attr('externalId', { caseExact: true }),
      ],
      base,
    ),
    schema(
      SCHEMA_ENTERPRISE,
      'EnterpriseUser',
      'Enterprise User',
      [
        ...['employeeNumber', 'costCenter', 'organization', 'division', 'department'].map((n) => attr(n)),
        attr('manager', { type: 'complex', subAttributes: sub(['value', '$ref', 'displayName']) }),
      ],
      base,
    ),
    schema(
      SCHEMA_ROSTER,
      'RosterChatUser',
      'Chat identities of a user, when the identity provider knows them (immutable ids: Slack user id, Entra object id)',
      [
        attr('slackUserId', { caseExact: true }),
        attr('teamsAadObjectId'),
        attr('preferredChannel', { canonicalValues: ['slack', 'teams'] }),
      ],
      base,
    ),
    schema(
      SCHEMA_GROUP,
      'Group',
      'Group',
      [
        attr('displayName', { required: true, uniqueness: 'server' }),
        attr('externalId', { caseExact: true }),
        attr('members', { type: 'complex', multiValued: true, subAttributes: sub(['value', 'display', '$ref', 'type']) }),
      ],
      base,
    ),
  ];
}

export function resourceTypes(base: string) {
  const type = (id: string, endpoint: string, core: string, extensions: string[]) => ({
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
    id,
    name: id,
    endpoint,
    schema: core,
    schemaExtensions: extensions.map((s) => ({ schema: s, required: false })),
    meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/${id}` },
  });
  return [type('User', '/Users', SCHEMA_USER, [SCHEMA_ENTERPRISE, SCHEMA_ROSTER]), type('Group', '/Groups', SCHEMA_GROUP, [])];
}

export function serviceProviderConfig(base: string, documentationUri?: string) {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
    ...(documentationUri ? { documentationUri } : {}),
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: MAX_RESULTS },
    changePassword: { supported: false },
    sort: { supported: false },
    etag: { supported: false },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'Bearer token',
        description: 'The long-lived secret token set in ROSTER_SCIM_TOKEN, sent as "Authorization: Bearer <token>".',
        primary: true,
      },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${base}/ServiceProviderConfig` },
  };
}

/** A ListResponse of discovery resources. */
export function listOf(resources: unknown[]) {
  return { schemas: [SCHEMA_LIST], totalResults: resources.length, startIndex: 1, itemsPerPage: resources.length, Resources: resources };
}
