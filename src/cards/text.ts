/*
 * Text hygiene for card templates. Every user-supplied string goes through one of these before
 * it reaches a template: control characters are dropped, the text is escaped for the surface
 * (Slack mrkdwn/plain_text or Adaptive Card markdown) and then shortened to a limit with a
 * visible "…", never cut inside an emoji or other grapheme cluster. Limits count the escaped
 * text in UTF-16 code units, which is what the platforms measure (or stricter).
 */

import { ELLIPSIS, ZERO_WIDTH_SPACE, cleanText, defangAgentText, fitText, reportedByAgent, singleLine } from '../core/agent-text.js';

export { ELLIPSIS, cleanText, defangAgentText, fitText, reportedByAgent, singleLine };

/**
 * Escapes the three characters Slack reserves in any text (`&`, `<`, `>`), so that user text
 * such as `<!channel>`, `<@U123>` or `<https://evil.example|click>` is shown, never acted on.
 * Slack's formatting guide asks for this in every text object, plain_text included.
 */
export function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Neutralises Adaptive Card markdown links in user text: a zero-width space after every `]`
 * keeps `[click](https://evil.example)` from turning into a disguised link, without a visible
 * change. (After every `]`, not only before `(`, so the escape works one character at a time.)
 */
export function escapeTeamsMarkdown(text: string): string {
  return text.replace(/\]/g, `]${ZERO_WIDTH_SPACE}`);
}

/** The content of a JSON string literal for `text`, without the surrounding quotes. */
export function jsonStringContent(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}

