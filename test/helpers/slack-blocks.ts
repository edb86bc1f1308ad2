import {
  ACCESS_FORM_INPUTS,
  DENY_REASON_INPUT,
  EVALUATION_FORM_INPUTS,
  FIND_FORM_INPUTS,
  REQUEST_FORM_INPUTS,
} from '../../src/cards/ids.js';

/** Every element with an `action_id` anywhere in Block Kit blocks (buttons, inputs, selects). */
export function actionElements(blocks: unknown): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      const obj = node as Record<string, unknown>;
      if (typeof obj.action_id === 'string') out.push(obj);
      Object.values(obj).forEach(walk);
    }
  };
  walk(blocks);
  return out;
}

/** The action ids of Roster's Slack form fields: inputs of a modal or card, read on submit and never sent on their own. */
export const SLACK_FORM_FIELDS: ReadonlySet<string> = new Set<string>(
  [REQUEST_FORM_INPUTS, EVALUATION_FORM_INPUTS, ACCESS_FORM_INPUTS, FIND_FORM_INPUTS].flatMap((inputs) =>
    Object.values(inputs).map((i) => i.slack),
  ),
).add(DENY_REASON_INPUT.slack);
