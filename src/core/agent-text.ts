/*
 * Text hygiene that is a rule, not a look: what an agent wrote is cleaned of control characters,
 * defanged so no chat platform turns it into a link or a mention, and framed as the agent's words
 * before the core stores or shows it. Platform escaping for templates stays in src/cards/text.ts,
 * which re-exports these.
 */

/** Marks text that was shortened to fit a limit. */
export const ELLIPSIS = '…';

/** C0 controls other than tab and newline, DEL and C1 controls. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point: they are removed.
const CONTROL_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/g;

/** Breaks a link or mention without a visible change. */
export const ZERO_WIDTH_SPACE = '\u200B';

const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' });

/**
 * Turns any value into display text: `null`/`undefined` become `''`, numbers and booleans their
 * string form; line endings are normalised to `\n` and control characters removed.
 */
export function cleanText(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'string' ? value : String(value);
  return text.replace(/\r\n?/g, '\n').replace(CONTROL_CHARS, '');
}

/** Collapses every run of whitespace (newlines included) into one space, for one-line places. */
export function singleLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/**
 * Escapes `text` with `escape` and shortens the result to at most `max` UTF-16 code units,
 * ending with {@link ELLIPSIS} when anything was cut. Cuts fall between grapheme clusters and
 * never inside an escape sequence. Without `max` the escaped text is returned whole. `escape`
 * must work one grapheme at a time (escaping a string = escaping each grapheme).
 */
export function fitText(text: string, max: number | undefined, escape: (text: string) => string = (t) => t): string {
  const escaped = escape(text);
  if (max === undefined || escaped.length <= max) return escaped;
  const budget = max - ELLIPSIS.length;
  let out = '';
  for (const { segment } of graphemes.segment(text)) {
    const piece = escape(segment);
    if (out.length + piece.length > budget) break;
    out += piece;
  }
  return out.replace(/\s+$/, '') + ELLIPSIS;
}

/**
 * Agent-written text defanged so no platform turns it into a link or a mention, without a frame
 * (for places whose template already says the words are the agent's). A zero-width space breaks
 * every URL scheme (`https://`), `www.`, every dot inside a host-like word (Slack and Teams also
 * link bare `evil.example/x`), `@`, and `[` and `](` (Teams markdown links `[click](…)`); Slack's own
 * `<https://…|click>` syntax is left to the surface's escaping of `<` and `>`. The text still
 * reads the same, and defanging twice changes nothing.
 */
export function defangAgentText(text: string): string {
  return cleanText(text)
    .replace(/([a-z][a-z0-9+.-]*):\/\//gi, `$1:${ZERO_WIDTH_SPACE}//`)
    .replace(/\bwww\./gi, `www${ZERO_WIDTH_SPACE}.`)
    .replace(/([a-z0-9-])\.(?=[a-z])/gi, `$1.${ZERO_WIDTH_SPACE}`)
    .replace(/@(?!\u200B)/g, `@${ZERO_WIDTH_SPACE}`)
    .replace(/\[(?!\u200B)/g, `[${ZERO_WIDTH_SPACE}`)
    .replace(/\](?=\()/g, `]${ZERO_WIDTH_SPACE}`);
}

/**
 * Text an agent wrote (a decision summary, a segment name), framed so nobody mistakes it for
 * Roster's words and defanged ({@link defangAgentText}) so no platform turns it into a link or
 * a mention, whatever the surface escapes besides.
 */
export function reportedByAgent(text: string, max = 500): string {
  return `reported by the agent: “${fitText(singleLine(defangAgentText(text)), max)}”`;
}
