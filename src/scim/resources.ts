/*
 * SCIM 2.0 resources (RFC 7643) as Roster stores and serves them: attribute names are matched
 * case-insensitively and stored in their canonical spelling, unknown attributes are refused,
 * Entra ID's "True"/"False" strings become booleans, read-only and write-only attributes
 * (id, meta, groups, password) are dropped. Everything else is stored exactly as sent.
 */

export const SCHEMA_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const SCHEMA_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const SCHEMA_ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
/** Roster's extension: chat identities an identity provider may provision (immutable ids). */
export const SCHEMA_ROSTER = 'urn:roster:params:scim:schemas:extension:chat:2.0:User';
/** Entra ID adds this to every group it creates. */
export const SCHEMA_ENTRA_GROUP = 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group';
export const SCHEMA_LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const SCHEMA_ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
export const SCHEMA_PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/** RFC 7644 §3.12 `scimType` values. */
export type ScimType =
  | 'invalidFilter'
  | 'tooMany'
  | 'uniqueness'
  | 'mutability'
  | 'invalidSyntax'
  | 'invalidPath'
  | 'noTarget'
  | 'invalidValue'
  | 'invalidVers'
  | 'sensitive';

/** A SCIM error response: status, optional scimType and a detail for the administrator. */
export class ScimError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly scimType?: ScimType,
  ) {
    super(detail);
    this.name = 'ScimError';
  }

  /** The body RFC 7644 §3.12 prescribes (`status` as a string). */
  body(): Record<string, unknown> {
    return {
      schemas: [SCHEMA_ERROR],
      status: String(this.status),
      ...(this.scimType ? { scimType: this.scimType } : {}),
      detail: this.detail,
    };
  }
}

const invalid = (detail: string, scimType: ScimType = 'invalidValue') => new ScimError(400, detail, scimType);

type Kind = 'string' | 'boolean' | 'complex' | 'multi' | 'reference' | 'any';
interface AttrDef {
  name: string;
  kind: Kind;
  sub?: Readonly<Record<string, AttrDef>>;
  /** Dropped on write (read-only or write-only). */
  ignored?: boolean;
}

const str = (name: string): AttrDef => ({ name, kind: 'string' });
const bool = (name: string): AttrDef => ({ name, kind: 'boolean' });
const defs = (...list: AttrDef[]): Record<string, AttrDef> => Object.fromEntries(list.map((d) => [d.name.toLowerCase(), d]));
const multi = (name: string, ...sub: AttrDef[]): AttrDef => ({ name, kind: 'multi', sub: defs(...sub) });
const plural = (name: string, ...extra: AttrDef[]) =>
  multi(name, str('value'), str('display'), str('type'), bool('primary'), str('$ref'), ...extra);

const USER_CORE = defs(
  str('userName'),
  {
    name: 'name',
    kind: 'complex',
    sub: defs(...['formatted', 'familyName', 'givenName', 'middleName', 'honorificPrefix', 'honorificSuffix'].map(str)),
  },
  str('displayName'),
  str('nickName'),
  str('profileUrl'),
  str('title'),
  str('userType'),
  str('preferredLanguage'),
  str('locale'),
  str('timezone'),
  bool('active'),
  { name: 'password', kind: 'string', ignored: true },
  plural('emails'),
  plural('phoneNumbers'),
  plural('ims'),
  plural('photos'),
  multi('addresses', ...['formatted', 'streetAddress', 'locality', 'region', 'postalCode', 'country', 'type'].map(str), bool('primary')),
  { name: 'groups', kind: 'any', ignored: true },
  plural('entitlements'),
  plural('roles'),
  plural('x509Certificates'),
  str('externalId'),
);
const ENTERPRISE = defs(str('employeeNumber'), str('costCenter'), str('organization'), str('division'), str('department'), {
  name: 'manager',
  kind: 'complex',
  sub: defs(str('value'), str('$ref'), str('displayName')),
});
const ROSTER = defs(str('slackUserId'), str('teamsAadObjectId'), str('preferredChannel'));
const GROUP_CORE = defs(str('displayName'), str('externalId'), multi('members', str('value'), str('display'), str('$ref'), str('type')));

/** Extensions by lower-cased URN, per resource type. */
const USER_EXTENSIONS: ReadonlyMap<string, { urn: string; attrs: Record<string, AttrDef> }> = new Map([
  [SCHEMA_ENTERPRISE.toLowerCase(), { urn: SCHEMA_ENTERPRISE, attrs: ENTERPRISE }],
  [SCHEMA_ROSTER.toLowerCase(), { urn: SCHEMA_ROSTER, attrs: ROSTER }],
]);
const USER_SCHEMAS = [SCHEMA_USER, SCHEMA_ENTERPRISE, SCHEMA_ROSTER];
const GROUP_SCHEMAS = [SCHEMA_GROUP, SCHEMA_ENTRA_GROUP];
const ALWAYS_IGNORED = new Set(['id', 'meta', 'schemas']);

