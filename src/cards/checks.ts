import { adaptiveCardsEvents } from './adaptive-cards.js';
import { TEAMS_CARD_BYTES, teamsBytes } from './fit.js';
import type { JsonObject, JsonValue, RenderedCard, SlackRenderedCard } from './render.js';

/*
 * The platforms' rules for a card, checked offline: Block Kit limits (PLATFORM-NOTES §3) and
 * Adaptive Cards 1.5 as Teams accepts it (§9). Used by the card tests and by configuration
 * checks; an empty list means the platform should accept the card.
 */

/** One rule a card breaks. */
export interface CardViolation {
  /** Where, as a JSON path such as `blocks[3].accessory.text.text`. */
  path: string;
  /** What is wrong, e.g. `button text is 76 characters; the limit is 75`. */
  message: string;
}

/** Block Kit limits, from Slack's reference and `@slack/types`. */
export const SLACK_LIMITS = {
  messageBlocks: 50,
  viewBlocks: 100,
  messageText: 40_000,
  sectionText: 3000,
  sectionFields: 10,
  fieldText: 2000,
  headerText: 150,
  contextElements: 10,
  contextText: 3000,
  actionsElements: 25,
  id: 255,
  buttonText: 75,
  buttonValue: 2000,
  url: 3000,
  optionText: 75,
  optionValue: 75,
  selectOptions: 100,
  checkboxOptions: 10,
  placeholder: 150,
  inputLabel: 2000,
  inputHint: 2000,
  viewTitle: 24,
  privateMetadata: 3000,
  viewBytes: 250_000,
} as const;

/** Adaptive Card limits for bot messages in Teams. */
export const TEAMS_LIMITS = {
  /** Highest schema version Teams renders for bots. */
  maxVersion: '1.5',
  /** Size budget of a card in bytes, counted in UTF-16: Teams' 28 KB (sources at {@link TEAMS_CARD_BYTES}). */
  cardBytes: TEAMS_CARD_BYTES,
  refreshUserIds: 60,
} as const;

type Report = (path: string, message: string) => void;

const BLOCK_TYPES = new Set(['section', 'header', 'context', 'actions', 'divider', 'input', 'image', 'rich_text', 'markdown']);
const OPTION_ELEMENTS = new Set(['static_select', 'multi_static_select', 'checkboxes', 'radio_buttons', 'overflow']);
const FEW_OPTION_ELEMENTS = new Set(['checkboxes', 'radio_buttons']);

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function arrayAt(value: unknown): JsonValue[] {
  return Array.isArray(value) ? value : [];
}

function tooLong(what: string, length: number, max: number): string {
  return `${what} is ${length} characters; the limit is ${max}`;
}

function checkLength(report: Report, path: string, what: string, value: unknown, max: number): void {
  if (typeof value === 'string' && value.length > max) report(path, tooLong(what, value.length, max));
}

/** A text object: a known type, non-empty text within `max`, plain_text when `plainOnly`. */
function checkText(report: Report, path: string, what: string, value: unknown, max: number, plainOnly = false): void {
  if (!isObject(value)) return report(path, `${what} must be a text object`);
  if (value.type !== 'plain_text' && (plainOnly || value.type !== 'mrkdwn')) {
    return report(`${path}.type`, `${what} must be ${plainOnly ? 'plain_text' : 'plain_text or mrkdwn'}`);
  }
  if (typeof value.text !== 'string' || value.text.length === 0) return report(`${path}.text`, `${what} is empty`);
  checkLength(report, `${path}.text`, what, value.text, max);
}

function checkOption(report: Report, path: string, option: unknown): void {
  if (!isObject(option)) return report(path, 'option must be an object');
  checkText(report, `${path}.text`, 'option text', option.text, SLACK_LIMITS.optionText);
  if (option.description !== undefined)
    checkText(report, `${path}.description`, 'option description', option.description, SLACK_LIMITS.optionText);
  if (typeof option.value !== 'string' || option.value.length === 0) report(`${path}.value`, 'option value is missing');
  checkLength(report, `${path}.value`, 'option value', option.value, SLACK_LIMITS.optionValue);
}

