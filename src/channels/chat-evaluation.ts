import type { OrgConfig } from '../config/schemas.js';
import { roleById } from '../config/directory.js';
import type { CardModel, DataOf } from '../cards/view-models.js';
import type { AgentRecord } from '../core/agents.js';
import { ENDPOINT_KINDS } from '../evals/callers.js';
import type { Services } from '../services.js';
import type { PromptValues } from './chat-actions.js';
import type { EvalCaseRecord, EvalRunRecord } from '../evals/types.js';

/*
 * The interview in chat: the endpoint prompt (how Roster reaches the candidate), the start of a
 * suite run, and the failing cases behind the verdict card's button. Who may is the bus's
 * (`evaluation.register`, `evaluation.show`); the rules of a run are the evaluation service's.
 */

const KIND_LABELS: Record<(typeof ENDPOINT_KINDS)[number], string> = {
  http: 'HTTP JSON endpoint (Roster contract)',
  openai: 'OpenAI-compatible chat completions',
  mcp: 'MCP server tool (Streamable HTTP)',
};

export class EvaluationChat {
  constructor(
    private readonly org: OrgConfig,
    private readonly services: Services,
  ) {}

  /**
   * The prompt registering how Roster reaches an agent (kind, URL, model or tool, secret); who may
   * open and send it is the `evaluation.register` command's rule.
   */
  endpointPromptCard(agent: AgentRecord): CardModel {
    const role = roleById(this.org, agent.catalogRoleId);
    const suite = this.services.evaluations.suite(agent.catalogRoleId);
    const data: DataOf<'prompt'> = {
      title: 'Evaluate with Roster',
      text: `Roster runs the ${role?.title ?? agent.catalogRoleId} suite (${suite?.cases.length ?? 0} cases) against ${agent.name} and measures accuracy, latency, cost and role fit. Only hosts IT allows can be reached. A secret is stored encrypted and never shown again.`,
      submitLabel: 'Run the suite',
      promptVerb: 'eval_register',
      payload: { agentId: agent.id },
      inputs: this.endpointInputs(),
    };
    return { kind: 'prompt', data };
  }

  /** How Roster reaches an agent: kind, URL, model or tool, secret (the inputs of the endpoint prompt). */
  endpointInputs(): DataOf<'prompt'>['inputs'] {
    return [
      {
        name: 'kind',
        kind: 'choice',
        label: 'How Roster reaches it',
        multiline: false,
        maxLength: 20,
        optional: false,
        options: ENDPOINT_KINDS.map((k) => ({ value: k, label: KIND_LABELS[k] })),
        selectedId: 'http',
      },
      {
        name: 'url',
        kind: 'text',
        label: 'Endpoint URL',
        placeholder: 'https://agents.example.com/answer',
        multiline: false,
        maxLength: 2000,
        optional: false,
      },
      { name: 'target', kind: 'text', label: 'Model (OpenAI) or tool (MCP)', multiline: false, maxLength: 200, optional: true },
      {
        name: 'secret',
        kind: 'text',
        label: 'Bearer token (optional, stored encrypted)',
        multiline: false,
        maxLength: 3000,
        optional: true,
      },
    ];
  }

  /** How Roster reaches an agent, as the endpoint prompt's values give it (the `evaluation.register` command's endpoint). */
  endpointOf(values: PromptValues): { kind: string; url: string; target?: string; secret?: string } {
    return {
      kind: values.kind ?? 'http',
      url: values.url ?? '',
      ...(values.target?.trim() ? { target: values.target.trim() } : {}),
      ...(values.secret?.trim() ? { secret: values.secret.trim() } : {}),
    };
  }

  /** The suite started (the request's gate, or a re-interview of a working agent): progress and the verdict follow. */
  startedCard(run: EvalRunRecord): CardModel {
    return {
      kind: 'notice',
      data: {
        level: 'info',
        title: `Evaluation of ${run.agentName} started`,
        text: `Roster is running ${run.total} cases against ${run.endpoint.url}; progress and the verdict follow.`,
      },
    };
  }

  /** The failing cases of a run: input, expected, what the agent said, and why. */
  failingCasesCard(run: EvalRunRecord, cases: readonly EvalCaseRecord[]): CardModel {
    const failing = cases.filter((c) => !c.passed);
    const shown = failing.slice(0, 20);
    return {
      kind: 'notice',
      data: {
        level: failing.length ? 'warning' : 'success',
        title: `Failing cases of ${run.agentName} ${run.version}: ${failing.length} of ${cases.length}`,
        text: failing.length
          ? `Suite ${run.suiteFile} (${run.suiteHash.slice(0, 12)}), run ${run.id}${failing.length > shown.length ? `; the first ${shown.length} are shown` : ''}.`
          : 'Every case passed.',
        ...(shown.length
          ? {
              sections: shown.map((c) => ({
                text: `${c.caseId}${c.segment ? ` (${c.segment})` : ''}: ${c.error ?? c.reason ?? 'wrong answer'}\nInput: ${c.input}\nExpected: ${c.expected}\nGot: ${c.got || '(nothing)'}`,
                actions: [],
              })),
            }
          : {}),
      },
    };
  }
}
