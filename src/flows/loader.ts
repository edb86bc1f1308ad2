import { readdirSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, displayPath, readYaml } from '../config/org-config.js';
import { formatPath, validateWithSchema } from '../config/zod-messages.js';
import { flowSchema, type FlowDefinition } from './schema.js';
import type { StepRegistry } from './types.js';
import { currentFlowId } from './renamed-flows.js';

/** Names of the named steps a registry provides, to check flows against without building it. */
export interface RegistryNames {
  checks: readonly string[];
  actions: readonly string[];
  conditions: readonly string[];
  gates: readonly string[];
}

export function registryNames(registry: StepRegistry): RegistryNames {
  return {
    checks: Object.keys(registry.checks),
    actions: Object.keys(registry.actions),
    conditions: Object.keys(registry.conditions),
    gates: Object.keys(registry.gates),
  };
}

/** Describes a problem path inside a flow, naming the step: `steps[2] (approvals).quorum`. */
function stepPath(data: unknown, line: string): string {
  const m = /^steps\[(\d+)\](.*)$/.exec(line);
  if (!m) return line;
  const steps = (data as { steps?: Array<{ id?: unknown }> } | undefined)?.steps;
  const id = steps?.[Number(m[1])]?.id;
  return typeof id === 'string' ? `steps[${m[1]}] (${id})${m[2]}` : line;
}

/**
 * Loads and validates every `*.yaml` in `dir`. Problems name the file and the step, e.g.
 * `flows/agent-request.yaml: steps[3] (approvals): unknown condition "risky"`; with `names`,
 * every named check, action, gate and condition must exist in the registry.
 *
 * @throws ConfigError listing every problem.
 */
export function loadFlows(dir: string, names?: RegistryNames): Map<string, FlowDefinition> {
  const problems: string[] = [];
  const flows = new Map<string, FlowDefinition>();
  let files: string[];
  try {
    files = readdirSync(dir)
      .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
      .sort();
  } catch {
    throw new ConfigError([`${displayPath(dir, '.')}: flows directory not found`]);
  }
  for (const file of files) {
    const shown = displayPath(dir, file);
    const read = readYaml(path.join(dir, file));
    if (!read.ok) {
      problems.push(...read.problems.map((p) => `${shown}: ${p}`));
      continue;
    }
    const result = validateWithSchema(flowSchema, read.data);
    if (!result.ok) {
      problems.push(...result.problems.map((p) => `${shown}: ${stepPath(read.data, p)}`));
      continue;
    }
    // A deployment's own copy of a renamed flow keeps working: the code starts it by its current id.
    const flow = { ...result.data, id: currentFlowId(result.data.id) };
    if (flows.has(flow.id)) problems.push(`${shown}: id: flow "${flow.id}" is defined twice`);
    if (names) problems.push(...checkNames(flow, names).map((p) => `${shown}: ${p}`));
    flows.set(flow.id, flow);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return flows;
}

function checkNames(flow: FlowDefinition, names: RegistryNames): string[] {
  const problems: string[] = [];
  const at = (i: number, field: string) => `${formatPath(['steps', i])} (${flow.steps[i]!.id}).${field}`;
  if (flow.onFailure && !names.actions.includes(flow.onFailure)) problems.push(`onFailure: unknown action "${flow.onFailure}"`);
  flow.steps.forEach((step, i) => {
    if (step.when && !names.conditions.includes(step.when)) problems.push(`${at(i, 'when')}: unknown condition "${step.when}"`);
    if (step.type === 'check' && !names.checks.includes(step.check)) problems.push(`${at(i, 'check')}: unknown check "${step.check}"`);
    if (step.type === 'action' && !names.actions.includes(step.action))
      problems.push(`${at(i, 'action')}: unknown action "${step.action}"`);
    if (step.type === 'gate' && !names.gates.includes(step.gate)) problems.push(`${at(i, 'gate')}: unknown gate "${step.gate}"`);
    if (step.type === 'approval') {
      step.approvers.forEach((g, j) => {
        if (g.when && !names.conditions.includes(g.when)) problems.push(`${at(i, `approvers[${j}].when`)}: unknown condition "${g.when}"`);
      });
      if (step.expiresAfter && step.remindAfter && step.remindAfter.ms >= step.expiresAfter.ms) {
        problems.push(`${at(i, 'remindAfter')}: must be shorter than expiresAfter (${step.expiresAfter.text})`);
      }
    }
  });
  return problems;
}