function checkElement(report: Report, path: string, element: unknown): void {
  if (!isObject(element)) return report(path, 'element must be an object');
  checkLength(report, `${path}.action_id`, 'action_id', element.action_id, SLACK_LIMITS.id);
  if (element.placeholder !== undefined)
    checkText(report, `${path}.placeholder`, 'placeholder', element.placeholder, SLACK_LIMITS.placeholder, true);
  if (element.type === 'button') {
    checkText(report, `${path}.text`, 'button text', element.text, SLACK_LIMITS.buttonText, true);
    checkLength(report, `${path}.value`, 'button value', element.value, SLACK_LIMITS.buttonValue);
    checkLength(report, `${path}.url`, 'button url', element.url, SLACK_LIMITS.url);
    if (element.style !== undefined && element.style !== 'primary' && element.style !== 'danger') {
      report(`${path}.style`, 'button style must be primary or danger');
    }
  }
  if (OPTION_ELEMENTS.has(String(element.type))) {
    const options = arrayAt(element.options);
    const max = FEW_OPTION_ELEMENTS.has(String(element.type)) ? SLACK_LIMITS.checkboxOptions : SLACK_LIMITS.selectOptions;
    if (options.length === 0 && element.option_groups === undefined) report(`${path}.options`, 'a select needs at least one option');
    if (options.length > max) report(`${path}.options`, `${options.length} options; the limit is ${max}`);
    options.forEach((option, i) => checkOption(report, `${path}.options[${i}]`, option));
    if (element.initial_option !== undefined) checkOption(report, `${path}.initial_option`, element.initial_option);
    arrayAt(element.initial_options).forEach((option, i) => checkOption(report, `${path}.initial_options[${i}]`, option));
  }
  if (element.type === 'plain_text_input' && typeof element.initial_value === 'string' && typeof element.max_length === 'number') {
    if (element.initial_value.length > element.max_length) {
      report(`${path}.initial_value`, tooLong('initial_value', element.initial_value.length, element.max_length));
    }
  }
}

function checkSection(report: Report, path: string, block: JsonObject): void {
  if (block.text === undefined && block.fields === undefined) report(path, 'a section needs text or fields');
  if (block.text !== undefined) checkText(report, `${path}.text`, 'section text', block.text, SLACK_LIMITS.sectionText);
  if (block.fields !== undefined) {
    const fields = arrayAt(block.fields);
    if (fields.length === 0 || fields.length > SLACK_LIMITS.sectionFields) {
      report(`${path}.fields`, `${fields.length} fields; a section takes 1 to ${SLACK_LIMITS.sectionFields}`);
    }
    fields.forEach((field, i) => checkText(report, `${path}.fields[${i}]`, 'field', field, SLACK_LIMITS.fieldText));
  }
  if (block.accessory !== undefined) checkElement(report, `${path}.accessory`, block.accessory);
}

function checkContext(report: Report, path: string, block: JsonObject): void {
  const elements = arrayAt(block.elements);
  if (elements.length === 0 || elements.length > SLACK_LIMITS.contextElements) {
    report(`${path}.elements`, `${elements.length} elements; a context block takes 1 to ${SLACK_LIMITS.contextElements}`);
  }
  elements.forEach((element, i) => {
    if (isObject(element) && element.type !== 'image')
      checkText(report, `${path}.elements[${i}]`, 'context text', element, SLACK_LIMITS.contextText);
  });
}

function checkActions(report: Report, path: string, block: JsonObject): void {
  const elements = arrayAt(block.elements);
  if (elements.length === 0 || elements.length > SLACK_LIMITS.actionsElements) {
    report(`${path}.elements`, `${elements.length} elements; an actions block takes 1 to ${SLACK_LIMITS.actionsElements}`);
  }
  const seen = new Set<string>();
  elements.forEach((element, i) => {
    checkElement(report, `${path}.elements[${i}]`, element);
    const actionId = isObject(element) ? element.action_id : undefined;
    if (typeof actionId !== 'string') return;
    if (seen.has(actionId)) report(`${path}.elements[${i}].action_id`, `action_id "${actionId}" is used twice in the block`);
    seen.add(actionId);
  });
}

function checkInput(report: Report, path: string, block: JsonObject): void {
  checkText(report, `${path}.label`, 'input label', block.label, SLACK_LIMITS.inputLabel, true);
  if (block.hint !== undefined) checkText(report, `${path}.hint`, 'input hint', block.hint, SLACK_LIMITS.inputHint, true);
  if (!isObject(block.element)) report(`${path}.element`, 'an input block needs an element');
  else checkElement(report, `${path}.element`, block.element);
}

