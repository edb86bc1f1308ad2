/*
 * Keeping an Adaptive Card within what Teams accepts. A card over the limit is refused whole
 * (413 `MessageSizeTooBig`), so a person would get nothing at all; instead the longest texts
 * people typed (names, purposes, reasons, findings) are shortened, with "…", until the card fits.
 * Ids, verbs, data and inputs are never touched, so every button still does what it says.
 */

/**
 * Size budget of an Adaptive Card for Teams, in bytes counted in UTF-16 as Teams counts them:
 * 28 KB. Microsoft's figures differ by surface: msteams-docs `bots/how-to/format-your-bot-messages.md`
 * gives the bot message limit as 100 KB today (with 80 KB recommended) and 40 KB in its earlier
 * versions, answered with 413 `MessageSizeTooBig`; the Teams connector docs
 * (learn.microsoft.com/connectors/teams, "Message size limit") and the Incoming Webhook docs give
 * about 28 KB for a posted Adaptive Card; a Microsoft Q&A answer
 * (learn.microsoft.com/answers/questions/2152702) says "generally 28KB" for an Adaptive Card in
 * Teams. A card within 28 KB is within every one of these limits, so it is delivered whichever
 * applies (../shared/PLATFORM-NOTES.md §9 records the same sources).
 */
export const TEAMS_CARD_BYTES = 28 * 1024;

/** Teams counts a message in UTF-16: two bytes per code unit of the JSON. */
export function teamsBytes(card: unknown): number {
  return JSON.stringify(card).length * 2;
}

/** Texts are never shortened below this many characters (plus "…"). */
const MIN_CHARS = 40;

type Json = Record<string, unknown>;

/** The strings a person reads that may be shortened: TextBlock and TextRun texts, fact values, choice titles. */
function shortenable(card: unknown): Array<{ owner: Json; key: string }> {
  const found: Array<{ owner: Json; key: string }> = [];
  const walk = (node: unknown, inFacts: boolean) => {
    if (Array.isArray(node)) {
      for (const item of node) walk(item, inFacts);
      return;
    }
    if (!node || typeof node !== 'object') return;
    const object = node as Json;
    if ((object.type === 'TextBlock' || object.type === 'TextRun') && typeof object.text === 'string') found.push({ owner: object, key: 'text' });
    if (inFacts && typeof object.value === 'string') found.push({ owner: object, key: 'value' });
    for (const [key, value] of Object.entries(object)) {
      // Inputs, action data and the refresh carry what a click sends back: never shortened.
      if (key === 'data' || key === 'refresh' || key === 'selectAction') continue;
      if (typeof object.type === 'string' && object.type.startsWith('Input.')) {
        // A choice's title is only shown; its value is what the click sends back.
        if (key === 'choices' && Array.isArray(value))
          for (const choice of value as Json[]) if (typeof choice?.title === 'string') found.push({ owner: choice, key: 'title' });
        continue;
      }
      walk(value, key === 'facts');
    }
  };
  walk(card, false);
  return found;
}

/**
 * Shortens the longest texts of `card` (in place) until it fits `budget` bytes or nothing is
 * left to shorten; returns the card. A card already within the budget is left as it is.
 */
export function fitTeamsCard<T>(card: T, budget: number = TEAMS_CARD_BYTES): T {
  let excess = teamsBytes(card) - budget;
  if (excess <= 0) return card;
  const texts = shortenable(card).map((t) => ({ ...t, chars: [...String(t.owner[t.key])] }));
  while (excess > 0) {
    let longest: (typeof texts)[number] | undefined;
    for (const t of texts) if (t.chars.length > MIN_CHARS + 1 && (!longest || t.chars.length > longest.chars.length)) longest = t;
    if (!longest) break;
    const keep = Math.max(MIN_CHARS, Math.floor(longest.chars.length * 0.6));
    // A cut must not leave half of an escape (a trailing backslash would escape the "…").
    const cut = `${longest.chars.slice(0, keep).join('').replace(/\\+$/, '').trimEnd()}…`;
    const before = JSON.stringify(longest.owner[longest.key]).length;
    longest.owner[longest.key] = cut;
    longest.chars = [...cut];
    excess -= (before - JSON.stringify(cut).length) * 2;
  }
  return card;
}
