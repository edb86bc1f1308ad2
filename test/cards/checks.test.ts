import { checkSlackCard, checkTeamsCard, type JsonObject, type SlackRenderedCard, type SlackViewCard } from '../../src/cards/index.js';

/* Hand-made cards that break one rule each: the checks must catch every one. */

const section = (text: string): JsonObject => ({ type: 'section', text: { type: 'mrkdwn', text } });
const button = (text: string, extra: JsonObject = {}): JsonObject => ({
  type: 'button',
  action_id: 'approval_approve',
  text: { type: 'plain_text', text },
  value: 'v',
  ...extra,
});
const message = (blocks: JsonObject[]): SlackRenderedCard => ({
  platform: 'slack',
  surface: 'message',
  kind: 'notice',
  text: 'fallback',
  blocks,
});
const modal = (view: JsonObject): SlackRenderedCard => ({
  platform: 'slack',
  surface: 'modal',
  kind: 'request-form',
  view: { type: 'modal', title: { type: 'plain_text', text: 'Request an agent' }, blocks: [], ...view } as SlackViewCard['view'],
});
const input = (blockId: string): JsonObject => ({
  type: 'input',
  block_id: blockId,
  label: { type: 'plain_text', text: 'Name' },
  element: { type: 'plain_text_input', action_id: blockId },
});

const messages = (card: SlackRenderedCard) => checkSlackCard(card).map((violation) => `${violation.path}: ${violation.message}`);

describe('checkSlackCard', () => {
  it('accepts a card within every limit', () => {
    expect(checkSlackCard(message([section('x'.repeat(3000)), { type: 'actions', elements: [button('y'.repeat(75))] }]))).toEqual([]);
    expect(
      checkSlackCard(
        modal({ title: { type: 'plain_text', text: 'x'.repeat(24) }, blocks: [input('a')], submit: { type: 'plain_text', text: 'Send' } }),
      ),
    ).toEqual([]);
  });

  it('reports a message of 51 blocks', () => {
    expect(messages(message(Array.from({ length: 51 }, () => section('x'))))).toEqual(['blocks: 51 blocks; the limit is 50']);
  });

  it('reports a modal of 101 blocks', () => {
    expect(messages(modal({ blocks: Array.from({ length: 101 }, () => section('x')) }))).toEqual([
      'view.blocks: 101 blocks; the limit is 100',
    ]);
  });

  it('reports a button text of 76 characters', () => {
    expect(messages(message([{ type: 'actions', elements: [button('y'.repeat(76))] }]))).toEqual([
      'blocks[0].elements[0].text.text: button text is 76 characters; the limit is 75',
    ]);
  });

  it('reports a modal title of 25 characters', () => {
    expect(messages(modal({ title: { type: 'plain_text', text: 'z'.repeat(25) } }))).toEqual([
      'view.title.text: modal title is 25 characters; the limit is 24',
    ]);
  });

  it('reports a modal with inputs but no submit button', () => {
    expect(messages(modal({ blocks: [input('a')] }))).toEqual(['view.submit: a modal with input blocks needs a submit button']);
  });

  it('reports long texts, too many fields and elements, and bad ids', () => {
    const found = messages(
      message([
        section('x'.repeat(3001)),
        { type: 'section', fields: Array.from({ length: 11 }, () => ({ type: 'mrkdwn', text: 'f' })) },
        { type: 'header', text: { type: 'plain_text', text: 'h'.repeat(151) } },
        { type: 'context', elements: Array.from({ length: 11 }, () => ({ type: 'mrkdwn', text: 'c' })) },
        { type: 'actions', block_id: 'same', elements: [button('a'), button('b')] },
        { type: 'divider', block_id: 'same' },
        { type: 'actions', elements: [button('a', { action_id: 'i'.repeat(256), value: 'v'.repeat(2001) })] },
        { type: 'section', text: { type: 'mrkdwn', text: '' } },
        { type: 'carousel' },
      ]),
    );
    expect(found).toEqual([
      'blocks[0].text.text: section text is 3001 characters; the limit is 3000',
      'blocks[1].fields: 11 fields; a section takes 1 to 10',
      'blocks[2].text.text: header text is 151 characters; the limit is 150',
      'blocks[3].elements: 11 elements; a context block takes 1 to 10',
      'blocks[4].elements[1].action_id: action_id "approval_approve" is used twice in the block',
      'blocks[5].block_id: block_id "same" is used twice',
      'blocks[6].elements[0].action_id: action_id is 256 characters; the limit is 255',
      'blocks[6].elements[0].value: button value is 2001 characters; the limit is 2000',
      'blocks[7].text.text: section text is empty',
      'blocks[8].type: unknown block type "carousel"',
    ]);
  });

  it('reports options over their limits and an empty fallback text', () => {
    const option = (text: string, value = 'v') => ({ text: { type: 'plain_text', text }, value });
    const card: SlackRenderedCard = {
      platform: 'slack',
      surface: 'message',
      kind: 'notice',
      text: ' ',
      blocks: [
        {
          type: 'actions',
          elements: [
            { type: 'static_select', action_id: 's', options: [option('o'.repeat(76)), option('ok', 'v'.repeat(76))] },
            { type: 'checkboxes', action_id: 'c', options: Array.from({ length: 11 }, (_, i) => option(`c${i}`)) },
          ],
        },
      ],
    };
    expect(messages(card)).toEqual([
      'text: fallback text is empty',
      'blocks[0].elements[0].options[0].text.text: option text is 76 characters; the limit is 75',
      'blocks[0].elements[0].options[1].value: option value is 76 characters; the limit is 75',
      'blocks[0].elements[1].options: 11 options; the limit is 10',
    ]);
  });
});