function checkBlocks(report: Report, path: string, blocks: unknown, max: number): void {
  if (!Array.isArray(blocks)) return report(path, 'blocks must be an array');
  if (blocks.length > max) report(path, `${blocks.length} blocks; the limit is ${max}`);
  const blockIds = new Set<string>();
  blocks.forEach((block, i) => {
    const at = `${path}[${i}]`;
    if (!isObject(block)) return report(at, 'block must be an object');
    if (!BLOCK_TYPES.has(String(block.type))) report(`${at}.type`, `unknown block type "${String(block.type)}"`);
    if (typeof block.block_id === 'string') {
      checkLength(report, `${at}.block_id`, 'block_id', block.block_id, SLACK_LIMITS.id);
      if (blockIds.has(block.block_id)) report(`${at}.block_id`, `block_id "${block.block_id}" is used twice`);
      blockIds.add(block.block_id);
    }
    if (block.type === 'header') checkText(report, `${at}.text`, 'header text', block.text, SLACK_LIMITS.headerText, true);
    else if (block.type === 'section') checkSection(report, at, block);
    else if (block.type === 'context') checkContext(report, at, block);
    else if (block.type === 'actions') checkActions(report, at, block);
    else if (block.type === 'input') checkInput(report, at, block);
  });
}

function checkView(report: Report, card: Extract<SlackRenderedCard, { view: unknown }>): void {
  const { view } = card;
  if (view.type !== card.surface) report('view.type', `view type must be "${card.surface}"`);
  checkBlocks(report, 'view.blocks', view.blocks, SLACK_LIMITS.viewBlocks);
  const bytes = Buffer.byteLength(JSON.stringify(view), 'utf8');
  if (bytes > SLACK_LIMITS.viewBytes) report('view', `view is ${bytes} bytes; Slack rejects views over ${SLACK_LIMITS.viewBytes}`);
  if (view.type !== 'modal') return;
  checkText(report, 'view.title', 'modal title', view.title, SLACK_LIMITS.viewTitle, true);
  if (view.submit !== undefined) checkText(report, 'view.submit', 'modal submit', view.submit, SLACK_LIMITS.viewTitle, true);
  if (view.close !== undefined) checkText(report, 'view.close', 'modal close', view.close, SLACK_LIMITS.viewTitle, true);
  checkLength(report, 'view.callback_id', 'callback_id', view.callback_id, SLACK_LIMITS.id);
  checkLength(report, 'view.private_metadata', 'private_metadata', view.private_metadata, SLACK_LIMITS.privateMetadata);
  const hasInput = view.blocks.some((block) => isObject(block) && block.type === 'input');
  if (hasInput && view.submit === undefined) report('view.submit', 'a modal with input blocks needs a submit button');
}

/**
 * Checks a rendered Slack card against Block Kit's limits: block counts (50 per message, 100
 * per modal or home), text lengths (section 3000, field 2000, header 150, button 75, option 75,
 * modal title/submit/close 24, private_metadata 3000), element counts (fields 10, context 10,
 * actions 25, options 100 or 10), id lengths (255) and uniqueness, empty texts, and that a modal
 * with inputs has a submit button.
 */
export function checkSlackCard(card: SlackRenderedCard): CardViolation[] {
  const violations: CardViolation[] = [];
  const report: Report = (path, message) => violations.push({ path, message });
  if (card.surface === 'message') {
    if (card.text.trim().length === 0) report('text', 'fallback text is empty');
    checkLength(report, 'text', 'fallback text', card.text, SLACK_LIMITS.messageText);
    checkBlocks(report, 'blocks', card.blocks, SLACK_LIMITS.messageBlocks);
  } else {
    checkView(report, card);
  }
  return violations;
}

function versionNumber(version: string): [number, number] | undefined {
  const match = /^(\d+)\.(\d+)$/.exec(version);
  return match ? [Number(match[1]), Number(match[2])] : undefined;
}

/** Every object in a JSON tree with its path. */
function* objectsIn(value: JsonValue, path: string): Generator<[string, JsonObject]> {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) yield* objectsIn(value[i] as JsonValue, `${path}[${i}]`);
  } else if (isObject(value)) {
    yield [path, value];
    for (const [key, child] of Object.entries(value)) yield* objectsIn(child, path === '' ? key : `${path}.${key}`);
  }
}

/** A Teams `Chart.Line`: at least one series, each with points of a string or number `x` and a number `y`. */
function checkLineChart(report: Report, path: string, chart: JsonObject): void {
  const series = arrayAt(chart.data);
  if (series.length === 0) return report(`${path}.data`, 'Chart.Line needs at least one series in data');
  series.forEach((s, i) => {
    const values = isObject(s) ? arrayAt(s.values) : [];
    if (values.length === 0) report(`${path}.data[${i}].values`, 'a Chart.Line series needs values');
    values.forEach((v, j) => {
      const ok = isObject(v) && (typeof v.x === 'string' || typeof v.x === 'number') && typeof v.y === 'number' && Number.isFinite(v.y);
      if (!ok) report(`${path}.data[${i}].values[${j}]`, 'a Chart.Line point needs a string or number x and a finite number y');
    });
  });
}

