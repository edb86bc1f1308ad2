/*
 * Reading Adaptive Cards the way a person does: the words on it, the buttons, the inputs.
 */

type Json = Record<string, unknown>;

function walk(node: unknown, visit: (n: Json) => void): void {
  if (Array.isArray(node)) {
    for (const item of node) walk(item, visit);
    return;
  }
  if (!node || typeof node !== 'object') return;
  visit(node as Json);
  for (const value of Object.values(node as Json)) walk(value, visit);
}

/** Every piece of text on the card (text blocks, facts, choices), joined with newlines. */
export function cardText(card: unknown): string {
  const parts: string[] = [];
  walk(card, (n) => {
    if (n.type === 'TextBlock' && typeof n.text === 'string') parts.push(n.text);
    if (Array.isArray(n.facts)) for (const f of n.facts as Json[]) parts.push(`${String(f.title)}: ${String(f.value)}`);
  });
  return parts.join('\n');
}

export interface CardButton {
  type: string;
  title: string;
  verb?: string;
  data?: Json;
}

/** Buttons a person can press, nested ones (ActionSet, ShowCard) included; never the refresh action. */
export function cardButtons(card: unknown): CardButton[] {
  const buttons: CardButton[] = [];
  walk(card, (n) => {
    if (!Array.isArray(n.actions)) return;
    for (const a of n.actions as Json[]) {
      buttons.push({
        type: String(a.type),
        title: String(a.title),
        ...(typeof a.verb === 'string' ? { verb: a.verb } : {}),
        ...(a.data && typeof a.data === 'object' ? { data: a.data as Json } : {}),
      });
    }
  });
  return buttons;
}

/** The verbs of the Action.Execute buttons on the card. */
export function cardVerbs(card: unknown): string[] {
  return cardButtons(card)
    .filter((b) => b.type === 'Action.Execute')
    .map((b) => b.verb!);
}

/** The ids of the card's inputs. */
export function inputIds(card: unknown): string[] {
  const ids: string[] = [];
  walk(card, (n) => {
    if (typeof n.type === 'string' && n.type.startsWith('Input.') && typeof n.id === 'string') ids.push(n.id);
  });
  return ids;
}

/** The button with this verb (its data carries the ids the click sends back). */
export function button(card: unknown, verb: string): CardButton {
  const found = cardButtons(card).find((b) => b.verb === verb);
  if (!found) throw new Error(`no "${verb}" button on the card: ${cardVerbs(card).join(', ') || 'none'}`);
  return found;
}
