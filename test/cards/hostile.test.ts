import { checkRenderedCard, renderCard, type CardModel, type CardPlatform } from '../../src/cards/index.js';
import {
  containsIntact,
  HOSTILE_MIX,
  HOSTILE_TEXTS,
  loadFixtures,
  slackParsedStrings,
  teamsMarkdownStrings,
  userTextPaths,
  valueAt,
  visibleText,
  withText,
  type LeafPath,
} from './support.js';

/*
 * Text people type goes into every user-text field of every fixture. The card must still be
 * valid, pass the platform's checks, show the text (escaped or visibly shortened, never lost)
 * and never let it act as Slack markup or an Adaptive Card markdown link.
 */

const fixtures = loadFixtures().filter((fixture) => fixture.variant !== 'hostile' && userTextPaths(fixture.model.data).length > 0);
const platforms: CardPlatform[] = ['slack', 'teams'];

/** Trusted Slack ids in a model: the only mentions a Slack card may contain. */
function trustedMentions(model: CardModel): Set<string> {
  const ids = new Set<string>();
  JSON.stringify(model, (key, value: unknown) => {
    if (key === 'slackUserId' && typeof value === 'string') ids.add(`<@${value}>`);
    return value;
  });
  return ids;
}

function expectInert(model: CardModel, platform: CardPlatform): void {
  const card = renderCard(platform, model);
  expect(checkRenderedCard(card)).toEqual([]);
  if (platform === 'slack') {
    const trusted = trustedMentions(model);
    for (const text of slackParsedStrings(card)) {
      expect(text).not.toMatch(/<!|<http|<#/);
      for (const mention of text.match(/<@[^>]*>/g) ?? []) expect(trusted).toContain(mention);
    }
  } else {
    for (const text of teamsMarkdownStrings(card)) expect(text).not.toMatch(/\]\(https?:/);
  }
}

describe.each(fixtures.map((fixture) => [fixture.file, fixture.model] as const))('%s', (_file, model) => {
  describe.each(Object.entries(HOSTILE_TEXTS))('with %s text in every field', (_name, hostile) => {
    const hostileModel = withText(model, hostile);

    it.each(platforms)('renders for %s: valid, within limits, inert and intact', (platform) => {
      expectInert(hostileModel, platform);
      expect(containsIntact(visibleText(renderCard(platform, hostileModel)), hostile)).toBe(true);
    });
  });
});

/*
 * Fields that a platform legitimately does not show: on Slack a person with a trusted id is a
 * mention rather than a name, sponsors are picked with a user select rather than typed, a
 * trend is the text sparkline (or Roster's image) rather than the chart Teams draws, and the
 * numbers behind a check-in's findings or an alert's summary are a click away ("Show the
 * numbers", a private reply) rather than toggled on the card.
 */
function shownOn(platform: CardPlatform, model: CardModel, leafPath: LeafPath): boolean {
  if (platform !== 'slack') return true;
  if (leafPath[1] === 'chart') return false;
  if (model.kind === 'alert' && leafPath[1] === 'details') return false;
  if (model.kind === 'checkin' && leafPath[1] === 'findings' && ['summary', 'method'].includes(String(leafPath[3]))) return false;
  const key = leafPath[leafPath.length - 1];
  if (key === 'name' && typeof valueAt(model, [...leafPath.slice(0, -1), 'slackUserId']) === 'string') return false;
  return !(model.kind === 'request-form' && key === 'sponsorEmails');
}

const uncut = fixtures.filter((fixture) => !fixture.variant.includes('many'));

describe.each(uncut.map((fixture) => [fixture.file, fixture.model] as const))('%s shows every field', (_file, model) => {
  const paths = userTextPaths(model.data, ['data']);

  it.each(platforms)('on %s', (platform) => {
    const missing = paths
      .filter((leafPath) => shownOn(platform, model, leafPath))
      .filter((leafPath) => {
        const marked = withText(model, HOSTILE_MIX, [leafPath]);
        const card = renderCard(platform, marked);
        expect(checkRenderedCard(card)).toEqual([]);
        return !containsIntact(visibleText(card), HOSTILE_MIX);
      })
      .map((leafPath) => leafPath.join('.'));
    expect(missing).toEqual([]);
  });
});

describe('escaping', () => {
  const notice = (title: string, text: string): CardModel => ({ kind: 'notice', data: { level: 'info', title, text } });

  it('escapes Slack control sequences so they show as typed', () => {
    const card = renderCard('slack', notice('<!channel> & <@U123ABC>', '<https://evil.example|click>'));
    expect(card.surface === 'message' && card.blocks[0]).toMatchObject({
      text: { text: 'ℹ️ *&lt;!channel&gt; &amp; &lt;@U123ABC&gt;*\n&lt;https://evil.example|click&gt;' },
    });
    expect(card.surface === 'message' && card.text).toBe('&lt;!channel&gt; &amp; &lt;@U123ABC&gt;');
  });

  it('mentions people by their trusted Slack id and names the others', () => {
    const model: CardModel = {
      kind: 'agent-profile',
      data: {
        ...(loadFixtures().find((fixture) => fixture.file === 'agent-profile.active.json')?.model.data as Extract<
          CardModel,
          { kind: 'agent-profile' }
        >['data']),
        sponsors: [{ name: 'Maya Chen', slackUserId: 'U04B7K2M9QX' }, { name: 'Tom <@U999> Becker' }],
      },
    };
    expect(visibleText(renderCard('slack', model))).toContain('<@U04B7K2M9QX>, Tom <@U999> Becker');
    expect(slackParsedStrings(renderCard('slack', model)).join()).toContain('<@U04B7K2M9QX>, Tom &lt;@U999&gt; Becker');
    expect(visibleText(renderCard('teams', model))).toContain('Maya Chen, Tom <@U999> Becker');
  });

  it('keeps markdown links typed in Teams from becoming links, invisibly', () => {
    const { card } = renderCard('teams', notice('t', 'see [the docs](https://evil.example)'));
    expect(JSON.stringify(card)).toContain('see [the docs]\\u200b(https://evil.example)'.replace('\\u200b', '\u200B'));
  });

  it('shortens long text visibly at the limit, without splitting an emoji', () => {
    const title = `${'a'.repeat(296)}👩🏽‍💻👩🏽‍💻`;
    const card = renderCard('slack', notice(title, 'x'));
    expect(card.surface === 'message' && card.text).toBe(`${'a'.repeat(296)}…`);
  });
});
