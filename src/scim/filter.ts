import { parse, type Filter } from 'scim2-parse-filter';
import { ScimError } from './resources.js';

/*
 * SCIM filters (RFC 7644 §3.4.2.2) parsed by scim2-parse-filter and translated into a query on
 * the directory store's indexed fields, so a look-up by userName among 10,000 users is one
 * indexed read, not a scan. Only attributes the store indexes can be filtered on; anything else
 * is an `invalidFilter` error naming the attribute.
 */

/** A query document for the store (MongoDB syntax, a subset). */
export type StoreQuery = Record<string, unknown>;

interface Field {
  /** Stored field. */
  field: string;
  /** Compared lower-cased (caseExact false in RFC 7643). */
  caseInsensitive: boolean;
  boolean?: boolean;
}

const USER_FIELDS: Record<string, Field> = {
  id: { field: '_id', caseInsensitive: false },
  username: { field: 'userNameKey', caseInsensitive: true },
  externalid: { field: 'externalId', caseInsensitive: false },
  displayname: { field: 'displayNameKey', caseInsensitive: true },
  'emails.value': { field: 'emailValues', caseInsensitive: true },
  emails: { field: 'emailValues', caseInsensitive: true },
  active: { field: 'active', caseInsensitive: false, boolean: true },
};
const GROUP_FIELDS: Record<string, Field> = {
  id: { field: '_id', caseInsensitive: false },
  displayname: { field: 'displayNameKey', caseInsensitive: true },
  externalid: { field: 'externalId', caseInsensitive: false },
  'members.value': { field: 'members', caseInsensitive: false },
  members: { field: 'members', caseInsensitive: false },
};

const CORE_PREFIXES = ['urn:ietf:params:scim:schemas:core:2.0:user:', 'urn:ietf:params:scim:schemas:core:2.0:group:'];

function fieldOf(attrPath: string, kind: 'User' | 'Group'): Field {
  let key = attrPath.toLowerCase();
  for (const prefix of CORE_PREFIXES) if (key.startsWith(prefix)) key = key.slice(prefix.length);
  const field = (kind === 'User' ? USER_FIELDS : GROUP_FIELDS)[key];
  if (!field) {
    const known =
      kind === 'User' ? 'id, userName, externalId, displayName, emails.value, active' : 'id, displayName, externalId, members.value';
    throw new ScimError(400, `cannot filter ${kind}s on "${attrPath}" (filterable: ${known})`, 'invalidFilter');
  }
  return field;
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function comparison(op: string, field: Field, raw: unknown): StoreQuery {
  if (field.boolean) {
    if (op !== 'eq' && op !== 'ne') throw new ScimError(400, `operator ${op} does not apply to a boolean`, 'invalidFilter');
    const value = typeof raw === 'string' ? raw.toLowerCase() === 'true' : raw;
    if (typeof value !== 'boolean') throw new ScimError(400, 'expected true or false', 'invalidFilter');
    return { [field.field]: op === 'eq' ? value : { $ne: value } };
  }
  if (typeof raw !== 'string') throw new ScimError(400, `expected a quoted string, got ${JSON.stringify(raw)}`, 'invalidFilter');
  const value = field.caseInsensitive ? raw.toLowerCase() : raw;
  switch (op) {
    case 'eq':
      return { [field.field]: value };
    case 'ne':
      return { [field.field]: { $ne: value } };
    case 'sw':
      return { [field.field]: { $regex: `^${escapeRegex(value)}` } };
    case 'ew':
      return { [field.field]: { $regex: `${escapeRegex(value)}$` } };
    case 'co':
      return { [field.field]: { $regex: escapeRegex(value) } };
    default:
      throw new ScimError(400, `operator ${op} is not supported on this attribute`, 'invalidFilter');
  }
}

/** `emails[type eq "work"]` (optionally with `value eq "…"` inside or after it) as a query on typed e-mails. */
function emailValueFilter(valFilter: Filter, value?: string): StoreQuery {
  let type: string | undefined;
  let inner: string | undefined = value;
  const visit = (f: Filter): void => {
    if (f.op === 'and') return f.filters.forEach(visit);
    if (f.op === 'eq' && typeof f.compValue === 'string' && f.attrPath.toLowerCase() === 'type') type = f.compValue.toLowerCase();
    else if (f.op === 'eq' && typeof f.compValue === 'string' && f.attrPath.toLowerCase() === 'value') inner = f.compValue.toLowerCase();
    else throw new ScimError(400, 'only type eq and value eq are supported inside emails[...]', 'invalidFilter');
  };
  visit(valFilter);
  if (type && inner) return { emailTyped: `${type}:${inner}` };
  if (type) return { emailTyped: { $regex: `^${escapeRegex(type)}:` } };
  if (inner) return { emailValues: inner };
  throw new ScimError(400, 'empty value filter', 'invalidFilter');
}

function translate(filter: Filter, kind: 'User' | 'Group'): StoreQuery {
  switch (filter.op) {
    case 'and': {
      const parts: StoreQuery[] = [];
      const rest = [...filter.filters];
      // scim2-parse-filter reads `emails[type eq "work"].value eq "x"` as `emails[type eq "work"] and emails.value eq "x"`.
      for (let i = 0; i < rest.length; i++) {
        const f = rest[i]!;
        const next = rest[i + 1];
        if (
          f.op === '[]' &&
          kind === 'User' &&
          f.attrPath.toLowerCase() === 'emails' &&
          next?.op === 'eq' &&
          next.attrPath.toLowerCase() === 'emails.value' &&
          typeof next.compValue === 'string'
        ) {
          parts.push(emailValueFilter(f.valFilter, next.compValue.toLowerCase()));
          i++;
        } else parts.push(translate(f, kind));
      }
      return parts.length === 1 ? parts[0]! : { $and: parts };
    }
    case 'or':
      return { $or: filter.filters.map((f) => translate(f, kind)) };
    case 'not':
      return { $nor: [translate(filter.filter, kind)] };
    case '[]':
      if (kind === 'User' && filter.attrPath.toLowerCase() === 'emails') return emailValueFilter(filter.valFilter);
      if (kind === 'Group' && filter.attrPath.toLowerCase() === 'members') {
        const f = filter.valFilter;
        if (f.op === 'eq' && f.attrPath.toLowerCase() === 'value' && typeof f.compValue === 'string') return { members: f.compValue };
      }
      throw new ScimError(400, `value filters on "${filter.attrPath}" are not supported`, 'invalidFilter');
    case 'pr': {
      const field = fieldOf(filter.attrPath, kind);
      return { [field.field]: { $exists: true, $nin: [null, '', []] } };
    }
    default:
      return comparison(filter.op, fieldOf(filter.attrPath, kind), filter.compValue);
  }
}

/** Parses a `filter` query parameter into a store query; `invalidFilter` on anything it cannot honour. */
export function filterToQuery(text: string, kind: 'User' | 'Group'): StoreQuery {
  if (text.length > 1000) throw new ScimError(400, 'the filter is too long', 'invalidFilter');
  let ast: Filter;
  try {
    ast = parse(text);
  } catch (err) {
    throw new ScimError(400, `cannot parse the filter: ${err instanceof Error ? err.message : String(err)}`, 'invalidFilter');
  }
  return translate(ast, kind);
}
