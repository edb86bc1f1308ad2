import { cleanText, ELLIPSIS, escapeSlack, escapeTeamsMarkdown, fitText, jsonStringContent, singleLine } from '../../src/cards/text.js';

describe('cleanText', () => {
  it('drops control characters, keeps tabs, newlines and emoji, and normalises line endings', () => {
    expect(cleanText('a\u0000b\u0007c\u001bd\u007fe\u0085f\tg\r\nh\ri 👩🏽‍💻')).toBe('abcdef\tg\nh\ni 👩🏽‍💻');
  });

  it('turns other values into text', () => {
    expect(cleanText(undefined)).toBe('');
    expect(cleanText(null)).toBe('');
    expect(cleanText(0.95)).toBe('0.95');
  });
});

describe('escaping', () => {
  it('escapes the three characters Slack reserves, & first', () => {
    expect(escapeSlack('<!channel> & <@U1> &amp;')).toBe('&lt;!channel&gt; &amp; &lt;@U1&gt; &amp;amp;');
  });

  it('breaks Adaptive Card markdown links with an invisible character', () => {
    expect(escapeTeamsMarkdown('[click](https://evil.example)')).toBe('[click]\u200B(https://evil.example)');
  });

  it('keeps one line where newlines cannot go', () => {
    expect(singleLine(' a\n b\t\tc ')).toBe('a b c');
  });

  it('produces the inside of a JSON string literal', () => {
    const text = '"q" \\ \n {{x}} }} 🚀';
    expect(JSON.parse(`"${jsonStringContent(text)}"`)).toBe(text);
  });
});

describe('fitText', () => {
  it('returns text within the limit unchanged, escaped', () => {
    expect(fitText('a & b', 9, escapeSlack)).toBe('a &amp; b');
  });

  it('shortens with a visible ellipsis, counting the escaped length', () => {
    const fitted = fitText('&&&&&', 12, escapeSlack);
    expect(fitted).toBe(`&amp;&amp;${ELLIPSIS}`);
    expect(fitted.length).toBeLessThanOrEqual(12);
  });

  it('never cuts an emoji or an escape sequence in half', () => {
    const family = '👩🏽‍💻';
    const fitted = fitText(`${family}${family}${family}`, family.length * 2, (t) => t);
    expect(fitted).toBe(`${family}${ELLIPSIS}`);
    expect(fitText('<<<<', 6, escapeSlack)).toBe(`&lt;${ELLIPSIS}`);
  });

  it('shortens 5,000 characters to the limit', () => {
    const fitted = fitText('x'.repeat(5000), 3000);
    expect(fitted).toHaveLength(3000);
    expect(fitted.endsWith(ELLIPSIS)).toBe(true);
  });
});
