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
