import { loadOrgConfig } from '../../src/config/org-config.js';
import { InvalidInputError } from '../../src/core/errors.js';
import { findFormWords, formatFindQuery, parseFindQuery } from '../../src/core/agent-search.js';
import { people, SHIPPED_CONFIG } from '../helpers/harness.js';

/*
 * The words of `find` (src/core/agent-search.ts): what the Previous / Next buttons carry is
 * formatFindQuery's words, parsed again on the click, so every query must read back as itself.
 */

const org = loadOrgConfig(SHIPPED_CONFIG);

describe('find words', () => {
  it('every filter reads back as the same query (the paging buttons carry these words)', () => {
    const typed = `status:active,probation role:"Customer support assistant" bu:Finance sponsor:${people.tom} scope:crm:write data:pii risk:medium checkin:none cost<=20 refund`;
    const query = parseFindQuery(org, typed);
    expect(query).toEqual({
      page: 1,
      status: ['active', 'probation'],
      role: 'support-assistant',
      bu: 'finance',
      sponsor: people.tom,
      scope: 'crm:write',
      data: 'pii',
      risk: 'medium',
      checkin: 'none',
      cost: { op: '<=', usd: 20 },
      text: 'refund',
    });
    expect(parseFindQuery(org, formatFindQuery(query))).toEqual(query);
  });

  it('a name with a colon, a comparison or spaces reads back as the name, not as a filter', () => {
    for (const name of ['ops:bot', 'a>b', 'x=y', 'two words']) {
      const query = parseFindQuery(org, `"${name}"`);
      expect(query.text).toBe(name);
      expect(parseFindQuery(org, formatFindQuery(query)).text).toBe(name);
    }
    // A bare word needs no quotes: the button of `find pager` carries `pager`.
    expect(formatFindQuery(parseFindQuery(org, 'pager'))).toBe('pager');
  });

  it('the form values become the same words, and a bad value names its filter', () => {
    const words = findFormWords({ risk: 'high', bu: 'finance', cost: '$100', sponsor: '<@U04K7R3D9SW>' });
    expect(parseFindQuery(org, words)).toMatchObject({ risk: 'high', bu: 'finance', sponsor: people.liam, cost: { op: '>=', usd: 100 } });
    let refused: unknown;
    try {
      parseFindQuery(org, 'rsik:high');
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(InvalidInputError);
    expect((refused as InvalidInputError).userMessage).toContain('Did you mean `risk`?');
  });
});
