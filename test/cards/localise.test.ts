import { localiseFieldErrors } from '../../src/cards/localise.js';
import { renderCard } from '../../src/cards/render.js';
import type { CardModel } from '../../src/cards/view-models.js';
import { displayDate } from '../../src/core/time.js';

/*
 * Issue 22 item 2: a Slack modal is rendered for the one person who opened it, so its instants are
 * written in their zone, named, never as Slack date tokens (which Slack documents for messages); a
 * message keeps the token, with the reader's zone as its fallback.
 */

const AT = new Date(Date.UTC(2031, 5, 3, 14, 2));
const TOKYO = { zone: 'Asia/Tokyo' };

const prompt: CardModel = {
  kind: 'prompt',
  data: {
    title: 'Postpone retraining',
    text: `Ticket Drafter is due for retraining since ${displayDate(AT)}.`,
    submitLabel: 'Postpone',
    promptVerb: 'retrain_postpone',
    payload: { agentId: 'agt_4e1f9a0c2b3d5e6f' },
    inputs: [{ name: 'text', kind: 'text', label: 'Why?', multiline: true, maxLength: 1000, optional: false }],
  },
} as CardModel;

describe('times in Slack modals', () => {
  it("a modal names the reader's zone and carries no date token", () => {
    const rendered = renderCard('slack', prompt, TOKYO);
    expect(rendered.surface).toBe('modal');
    const view = JSON.stringify(rendered.surface === 'message' ? undefined : rendered.view);
    expect(view).toContain('due for retraining since 3 Jun 2031, 23:02 Asia/Tokyo.');
    expect(view).not.toContain('<!date');
    expect(view).not.toContain('UTC');
  });

  it('a message with the same words gets the date token, the zone as its fallback', () => {
    const notice = { kind: 'notice', data: { level: 'info', title: 'Due', text: `Due since ${displayDate(AT)}.` } } as CardModel;
    const rendered = renderCard('slack', notice, TOKYO);
    expect(JSON.stringify(rendered)).toContain(`<!date^${AT.getTime() / 1000}^{date_short_pretty} at {time}|3 Jun 2031, 23:02 Asia/Tokyo>`);
  });

  it("a submit's field errors are written in the reader's zone", () => {
    expect(localiseFieldErrors({ text: `Postponed until ${displayDate(AT)}.`, days: 'Pick one.' }, TOKYO)).toEqual({
      text: 'Postponed until 3 Jun 2031, 23:02 Asia/Tokyo.',
      days: 'Pick one.',
    });
  });
});
