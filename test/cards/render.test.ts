import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CARD_KINDS,
  CardRenderError,
  checkSlackCard,
  checkTeamsCard,
  createCardRenderer,
  renderCard,
  SLACK_SURFACES,
  type CardModel,
} from '../../src/cards/index.js';
import { renderCoreCard } from '../../src/cards/render.js';
import { slackNotification } from '../../src/channels/slack/notifier.js';
import { adaptiveCard } from '../../src/channels/teams/cards.js';
import { loadFixtures } from './support.js';

const fixtures = loadFixtures();

describe('fixtures', () => {
  it.each(CARD_KINDS)('%s has a realistic fixture and a hostile one', (kind) => {
    const variants = fixtures.filter((fixture) => fixture.kind === kind).map((fixture) => fixture.variant);
    expect(variants).toContain('hostile');
    expect(variants.filter((variant) => variant !== 'hostile').length).toBeGreaterThan(0);
  });

  it.each(fixtures.map((fixture) => [fixture.file, fixture] as const))('%s is named after its kind', (_file, fixture) => {
    expect(fixture.model.kind).toBe(fixture.kind);
  });
});

describe.each(fixtures.map((fixture) => [fixture.file, fixture.model] as const))('%s', (_file, model) => {
  it('renders a Slack card that Block Kit accepts', () => {
    const card = renderCard('slack', model);
    expect(card.surface).toBe(SLACK_SURFACES[model.kind]);
    expect(checkSlackCard(card)).toEqual([]);
  });

  it('renders an Adaptive Card 1.5 that Teams accepts', () => {
    const { card } = renderCard('teams', model);
    expect(card).toMatchObject({ type: 'AdaptiveCard', version: '1.5', $schema: 'http://adaptivecards.io/schemas/adaptive-card.json' });
    expect(checkTeamsCard(card)).toEqual([]);
  });
});

describe('renderCard', () => {
  const notice: CardModel = { kind: 'notice', data: { level: 'info', title: 'Hello', text: 'World' } };

  it('gives Slack messages blocks and a fallback text, and forms and home a view', () => {
    const message = renderCard('slack', notice);
    expect(message).toMatchObject({ platform: 'slack', surface: 'message', kind: 'notice', text: 'Hello' });
    const form = renderCard('slack', { kind: 'deny-reason', data: { runId: 'run_1', stepId: 'step_1', agentName: 'A', roleTitle: 'R' } });
    expect(form).toMatchObject({ platform: 'slack', surface: 'modal', view: { type: 'modal', callback_id: 'approval_deny_submit' } });
  });

  it('rejects a model that does not match its kind, naming the field', () => {
    const broken = { kind: 'notice', data: { level: 'loud', title: 'Hello' } } as unknown as CardModel;
    expect(() => renderCard('teams', broken)).toThrow(CardRenderError);
    try {
      renderCard('teams', broken);
    } catch (error) {
      expect(error).toMatchObject({ code: 'card_model_invalid', kind: 'notice', platform: 'teams' });
      expect((error as Error).message).toMatch(/data\.level/);
      expect((error as Error).message).toMatch(/data\.text/);
    }
  });

  it('checks a card the core built once, where it is rendered: a bad one is refused at the Slack and Teams edges as renderCard refuses it', () => {
    const core = { kind: 'notice', data: { level: 'info', title: 'Hello', text: 'World' } as Record<string, unknown> };
    expect(renderCoreCard('slack', core)).toMatchObject({ surface: 'message', text: 'Hello' });
    expect(slackNotification(core).text).toBe('Hello');
    // A form the core sends is posted to Slack as the message whose button opens it.
    const form = JSON.parse(readFileSync(path.join('cards', 'samples', 'evaluation-form.json'), 'utf8')) as { kind: string; data: Record<string, unknown> };
    expect(slackNotification(form).text).toBe(`Evaluation results needed: ${String(form.data.agentName)}`);
    const refusals: [string, () => unknown, RegExp][] = [
      ['slack', () => slackNotification({ kind: 'notice', data: { level: 'loud', title: 'Hello' } }), /data\.level/],
      ['teams', () => adaptiveCard({ kind: 'notice', data: { level: 'loud', title: 'Hello' } }), /data\.text/],
      ['slack', () => slackNotification({ kind: 'no-such-card', data: {} }), /unknown kind/],
      // A kind is looked up among the schemas' own keys, never the prototype's.
      ['teams', () => adaptiveCard({ kind: 'toString', data: {} }), /unknown kind/],
      ['slack', () => slackNotification({ kind: 'evaluation-form', data: { runId: 'run_1' } }), /agentName/],
    ];
    for (const [platform, render, problem] of refusals) {
      expect(render).toThrow(CardRenderError);
      expect(render).toThrow(problem);
      try {
        render();
      } catch (error) {
        expect(error).toMatchObject({ code: 'card_model_invalid', platform });
      }
    }
  });

  it('never turns a Slack id that is not an id into a mention', () => {
    const model = {
      kind: 'home',
      data: { person: { name: 'X', slackUserId: 'U1> <!channel' }, myAgents: [], approvals: [], openRequests: [] },
    };
    expect(() => renderCard('slack', model as unknown as CardModel)).toThrow(/slackUserId/);
  });

  describe('with broken templates', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'roster-cards-'));
      mkdirSync(path.join(dir, 'slack'));
      mkdirSync(path.join(dir, 'teams'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('reports output that is not JSON as a coded error naming kind and platform', () => {
      writeFileSync(path.join(dir, 'slack', 'notice.hbs'), '{ "text": "{{mrkdwn title}}", "blocks": [ }');
      const renderer = createCardRenderer({ cardsDir: dir });
      expect(() => renderer.render('slack', notice)).toThrow(
        expect.objectContaining({ code: 'card_json_invalid', kind: 'notice', platform: 'slack' }),
      );
    });

    it('reports a raw interpolation of user text as invalid JSON rather than sending it', () => {
      writeFileSync(
        path.join(dir, 'teams', 'notice.hbs'),
        '{ "type": "AdaptiveCard", "version": "1.5", "body": [{ "type": "TextBlock", "text": "{{title}}" }] }',
      );
      const renderer = createCardRenderer({ cardsDir: dir });
      const hostile: CardModel = { kind: 'notice', data: { level: 'info', title: 'a "quoted" title', text: 'x' } };
      expect(() => renderer.render('teams', hostile)).toThrow(expect.objectContaining({ code: 'card_json_invalid' }));
    });

    it('reports a missing template and a template of the wrong shape', () => {
      const renderer = createCardRenderer({ cardsDir: dir });
      expect(() => renderer.render('teams', notice)).toThrow(expect.objectContaining({ code: 'card_template_missing', kind: 'notice' }));
      writeFileSync(path.join(dir, 'slack', 'notice.hbs'), '{ "blocks": [] }');
      expect(() => renderer.render('slack', notice)).toThrow(expect.objectContaining({ code: 'card_shape_invalid' }));
    });

    it('reports a helper of the other platform', () => {
      writeFileSync(
        path.join(dir, 'teams', 'notice.hbs'),
        '{ "type": "AdaptiveCard", "version": "1.5", "body": [{ "type": "TextBlock", "text": "{{mrkdwn title}}" }] }',
      );
      const renderer = createCardRenderer({ cardsDir: dir });
      expect(() => renderer.render('teams', notice)).toThrow(expect.objectContaining({ code: 'card_template_failed' }));
    });
  });
});