/** A stored resource: canonical attribute names, no id/meta/schemas. */
export type Resource = Record<string, unknown>;

function coerceBoolean(value: unknown, at: string): boolean {
  if (typeof value === 'boolean') return value;
  // Entra ID sends "True"/"False" by default (its documented SCIM compatibility quirk).
  if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
  throw invalid(`${at} must be a boolean`);
}

function canonicalValue(def: AttrDef, value: unknown, at: string): unknown {
  if (value === null) return undefined;
  switch (def.kind) {
    case 'string':
    case 'reference':
      if (typeof value === 'string') return value;
      if (typeof value === 'number') return String(value);
      throw invalid(`${at} must be a string`);
    case 'boolean':
      return coerceBoolean(value, at);
    case 'any':
      return value;
    case 'complex':
      // Entra sends the manager as a bare id in PATCH ("value": "<id>").
      if (typeof value === 'string' && def.sub?.value) return { value };
      return canonicalObject(def.sub!, value, at);
    case 'multi': {
      const list = Array.isArray(value) ? value : [value];
      return list.map((item, i) => canonicalObject(def.sub!, typeof item === 'string' ? { value: item } : item, `${at}[${i}]`));
    }
  }
}

function canonicalObject(attrs: Readonly<Record<string, AttrDef>>, value: unknown, at: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(`${at} must be an object`, 'invalidSyntax');
  const out: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(value)) {
    const def = attrs[key.toLowerCase()];
    if (!def) throw invalid(`unknown attribute "${at ? `${at}.` : ''}${key}"`, 'invalidSyntax');
    if (def.ignored) continue;
    const canonical = canonicalValue(def, raw, at ? `${at}.${def.name}` : def.name);
    if (canonical !== undefined) out[def.name] = canonical;
  }
  return out;
}

/**
 * Canonical form of a User body (POST, PUT, or the result of a PATCH): known attributes only,
 * canonical names, booleans coerced; `userName` required.
 */
export function canonicalUser(body: unknown): Resource {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid('the body must be a JSON object', 'invalidSyntax');
  const core: Record<string, unknown> = {};
  const out: Resource = {};
  for (const [key, value] of Object.entries(body)) {
    const lower = key.toLowerCase();
    if (ALWAYS_IGNORED.has(lower)) continue;
    const extension = USER_EXTENSIONS.get(lower);
    if (extension) {
      const canonical = value === null ? undefined : canonicalObject(extension.attrs, value, extension.urn);
      if (canonical && Object.keys(canonical).length > 0) out[extension.urn] = canonical;
      continue;
    }
    if (lower.startsWith('urn:')) {
      // A fully qualified attribute ("urn:…:enterprise:2.0:User:department", "urn:…:core:2.0:User:userName").
      const urn = [...USER_EXTENSIONS.values(), { urn: SCHEMA_USER, attrs: USER_CORE }].find((e) =>
        lower.startsWith(`${e.urn.toLowerCase()}:`),
      );
      if (!urn) throw invalid(`unknown schema or attribute "${key}"`, 'invalidSyntax');
      const attr = key.slice(urn.urn.length + 1);
      const target = urn.urn === SCHEMA_USER ? core : ((out[urn.urn] as Record<string, unknown> | undefined) ?? (out[urn.urn] = {}));
      Object.assign(target, canonicalObject(urn.attrs, { [attr]: value }, urn.urn === SCHEMA_USER ? '' : urn.urn));
      continue;
    }
    mergeInto(core, canonicalObject(USER_CORE, { [key]: value }, ''));
  }
  Object.assign(out, core);
  if (typeof out.userName !== 'string' || out.userName.trim() === '') throw invalid('userName is required', 'invalidValue');
  return out;
}

/** Assigns `from` into `into`; two spellings of one complex attribute ("name", "Name") are merged. */
function mergeInto(into: Record<string, unknown>, from: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(from)) {
    const existing = into[key];
    const plain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
    into[key] = plain(existing) && plain(value) ? { ...existing, ...value } : value;
  }
}

/** Canonical form of a Group body; `displayName` required. */
export function canonicalGroup(body: unknown): Resource {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid('the body must be a JSON object', 'invalidSyntax');
  const entries = Object.entries(body).filter(([key]) => !ALWAYS_IGNORED.has(key.toLowerCase()));
  const out = canonicalObject(GROUP_CORE, Object.fromEntries(entries), '');
  if (typeof out.displayName !== 'string' || out.displayName.trim() === '') throw invalid('displayName is required', 'invalidValue');
  return out;
}