/**
 * Checks an Adaptive Card the way Teams will take it: the official `adaptivecards` library
 * must parse and validate it without a single event (unknown element or action types,
 * duplicate ids, inputs without ids or labels…; Teams' `Chart.Line` is known, its series and
 * points checked here); `version` must be present and at most 1.5;
 * the card must fit Teams' 28 KB for an Adaptive Card (see {@link TEAMS_CARD_BYTES}); `refresh.userIds` may name at most 60 users;
 * and every `Action.Execute` needs a verb.
 */
export function checkTeamsCard(card: unknown): CardViolation[] {
  if (!isObject(card)) return [{ path: '', message: 'an Adaptive Card must be an object' }];
  const violations: CardViolation[] = [];
  const report: Report = (path, message) => violations.push({ path, message });
  if (card.type !== 'AdaptiveCard') report('type', 'type must be "AdaptiveCard"');
  const [maxMajor, maxMinor] = versionNumber(TEAMS_LIMITS.maxVersion) as [number, number];
  const version = typeof card.version === 'string' ? versionNumber(card.version) : undefined;
  if (card.version === undefined) report('version', 'version is missing');
  else if (!version) report('version', `version "${String(card.version)}" is not major.minor`);
  else if (version[0] > maxMajor || (version[0] === maxMajor && version[1] > maxMinor)) {
    report('version', `version ${String(card.version)} is newer than ${TEAMS_LIMITS.maxVersion}, the highest Teams renders`);
  }
  const bytes = teamsBytes(card);
  if (bytes > TEAMS_LIMITS.cardBytes) {
    report('', `card is ${bytes} bytes in UTF-16; Teams rejects Adaptive Card messages over ${TEAMS_LIMITS.cardBytes}`);
  }
  const userIds = isObject(card.refresh) ? card.refresh.userIds : undefined;
  if (Array.isArray(userIds) && userIds.length > TEAMS_LIMITS.refreshUserIds) {
    report('refresh.userIds', `${userIds.length} user ids; Teams refreshes for at most ${TEAMS_LIMITS.refreshUserIds}`);
  }
  let emptyTypeaheads = 0;
  for (const [path, object] of objectsIn(card, '')) {
    if (object.type === 'Action.Execute' && (typeof object.verb !== 'string' || object.verb.length === 0)) {
      report(path, 'Action.Execute has no verb');
    }
    if (object.type === 'Chart.Line') checkLineChart(report, path, object);
    if (object.type === 'Input.ChoiceSet' && object[TYPEAHEAD_PROPERTY] !== undefined) {
      checkTypeahead(report, path, object);
      if (arrayAt(object.choices).length === 0) emptyTypeaheads++;
    }
  }
  for (const event of adaptiveCardsEvents(card)) {
    // Teams' typeahead (below) in a 1.5 card, which the library only knows from 1.6.
    if (event.event === 'UnsupportedProperty' && event.message.includes(`"${TYPEAHEAD_PROPERTY}"`)) continue;
    if (event.event === 'CollectionCantBeEmpty' && event.message.includes('Input.ChoiceSet') && emptyTypeaheads > 0) {
      emptyTypeaheads--;
      continue;
    }
    report('', `${event.event}: ${event.message}`);
  }
  return violations;
}

/**
 * Teams' dynamic typeahead: an `Input.ChoiceSet` whose `choices.data` is a `Data.Query` asks the
 * bot for choices as the person types (the `application/search` invoke), so its static `choices`
 * may be empty. Teams supports it in bot cards of version 1.5 (its documentation's example card
 * is 1.5: learn.microsoft.com/microsoftteams/platform/task-modules-and-cards/cards/dynamic-search),
 * while the library only accepts the property from 1.6; its shape is checked here instead.
 */
const TYPEAHEAD_PROPERTY = 'choices.data';

function checkTypeahead(report: Report, path: string, choiceSet: Record<string, unknown>): void {
  const query = choiceSet[TYPEAHEAD_PROPERTY];
  if (!isObject(query) || query.type !== 'Data.Query') return report(`${path}.choices.data`, 'choices.data must be a Data.Query');
  if (typeof query.dataset !== 'string' || query.dataset.length === 0 || query.dataset.length > 100)
    report(`${path}.choices.data.dataset`, 'a Data.Query needs a dataset of 1 to 100 characters');
  if (choiceSet.style !== 'filtered') report(`${path}.style`, 'a choice set searched as the person types must have style "filtered"');
}

/** Checks a rendered card of either platform; see {@link checkSlackCard} and {@link checkTeamsCard}. */
export function checkRenderedCard(card: RenderedCard): CardViolation[] {
  return card.platform === 'slack' ? checkSlackCard(card) : checkTeamsCard(card.card);
}
