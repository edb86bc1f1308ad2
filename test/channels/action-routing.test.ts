import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { slackNotification } from '../../src/channels/slack/notifier.js';
import { cardMessage } from '../../src/channels/teams/cards.js';
import { checkSlackCard, checkTeamsCard } from '../../src/cards/checks.js';
import { renderCard, type JsonValue } from '../../src/cards/render.js';
import { noticeActionSchema } from '../../src/cards/supervision-view-models.js';
import { CARD_KINDS, type CardKind, type CardModel } from '../../src/cards/view-models.js';
import type { CardAction } from '../../src/cards/ids.js';
import { CARD_BUILDERS } from '../../src/views/card-builders.js';
import { ACTION_TABLE, actionsOn, type ActionEntry, type FormActionId } from '../../src/channels/action-table.js';
import { SLACK_FORM_READERS, viewSubmissionSchema } from '../../src/channels/slack/forms.js';
import { onBothPlatforms, type TestRoster } from '../helpers/app.js';
import type { FakeSlack } from '../helpers/fake-slack.js';
import { memoryLogger } from '../helpers/logger.js';
import { SLACK_FORM_FIELDS } from '../helpers/slack-blocks.js';
import { buttonClick, interaction } from '../helpers/slack-requests.js';
import { loadFixtures } from '../cards/support.js';
import { cardText } from './teams/card-reading.js';
import { type TeamsClient, teamsUser } from './teams/teams-client.js';

/*
 * Every action a card template can carry is routed by a registered handler on its platform, and
 * every kind of card the core sends as a notification can be delivered on both platforms. The
 * actions come from two places, so neither a template without a fixture nor a fixture without a
 * button hides one: the literal ids in cards/slack and cards/teams, and every fixture rendered.
 * Each is then sent through the real endpoint: a signed Slack delivery into Bolt's receiver, an
 * Action.Execute invoke into the Agents SDK.
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const LIAM = { slack: 'U04K7R3D9SW', email: 'liam.oneill@brightwater.example' };

function filesUnder(dir: string, ext: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? filesUnder(full, ext) : full.endsWith(ext) ? [full] : [];
  });
}

function objectsIn(value: unknown): Array<Record<string, unknown>> {
  if (Array.isArray(value)) return value.flatMap(objectsIn);
  if (value && typeof value === 'object') return [value as Record<string, unknown>, ...Object.values(value).flatMap(objectsIn)];
  return [];
}

/** The button ids a notice's buttons may carry (`{{json action}}` in the notice-buttons partials). */
const NOTICE_ACTION_IDS: string[] = noticeActionSchema.shape.action.options;

