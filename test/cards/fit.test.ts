import { checkTeamsCard } from '../../src/cards/checks.js';
import { fitTeamsCard, TEAMS_CARD_BYTES, teamsBytes } from '../../src/cards/fit.js';
import { renderCard, type CardModel } from '../../src/cards/index.js';
import { loadFixtures } from './support.js';

/*
 * Teams refuses a whole card over its size limit, so Roster shortens what people typed instead
 * of losing the card; what a click sends back (verbs, data, input values and choice values) is
 * never touched.
 */

describe('fitting a card within Teams’ 28 KB', () => {
  it('the budget is 28 KB counted in UTF-16', () => {
    expect(TEAMS_CARD_BYTES).toBe(28_672);
    expect(teamsBytes({ a: 'é' })).toBe(JSON.stringify({ a: 'é' }).length * 2);
  });

  it('shortens the longest texts with "…" until the card fits; verbs, data and inputs stay as they were', () => {
    const long = 'Reconciles refunds against the ledger. '.repeat(400);
    const card = {
      type: 'AdaptiveCard',
      version: '1.5',
      body: [
        { type: 'TextBlock', text: long, wrap: true },
        { type: 'FactSet', facts: [{ title: 'Purpose', value: long }] },
        { type: 'Input.Text', id: 'reason', value: 'x'.repeat(2000) },
        { type: 'Input.ChoiceSet', id: 'target', choices: [{ title: long, value: 'agt_1:payments.read' }] },
      ],
      actions: [{ type: 'Action.Execute', verb: 'approval_approve', title: 'Approve', data: { runId: 'run_1', stepId: 'approvals' } }],
    };
    expect(teamsBytes(card)).toBeGreaterThan(TEAMS_CARD_BYTES);
    const fitted = fitTeamsCard(structuredClone(card));
    expect(teamsBytes(fitted)).toBeLessThanOrEqual(TEAMS_CARD_BYTES);
    expect(checkTeamsCard(fitted).filter((v) => v.message.includes('bytes'))).toEqual([]);
    const body = fitted.body as Array<Record<string, unknown>>;
    expect(String(body[0]!.text)).toMatch(/^Reconciles refunds against the ledger\..*…$/s);
    expect(body[2]).toEqual(card.body[2]);
    expect((body[3]!.choices as Array<Record<string, unknown>>)[0]!.value).toBe('agt_1:payments.read');
    expect(fitted.actions).toEqual(card.actions);
  });

  it('leaves a card within the budget as it is', () => {
    const card = { type: 'AdaptiveCard', version: '1.5', body: [{ type: 'TextBlock', text: 'Hello' }] };
    expect(fitTeamsCard(structuredClone(card))).toEqual(card);
  });

  it('every fixture renders for Teams within 28 KB', () => {
    for (const { model, file } of loadFixtures()) {
      const bytes = teamsBytes(renderCard('teams', model as CardModel).card);
      expect({ file, fits: bytes <= TEAMS_CARD_BYTES }).toEqual({ file, fits: true });
    }
  });
});