const adaptiveCard = (extra: JsonObject = {}): JsonObject => ({
  type: 'AdaptiveCard',
  $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
  version: '1.5',
  body: [{ type: 'TextBlock', text: 'Hello', wrap: true }],
  ...extra,
});

const teamsMessages = (card: unknown) => checkTeamsCard(card).map((violation) => `${violation.path}: ${violation.message}`);

describe('checkTeamsCard', () => {
  it('accepts a valid 1.5 card with Action.Execute and refresh', () => {
    const card = adaptiveCard({
      refresh: { action: { type: 'Action.Execute', verb: 'approval_refresh' }, userIds: ['a'] },
      actions: [{ type: 'Action.Execute', title: 'Approve', verb: 'approval_approve', data: { runId: 'r' } }],
    });
    expect(checkTeamsCard(card)).toEqual([]);
  });

  it('reports version 1.6 and a missing version', () => {
    expect(teamsMessages(adaptiveCard({ version: '1.6' }))).toEqual(['version: version 1.6 is newer than 1.5, the highest Teams renders']);
    const { version: _version, ...unversioned } = adaptiveCard();
    expect(teamsMessages(unversioned)).toEqual(['version: version is missing']);
  });

  it('reports an unknown element type, as the adaptivecards library parses it', () => {
    const found = teamsMessages(adaptiveCard({ body: [{ type: 'Carousel', pages: [] }] }));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^: UnknownElementType: Unknown element type "Carousel"/);
  });

  it("knows Teams' Chart.Line and reports one without series or with a point that is not a number", () => {
    const line = (values: JsonObject[]) => ({ type: 'Chart.Line', title: 'Daily accuracy', data: [{ legend: 'Accuracy (%)', values }] });
    expect(teamsMessages(adaptiveCard({ body: [line([{ x: '9 Nov', y: 92.1 }, { x: '10 Nov', y: 80 }])] }))).toEqual([]);
    expect(teamsMessages(adaptiveCard({ body: [{ type: 'Chart.Line', data: [] }] }))).toEqual([
      'body[0].data: Chart.Line needs at least one series in data',
    ]);
    expect(teamsMessages(adaptiveCard({ body: [line([{ x: '9 Nov', y: '92%' }])] }))).toEqual([
      'body[0].data[0].values[0]: a Chart.Line point needs a string or number x and a finite number y',
    ]);
    // Other Teams chart types are not drawn by Roster and stay unknown.
    expect(teamsMessages(adaptiveCard({ body: [{ type: 'Chart.Pie', data: [] }] }))[0]).toMatch(/UnknownElementType/);
  });

  it("knows Teams' typeahead (a Data.Query choice set, empty until searched) and reports a malformed one or an empty plain one", () => {
    const choiceSet = (extra: JsonObject) => ({ type: 'Input.ChoiceSet', id: 'agent', label: 'Agent', choices: [], ...extra });
    const query = { type: 'Data.Query', dataset: 'agents:note' };
    expect(teamsMessages(adaptiveCard({ body: [choiceSet({ style: 'filtered', 'choices.data': query })] }))).toEqual([]);
    expect(teamsMessages(adaptiveCard({ body: [choiceSet({ style: 'filtered', 'choices.data': { type: 'Data.Query' } })] }))).toEqual([
      'body[0].choices.data.dataset: a Data.Query needs a dataset of 1 to 100 characters',
    ]);
    expect(teamsMessages(adaptiveCard({ body: [choiceSet({ style: 'compact', 'choices.data': query })] }))).toEqual([
      'body[0].style: a choice set searched as the person types must have style "filtered"',
    ]);
    expect(teamsMessages(adaptiveCard({ body: [choiceSet({ style: 'filtered', 'choices.data': 'agents' })] }))).toEqual([
      'body[0].choices.data: choices.data must be a Data.Query',
    ]);
    // A choice set that does not search still needs its choices.
    const plain = teamsMessages(
      adaptiveCard({ body: [choiceSet({ style: 'filtered', 'choices.data': query }), choiceSet({ id: 'kind', style: 'compact' })] }),
    );
    expect(plain).toHaveLength(1);
    expect(plain[0]).toMatch(/CollectionCantBeEmpty/);
  });

  it('reports duplicate input ids and required inputs without label', () => {
    const found = teamsMessages(
      adaptiveCard({
        body: [
          { type: 'Input.Text', id: 'reason', label: 'Reason' },
          { type: 'Input.Text', id: 'reason', isRequired: true, errorMessage: 'x' },
        ],
      }),
    );
    expect(found).toEqual(
      expect.arrayContaining([expect.stringMatching(/DuplicateId/), expect.stringMatching(/RequiredInputsShouldHaveLabel/)]),
    );
  });

  it('reports an Action.Execute without a verb, wherever it is', () => {
    const found = teamsMessages(
      adaptiveCard({
        body: [{ type: 'ActionSet', actions: [{ type: 'Action.Execute', title: 'Go' }] }],
        actions: [{ type: 'Action.Execute', title: 'Go', verb: '' }],
      }),
    );
    expect(found).toEqual(['body[0].actions[0]: Action.Execute has no verb', 'actions[0]: Action.Execute has no verb']);
  });

  it('reports a refresh for more than 60 users and a card over 28 KB', () => {
    const userIds = Array.from({ length: 61 }, (_, i) => `user-${i}`);
    expect(teamsMessages(adaptiveCard({ refresh: { action: { type: 'Action.Execute', verb: 'r' }, userIds } }))).toEqual([
      'refresh.userIds: 61 user ids; Teams refreshes for at most 60',
    ]);
    const big = adaptiveCard({ body: [{ type: 'TextBlock', text: 'x'.repeat(52_000) }] });
    expect(teamsMessages(big)).toEqual([
      expect.stringMatching(/^: card is \d+ bytes in UTF-16; Teams rejects Adaptive Card messages over 28672$/),
    ]);
    // The limit is 28 KB in UTF-16 (14,336 characters of JSON): just over is reported, just under is not.
    const filler = (chars: number) => adaptiveCard({ body: [{ type: 'TextBlock', text: 'x'.repeat(chars) }] });
    const base = JSON.stringify(filler(0)).length;
    expect(teamsMessages(filler(28 * 512 - base))).toEqual([]);
    expect(teamsMessages(filler(28 * 512 - base + 1))).toEqual([expect.stringMatching(/card is 28674 bytes/)]);
  });

  it('reports something that is not an Adaptive Card', () => {
    expect(teamsMessages({ type: 'MessageCard', version: '1.0' })).toEqual(expect.arrayContaining(['type: type must be "AdaptiveCard"']));
    expect(teamsMessages('card')).toEqual([': an Adaptive Card must be an object']);
  });
});