/** The ids written into one platform's templates, literal or from the notice buttons' list. */
function templateIds(platform: 'slack' | 'teams'): { actions: Set<string>; callbacks: Set<string>; submits: Set<string> } {
  const actions = new Set<string>();
  const callbacks = new Set<string>();
  const submits = new Set<string>();
  for (const file of filesUnder(path.join(root, 'cards', platform), '.hbs')) {
    const text = readFileSync(file, 'utf8');
    const key = platform === 'slack' ? 'action_id' : 'verb';
    for (const m of text.matchAll(new RegExp(`"${key}":\\s*("([^"]*)"|\\{\\{[^}]*\\}\\})`, 'g'))) {
      if (m[2] !== undefined) {
        if (!SLACK_FORM_FIELDS.has(m[2])) actions.add(m[2]);
      } else if (m[1] === '{{json action}}') {
        for (const id of NOTICE_ACTION_IDS) actions.add(id);
      } else if (!(platform === 'slack' && m[1] === '{{json name}}')) {
        // Prompt inputs (`{{json name}}`) are form fields; any other computed id must be taught here.
        throw new Error(`${path.relative(root, file)}: a computed ${key} ${m[1]} this test does not know how to enumerate`);
      }
    }
    for (const m of text.matchAll(/"callback_id":\s*"([^"]+)"/g)) callbacks.add(m[1]!);
    if (/"callback_id":\s*\{\{/.test(text)) throw new Error(`${path.relative(root, file)}: a computed callback_id`);
    if (/Action\.Submit/.test(text)) submits.add(path.relative(root, file));
  }
  return { actions, callbacks, submits };
}

/** The ids on every fixture rendered: buttons and selects outside forms, modal callback ids, Teams verbs. */
function renderedIds(platform: 'slack' | 'teams'): { actions: Set<string>; callbacks: Set<string>; submits: Set<string> } {
  const actions = new Set<string>();
  const callbacks = new Set<string>();
  const submits = new Set<string>();
  for (const { model, file } of loadFixtures()) {
    if (platform === 'slack') {
      const rendered = renderCard('slack', model);
      const blocks = (rendered.surface === 'message' ? rendered.blocks : rendered.view.blocks) as JsonValue[];
      // Elements of input blocks are form fields (Roster sets no dispatch_action); the rest are clicks.
      const clickable = blocks.filter((b) => (b as Record<string, unknown>).type !== 'input');
      for (const o of objectsIn(clickable)) if (typeof o.action_id === 'string') actions.add(o.action_id);
      if (rendered.surface === 'modal' && typeof rendered.view.callback_id === 'string') callbacks.add(rendered.view.callback_id);
    } else {
      for (const o of objectsIn(renderCard('teams', model).card)) {
        if (o.type === 'Action.Execute' && typeof o.verb === 'string') actions.add(o.verb);
        if (o.type === 'Action.Submit') submits.add(file);
      }
    }
  }
  return { actions, callbacks, submits };
}

function allIds(platform: 'slack' | 'teams') {
  const a = templateIds(platform);
  const b = renderedIds(platform);
  return {
    actions: [...new Set([...a.actions, ...b.actions])].sort(),
    callbacks: [...new Set([...a.callbacks, ...b.callbacks])].sort(),
    submits: [...new Set([...a.submits, ...b.submits])].sort(),
  };
}

/** Each button on a card as its platform sends it back: Slack's value (JSON, or a bare id), Teams' Action.Execute data. */
function buttonPayloads(platform: 'slack' | 'teams', model: CardModel): Array<[string, Record<string, unknown>]> {
  if (platform === 'teams') {
    return objectsIn(renderCard('teams', model).card)
      .filter((o) => o.type === 'Action.Execute' && typeof o.verb === 'string')
      .map((o) => [String(o.verb), (o.data ?? {}) as Record<string, unknown>]);
  }
  const rendered = renderCard('slack', model);
  const blocks = (rendered.surface === 'message' ? rendered.blocks : rendered.view.blocks) as JsonValue[];
  return objectsIn(blocks.filter((b) => (b as Record<string, unknown>).type !== 'input'))
    .filter((o) => typeof o.action_id === 'string' && o.type === 'button')
    .map((o) => {
      const entry = ACTION_TABLE[o.action_id as CardAction] as ActionEntry | undefined;
      const value = typeof o.value === 'string' ? o.value : '';
      if (entry?.kind === 'button' && entry.bareValue) return [String(o.action_id), { [entry.bareValue]: value }];
      return [String(o.action_id), value ? (JSON.parse(value) as Record<string, unknown>) : {}];
    });
}

describe('every action on every card is routed', () => {
  const slackIds = allIds('slack');
  const teamsIds = allIds('teams');

  it('finds the actions it should (the walk itself works)', () => {
    for (const id of [
      'approval_approve',
      'approval_deny',
      'evaluation_open',
      'review_keep',
      'alert_ack',
      'gap_fix',
      'find_page',
      'find_open',
    ]) {
      expect(slackIds.actions).toContain(id);
      expect(teamsIds.actions).toContain(id);
    }
    expect(teamsIds.actions).toEqual(expect.arrayContaining(['approval_refresh', 'access_request_submit', 'prompt_submit', 'find_submit']));
    expect(slackIds.callbacks).toEqual(
      expect.arrayContaining([
        'agent_request_submit',
        'evaluation_submit',
        'approval_deny_submit',
        'access_request_submit',
        'prompt_submit',
        'find_submit',
      ]),
    );
    expect(slackIds.actions).not.toContain('agent_name');
  });

  it('Teams cards use Action.Execute only: no route answers Action.Submit', () => {
    // Roster registers no actionSubmit route; an Action.Submit would arrive as a message and be read as words.
    expect(teamsIds.submits).toEqual([]);
  });

  it('each is an entry of the action table on its platform: Slack buttons, Slack modals, Teams verbs', () => {
    const ids = (platform: 'slack' | 'teams', kind: ActionEntry['kind']) => actionsOn(platform, kind).map(([id]) => id as string);
    expect(slackIds.actions.filter((id) => !ids('slack', 'button').includes(id))).toEqual([]);
    expect(slackIds.callbacks.filter((id) => !ids('slack', 'form').includes(id))).toEqual([]);
    const teamsVerbs = [...ids('teams', 'button'), ...ids('teams', 'form')];
    expect(teamsIds.actions.filter((id) => !teamsVerbs.includes(id))).toEqual([]);
    // And the table has no entry no card carries (a dead entry), nor one a platform's cards carry but it is kept from.
    const carried = new Set([...slackIds.actions, ...slackIds.callbacks, ...teamsIds.actions]);
    expect(Object.keys(ACTION_TABLE).filter((id) => !carried.has(id))).toEqual([]);
    for (const [id, entry] of Object.entries(ACTION_TABLE) as Array<[string, ActionEntry]>) {
      if (entry.only === 'teams') expect([...slackIds.actions, ...slackIds.callbacks]).not.toContain(id);
      if (entry.only === 'slack') expect(teamsIds.actions).not.toContain(id);
    }
  });

  /** Keys a platform adds to a button's payload for its own use, read by the adapter rather than the action. */
  const PLATFORM_KEYS: Record<'slack' | 'teams', string[]> = { slack: [], teams: ['surface', 'reasonInputId'] };

  it.each(['slack', 'teams'] as const)(
    '%s: every button of every card fixture carries a payload its entry reads whole (no id dropped or refused)',
    (platform) => {
      const unread: string[] = [];
      let checked = 0;
      for (const { model, file } of loadFixtures()) {
        for (const [id, payload] of buttonPayloads(platform, model)) {
          const entry = ACTION_TABLE[id as CardAction] as ActionEntry | undefined;
          if (!entry || entry.kind !== 'button') continue; // Teams form verbs: their inputs are read by the form readers (below)
          const parsed = entry.payload.safeParse(payload);
          if (!parsed.success) {
            unread.push(`${file} ${id}: ${parsed.error.message}`);
            continue;
          }
          checked += 1;
          const read = parsed.data as Record<string, unknown>;
          for (const [key, value] of Object.entries(payload)) {
            if (PLATFORM_KEYS[platform].includes(key)) continue;
            if (read[key] !== value) unread.push(`${file} ${id}.${key}: ${JSON.stringify(value)} read as ${JSON.stringify(read[key])}`);
          }
        }
      }
      expect(unread).toEqual([]);
      expect(checked).toBeGreaterThan(40);
    },
  );

  it('Slack: the ids every modal fixture remembers come through its form reader and its entry', async () => {
    const lost: string[] = [];
    let checked = 0;
    for (const { model, file } of loadFixtures()) {
      const rendered = renderCard('slack', model);
      if (rendered.surface !== 'modal') continue;
      const id = String(rendered.view.callback_id) as FormActionId;
      const entry = ACTION_TABLE[id] as ActionEntry;
      const view = viewSubmissionSchema.parse({
        user: { id: LIAM.slack },
        view: { callback_id: id, private_metadata: rendered.view.private_metadata ?? '', state: { values: {} } },
      }).view;
      const parsed = entry.payload.parse(await SLACK_FORM_READERS[id](view, async () => undefined)) as Record<string, unknown>;
      const { promptVerb, ...remembered } = JSON.parse(String(rendered.view.private_metadata ?? '{}')) as Record<string, string>;
      if (promptVerb !== undefined && parsed.verb !== promptVerb) lost.push(`${file}: promptVerb`);
      const read = (parsed.ids ?? parsed) as Record<string, unknown>;
      for (const [key, value] of Object.entries(remembered)) if (read[key] !== value) lost.push(`${file}: ${key}`);
      checked += 1;
    }
    expect(lost).toEqual([]);
    expect(checked).toBeGreaterThan(5);
  });

  describe('through the real endpoints', () => {
    let slack: FakeSlack;
    let roster: TestRoster;
    let client: TeamsClient;
    let stop: () => Promise<void>;
    const memory = memoryLogger('info');

    beforeAll(async () => {
      ({
        slack,
        roster,
        teams: client,
        stop,
      } = await onBothPlatforms({
        log: memory.log,
        // One person clicks every button in a few seconds here: the per-person limit is lifted so
        // that no delivery is answered by "slow down" before it reaches its listener.
        settings: {
          rateLimits: {
            chat: { requests: 1_000_000, per: { text: '1m', ms: 60_000 } },
            telemetry: { requests: 1_000_000, per: { text: '1m', ms: 60_000 } },
            anonymous: { requests: 1_000_000, per: { text: '1m', ms: 60_000 } },
          },
        },
      }));
    });
    afterAll(() => stop?.());

    const unhandled = () =>
      memory.lines().filter((l) => String(l.msg).includes('no listener handles') || String(l.msg).includes('not acknowledged')).length;

    /** Posts a signed delivery; an id no Bolt listener acknowledges never gets its 200 (Bolt waits, then gives up). */
    async function deliver(payload: Record<string, unknown>): Promise<number | 'no answer'> {
      const post = interaction(payload);
      try {
        const res = await fetch(`${roster.baseUrl}/slack/events`, {
          method: 'POST',
          headers: post.headers,
          body: post.body,
          signal: AbortSignal.timeout(4500),
        });
        await res.text();
        return res.status;
      } catch {
        return 'no answer';
      }
    }

    it('Slack: every button action_id reaches a Bolt listener', async () => {
      const refused: string[] = [];
      for (const id of slackIds.actions) {
        const before = unhandled();
        const status = await deliver(buttonClick(LIAM.slack, id, '{}', slack.responseUrl(`route-${id}`)));
        if (status !== 200 || unhandled() !== before) refused.push(`${id} (${status})`);
      }
      expect(refused).toEqual([]);
    }, 120_000);

    it('Slack: every modal callback_id reaches a Bolt view listener', async () => {
      const refused: string[] = [];
      for (const id of slackIds.callbacks) {
        const before = unhandled();
        const status = await deliver({
          type: 'view_submission',
          team: { id: 'TBRIGHT', domain: 'brightwater' },
          user: { id: LIAM.slack, username: 'liam', team_id: 'TBRIGHT' },
          api_app_id: 'AROSTER',
          token: 'legacy-verification-token',
          trigger_id: `trg_${id}`,
          view: {
            id: `V_${id}`,
            team_id: 'TBRIGHT',
            type: 'modal',
            callback_id: id,
            private_metadata: '{}',
            state: { values: {} },
            hash: 'h',
          },
        });
        if (status !== 200 || unhandled() !== before) refused.push(`${id} (${status})`);
      }
      expect(refused).toEqual([]);
    }, 120_000);

    it('Teams: every Action.Execute verb reaches a route other than the out-of-date fallback', async () => {
      const user = teamsUser(roster.chat.person(LIAM.email)!);
      expect((await client.install(user)).status).toBe(200);
      const refused: string[] = [];
      for (const verb of teamsIds.actions) {
        const res = await client.execute(user, verb, {});
        // A route answers with a card or, when nothing replaces the clicked card, a message.
        const body = res.body as { type?: string; value?: unknown } | undefined;
        const answered = res.card
          ? !cardText(res.card).includes('That button no longer works')
          : body?.type === 'application/vnd.microsoft.activity.message';
        if (res.status !== 200 || !answered) refused.push(`${verb} (${res.status})`);
      }
      expect(refused).toEqual([]);
      // The fallback itself: a verb no template carries is answered as out of date.
      expect(cardText((await client.execute(user, 'no_such_verb', {})).card)).toContain('That button no longer works');
    }, 120_000);
  });
});

/**
 * The kinds the core and the views it asks (anything but the chat adapters, the renderer and the
 * one builder per kind itself) name in a card they build: by its kind, or by calling that kind's builder.
 */
function kindsTheCoreSends(): CardKind[] {
  const kinds = new Set<CardKind>();
  const known = new Set<string>(CARD_KINDS);
  const byBuilder = new Map<string, CardKind>(CARD_KINDS.map((kind) => [CARD_BUILDERS[kind].name, kind]));
  const builderCall = new RegExp(`\\b(${[...byBuilder.keys()].join('|')})\\(`, 'g');
  const skip = ['src/channels/', 'src/cards/', 'src/cli/', 'src/views/card-builders.ts'].map((p) => path.join(root, p));
  for (const file of filesUnder(path.join(root, 'src'), '.ts')) {
    if (skip.some((dir) => file.startsWith(dir))) continue;
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/kind: '([a-z-]+)'|cardModel\('([a-z-]+)'/g)) {
      const kind = m[1] ?? m[2]!;
      if (known.has(kind)) kinds.add(kind as CardKind);
    }
    for (const m of text.matchAll(builderCall)) kinds.add(byBuilder.get(m[1]!)!);
  }
  return [...kinds].sort();
}

describe('every kind of card the core sends is deliverable on both platforms', () => {
  const fixtures = loadFixtures();
  const sent = kindsTheCoreSends();

  it('finds what the core sends (the scan itself works)', () => {
    expect(sent).toEqual(expect.arrayContaining(['approval-request', 'request-status', 'notice', 'evaluation-form', 'alert', 'checkin']));
  });

  const slackButtons = new Set<string>(actionsOn('slack', 'button').map(([id]) => id));
  const teamsVerbs = new Set<string>([...actionsOn('teams', 'button'), ...actionsOn('teams', 'form')].map(([id]) => id));

  it.each(sent)('%s: a Slack message and a Teams card, each valid on its platform, each button an action of the table', (kind) => {
    const models = fixtures.filter((f) => f.kind === kind).map((f) => f.model as CardModel);
    expect(models.length).toBeGreaterThan(0);
    for (const model of models) {
      const message = slackNotification(model);
      expect(message.surface).toBe('message');
      expect(checkSlackCard(message)).toEqual([]);
      const clicks = objectsIn(message.blocks).flatMap((o) =>
        o.type === 'button' && typeof o.action_id === 'string' ? [o.action_id] : [],
      );
      expect(clicks.filter((id) => !slackButtons.has(id))).toEqual([]);
      const activity = cardMessage(model);
      expect(activity.attachments?.[0]?.contentType).toBe('application/vnd.microsoft.card.adaptive');
      expect(checkTeamsCard(activity.attachments?.[0]?.content)).toEqual([]);
      const verbs = objectsIn(activity.attachments?.[0]?.content).flatMap((o) =>
        o.type === 'Action.Execute' && typeof o.verb === 'string' ? [o.verb] : [],
      );
      expect(verbs.filter((verb) => !teamsVerbs.has(verb))).toEqual([]);
    }
  });

  it('the evaluation form reaches Slack as a message whose button opens it', () => {
    const form = fixtures.find((f) => f.kind === 'evaluation-form')!.model;
    const message = slackNotification(form);
    const button = objectsIn(message.blocks).find((o) => o.action_id === 'evaluation_open');
    expect(button).toMatchObject({ style: 'primary', text: expect.objectContaining({ text: 'Enter evaluation results' }) });
    const { runId, agentId } = form.data as { runId: string; agentId: string };
    expect(JSON.parse(String(button?.value))).toEqual({ runId, agentId });
  });
});
