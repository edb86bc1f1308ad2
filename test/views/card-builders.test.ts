import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CardRenderError, renderCard } from '../../src/cards/index.js';
import { CARD_KINDS, cardDataSchemas, type CardKind } from '../../src/cards/view-models.js';
import { CARD_BUILDERS, checkedCard } from '../../src/views/card-builders.js';
import { accessReview, grantNotice } from '../../src/views/access-cards.js';
import { parkedEffectCard } from '../../src/views/operator-notices.js';
import type { GrantRecord } from '../../src/core/agents.js';
import { loadOrgConfig } from '../../src/config/org-config.js';
import { projectRoot } from '../helpers/roster-process.js';
import { loadFixtures } from '../cards/support.js';
import { asAgentId, asGrantId } from '../helpers/ids.js';

/** The .ts files under these directories of the project, at any depth. */
function tsFilesUnder(...dirs: string[]): string[] {
  return dirs.flatMap((dir) =>
    readdirSync(path.join(projectRoot, dir), { recursive: true, encoding: 'utf8' })
      .filter((name) => name.endsWith('.ts'))
      .map((name) => path.join(projectRoot, dir, name)),
  );
}

/** A card literal: a kind of card next to its data, as `{ kind: 'notice', data: { … } }` is written. */
const CARD_LITERAL = /kind:\s*'([a-z-]+)',\s*data:/g;
/** A cast to a card model, which would hide a card of the wrong shape until renderCard refuses it. */
const CARD_CAST = /\bas CardModel\b/;

