/**
 * Splits a typed command into words, the one tokenizer every command parser uses: a name in
 * double quotes ("Refund Triage", or the curly “Refund Triage” that phones and some keyboards
 * type) is one word, without its quotes, so a name with spaces works wherever an agent is named.
 * A quote without its closing partner is an ordinary character.
 */
export function chatWords(text: string): string[] {
  return [...String(text ?? '').matchAll(/"([^"]*)"(?=\s|$)|“([^”]*)”(?=\s|$)|(\S+)/g)]
    .map((m) => (m[1] ?? m[2] ?? m[3] ?? '').trim())
    .filter(Boolean);
}
