import { distance } from 'fastest-levenshtein';

/** Lower-cases and drops `-`, `_`, spaces and dots so `default_scopes` matches `defaultScopes`. */
function normalise(value: string): string {
  return value.toLowerCase().replace(/[-_\s.]/g, '');
}

/** Config keys and ids: a third of the word's letters, at most two edits. */
const CONFIG_EDITS = (length: number) => Math.min(2, Math.floor(length / 3));

/**
 * The candidate closest to `value` when it is plausibly a typo of it (same letters ignoring
 * case and separators, or at most `maxEdits(letters)` Levenshtein edits away), else `undefined`.
 */
export function closestMatch(
  value: string,
  candidates: Iterable<string>,
  maxEdits: (length: number) => number = CONFIG_EDITS,
): string | undefined {
  const target = normalise(value);
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const edits = distance(target, normalise(candidate));
    if (edits < bestDistance) {
      best = candidate;
      bestDistance = edits;
    }
  }
  return bestDistance <= maxEdits(target.length) ? best : undefined;
}

/** ` (did you mean "x"?)` when a close candidate exists, else an empty string. */
export function didYouMean(value: string, candidates: Iterable<string>): string {
  const match = closestMatch(value, candidates);
  return match === undefined ? '' : ` (did you mean ${JSON.stringify(match)}?)`;
}