/** Every card kind is built by exactly one typed builder in src/views, whose output its schema accepts and renders unchanged. */
describe('views: one builder per card kind', () => {
  const fixtures = loadFixtures();

  it('has exactly one builder for every card kind, and none for a kind that does not exist', () => {
    expect(Object.keys(CARD_BUILDERS).sort()).toEqual([...CARD_KINDS].sort());
    // One function per kind: no builder stands in for two kinds.
    expect(new Set(Object.values(CARD_BUILDERS)).size).toBe(CARD_KINDS.length);
    for (const kind of CARD_KINDS) expect(typeof CARD_BUILDERS[kind]).toBe('function');
  });

  it('builds every fixture of every kind into a card its schema accepts, rendered byte for byte as the fixture', () => {
    const covered = new Set(fixtures.map((f) => f.kind));
    // A kind without a fixture would go untested here: each has at least one.
    expect(CARD_KINDS.filter((kind) => !covered.has(kind))).toEqual([]);
    for (const { file, model } of fixtures) {
      const kind = model.kind as CardKind;
      const builder = CARD_BUILDERS[kind] as (data: unknown) => { kind: string; data: unknown };
      const built = builder(model.data);
      expect({ file, kind: built.kind }).toEqual({ file, kind });
      // The data is kept as given: nothing filled in, nothing stripped.
      expect(JSON.stringify(built.data)).toBe(JSON.stringify(model.data));
      const parsed = cardDataSchemas[kind].safeParse(built.data);
      expect({ file, problems: parsed.error?.issues ?? [] }).toEqual({ file, problems: [] });
      for (const platform of ['slack', 'teams'] as const) {
        expect(JSON.stringify(renderCard(platform, checkedCard(built, platform)))).toBe(JSON.stringify(renderCard(platform, model)));
      }
    }
  });

  it('checks a card the core handed over untyped: the same object when valid, a card_model_invalid error naming the problem when not', () => {
    const card = { kind: 'notice', data: { level: 'info', title: 'Hello', text: 'World' } as Record<string, unknown> };
    expect(checkedCard(card)).toBe(card);
    expect(() => checkedCard({ kind: 'notice', data: { level: 'loud', title: 'Hello', text: 'World' } }, 'teams')).toThrow(CardRenderError);
    let caught: unknown;
    try {
      checkedCard({ kind: 'notice', data: { level: 'loud', title: 'Hello', text: 'World' } }, 'slack');
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ code: 'card_model_invalid', kind: 'notice', platform: 'slack' });
    expect((caught as Error).message).toMatch(/data\.level/);
    expect(() => checkedCard({ kind: 'poster', data: {} })).toThrow(/card "poster" does not match its view-model: unknown kind/);
  });

  it('builds the cards the core asks for through its ports (grant notice, access review, parked effect) into valid view-models', () => {
    const org = loadOrgConfig(path.join(projectRoot, 'config'));
    const grant: GrantRecord = {
      id: asGrantId('grt_1'),
      agentId: asAgentId('agt_1'),
      scope: 'crm:read',
      reason: 'Quarterly report',
      requestedBy: org.people[0]!.email,
      approvedBy: [],
      startsAt: '2026-11-01T00:00:00.000Z',
      expiresAt: '2026-12-01T00:00:00.000Z',
      status: 'active',
      source: 'run_1',
      createdAt: '2026-11-01T00:00:00.000Z',
    };
    const notice = grantNotice(org, grant, { name: 'Refund Triage' }, { level: 'warning', title: 'Ends soon', text: '' }, [
      'extend',
      'let-expire',
    ]);
    expect(cardDataSchemas['grant-notice'].parse(notice.data)).toMatchObject({
      text: '—',
      canExtend: true,
      canLetExpire: true,
      canRevoke: false,
    });
    const review = accessReview({
      cycle: 'rev_2026q4',
      cadence: 'Quarterly',
      enforcement: 'flag',
      dueAt: '2026-12-15T00:00:00.000Z',
      items: [
        { grant, agentName: 'Refund Triage', state: 'open' },
        { grant: { ...grant, id: asGrantId('grt_2'), expiresAt: '' }, agentName: 'Refund Triage', state: 'kept', decidedBy: 'Tom Becker' },
      ],
    });
    expect(cardDataSchemas['access-review'].parse(review.data)).toMatchObject({
      title: 'Quarterly access review',
      items: [
        { grantId: 'grt_1', canDecide: true },
        { grantId: 'grt_2', expiresAt: '—', decidedBy: 'Tom Becker', canDecide: false },
      ],
    });
    expect(review.data.intro).toMatch(/1 agent\(s\) holding 2 grant\(s\).*flagged to IT/);
    const parked = parkedEffectCard({
      holder: { kind: 'run', id: 'run_1' },
      effect: { id: 'eff_1', type: 'chat.send', data: {}, due: new Date(), attempts: 8, createdAt: new Date(), lastError: 'timeout' },
    });
    expect(cardDataSchemas.notice.parse(parked.data).text).toMatch(/roster outbox retry eff_1/);
  });

  it('assembles no card in src/core, src/flows or src/evals: they ask a presenter port, which src/views implements', () => {
    const files = tsFilesUnder('src/core', 'src/flows', 'src/evals');
    expect(files.length).toBeGreaterThan(50);
    const kinds = new Set<string>(CARD_KINDS);
    const literalsIn = (text: string) => [...text.matchAll(CARD_LITERAL)].map((m) => m[1]!).filter((kind) => kinds.has(kind));
    // The guard finds a card written as a literal, on one line or over several.
    expect(literalsIn("send({ kind: 'notice', data: { level: 'info' } }); return {\n  kind: 'alert',\n  data: alert };")).toEqual([
      'notice',
      'alert',
    ]);
    const assembled = files.flatMap((file) =>
      literalsIn(readFileSync(file, 'utf8')).map((kind) => `${path.relative(projectRoot, file)}: ${kind}`),
    );
    expect(assembled).toEqual([]);
  });

  it('leaves no "as CardModel" cast in src: cards are typed where they are built', () => {
    const files = tsFilesUnder('src');
    expect(files.length).toBeGreaterThan(100);
    // The guard finds a cast, a double one too.
    expect(['card as CardModel;', 'x as unknown as CardModel)', 'as CardModels'].map((text) => CARD_CAST.test(text))).toEqual([
      true,
      true,
      false,
    ]);
    const casts = files.filter((f) => CARD_CAST.test(readFileSync(f, 'utf8'))).map((f) => path.relative(projectRoot, f));
    expect(casts).toEqual([]);
  });
});