/** Checks the `schemas` of a request body: it must name the core schema of the resource type. */
export function checkSchemas(body: unknown, kind: 'User' | 'Group'): void {
  const schemas = (body as { schemas?: unknown } | null)?.schemas;
  const core = kind === 'User' ? SCHEMA_USER : SCHEMA_GROUP;
  const allowed = kind === 'User' ? USER_SCHEMAS : GROUP_SCHEMAS;
  if (!Array.isArray(schemas) || !schemas.every((s) => typeof s === 'string'))
    throw invalid('schemas must be a list of schema URNs', 'invalidSyntax');
  const lower = schemas.map((s: string) => s.toLowerCase());
  if (!lower.includes(core.toLowerCase())) throw invalid(`schemas must include ${core}`, 'invalidSyntax');
  const unknown = schemas.find((s: string) => !allowed.some((a) => a.toLowerCase() === s.toLowerCase()));
  if (unknown) throw invalid(`unknown schema "${unknown}"`, 'invalidSyntax');
}

/** The work (else primary, else first) e-mail of a user, lower-cased; the userName when it is an address. */
export function userEmail(resource: Resource): string | undefined {
  const emails = (resource.emails as Array<{ value?: string; type?: string; primary?: boolean }> | undefined) ?? [];
  const chosen =
    emails.find((e) => e.type?.toLowerCase() === 'work' && e.value) ??
    emails.find((e) => e.primary && e.value) ??
    emails.find((e) => e.value);
  const email = chosen?.value ?? (String(resource.userName).includes('@') ? String(resource.userName) : undefined);
  return email?.trim().toLowerCase();
}

/** The display name of a user: displayName, else name.formatted, else given + family name, else userName. */
export function userDisplayName(resource: Resource): string {
  const name = resource.name as { formatted?: string; givenName?: string; familyName?: string } | undefined;
  const joined = [name?.givenName, name?.familyName].filter(Boolean).join(' ');
  return String(resource.displayName || name?.formatted || joined || resource.userName);
}

/** The enterprise extension of a user, if any. */
export function enterpriseOf(resource: Resource): { department?: string; manager?: { value?: string } } | undefined {
  return resource[SCHEMA_ENTERPRISE] as { department?: string; manager?: { value?: string } } | undefined;
}

/** Roster's chat extension of a user, if any. */
export function chatOf(resource: Resource): { slackUserId?: string; teamsAadObjectId?: string; preferredChannel?: string } | undefined {
  return resource[SCHEMA_ROSTER] as { slackUserId?: string; teamsAadObjectId?: string; preferredChannel?: string } | undefined;
}

/** The `schemas` to return with a stored user: core, plus each extension it has. */
export function userSchemas(resource: Resource): string[] {
  return [SCHEMA_USER, ...[SCHEMA_ENTERPRISE, SCHEMA_ROSTER].filter((urn) => resource[urn] !== undefined)];
}

/**
 * Rewrites the attribute names of a PATCH path to their canonical spelling (`Emails[Type eq
 * "work"].Value` → `emails[type eq "work"].value`), so scim-patch, which is case-sensitive,
 * finds what is stored. Throws `invalidPath` for an attribute the resource type does not have.
 */
export function canonicalPath(path: string, kind: 'User' | 'Group'): string {
  const trimmed = path.trim();
  const lower = trimmed.toLowerCase();
  if (kind === 'User') {
    for (const ext of [...USER_EXTENSIONS.values(), { urn: SCHEMA_USER, attrs: USER_CORE }]) {
      const prefix = ext.urn.toLowerCase();
      if (lower === prefix) return ext.urn;
      if (lower.startsWith(`${prefix}:`)) {
        const rest = canonicalAttrPath(trimmed.slice(prefix.length + 1), ext.attrs, path);
        return ext.urn === SCHEMA_USER ? rest : `${ext.urn}:${rest}`;
      }
    }
  }
  if (lower.startsWith('urn:')) throw invalid(`unknown attribute path "${path}"`, 'invalidPath');
  return canonicalAttrPath(trimmed, kind === 'User' ? USER_CORE : GROUP_CORE, path);
}

function canonicalAttrPath(path: string, attrs: Readonly<Record<string, AttrDef>>, original: string): string {
  const match = /^([A-Za-z$][\w$-]*)(\[[^\]]*\])?(?:\.([A-Za-z$][\w$-]*))?$/.exec(path);
  if (!match) throw invalid(`cannot parse the path "${original}"`, 'invalidPath');
  const [, attrName, filter, subName] = match;
  const def = attrs[attrName!.toLowerCase()];
  if (!def || def.ignored) throw invalid(`unknown attribute path "${original}"`, 'invalidPath');
  let out = def.name;
  if (filter) {
    if (def.kind !== 'multi') throw invalid(`"${def.name}" is not multi-valued: no filter allowed in "${original}"`, 'invalidPath');
    out += filter.replace(/(^\[|\b(?:and|or|not)\s+)([A-Za-z$][\w$]*)/gi, (all, lead: string, name: string) => {
      const sub = def.sub?.[name.toLowerCase()];
      return sub ? `${lead}${sub.name}` : all;
    });
  }
  if (subName) {
    const sub = def.sub?.[subName.toLowerCase()];
    if (!sub) throw invalid(`unknown attribute path "${original}"`, 'invalidPath');
    out += `.${sub.name}`;
  }
  return out;
}
