import { MAX_MATCHED_CHARS, type EvalCase, type EvalSuite } from '../config/eval-suites.js';

/** What an agent answered to one case, normalised across endpoint kinds. */
export interface AgentAnswer {
  /** The answer as text (JSON answers are serialised). */
  text: string;
  /** The structured answer when the agent returned JSON rather than text. */
  value?: unknown;
  /** True when the endpoint said it declined (or the text reads like a refusal). */
  refused: boolean;
}

/** A grade: passed or not, and why not in words. */
export interface Grade {
  passed: boolean;
  reason?: string;
  /** Set by judge graders. */
  score?: number;
}

/** Scores a free-form answer 0..1 (the suite's judge endpoint). */
export type Judge = (input: {
  case: EvalCase;
  answer: string;
  rubric: string;
  expected?: string;
}) => Promise<{ score: number; reason?: string }>;

const clip = (s: string, n = 80) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** Whether the text reads like a refusal by the suite's patterns (on a bounded prefix). */
export function readsLikeRefusal(suite: Pick<EvalSuite, 'refusalPatterns'>, text: string): boolean {
  const head = text.slice(0, 2000);
  return suite.refusalPatterns.some((p) => p.test(head));
}

/** The expected answer as the evaluation card shows it. */
export function expectedText(c: EvalCase): string {
  const g = c.grader;
  switch (g.type) {
    case 'exact':
      return g.value;
    case 'contains':
      return `contains "${g.value}"`;
    case 'regex':
      return `matches /${g.pattern}/${g.flags}`;
    case 'json-schema':
      return 'JSON matching the case schema';
    case 'numeric':
      return g.tolerance ? `${g.value} ± ${g.relative ? `${g.tolerance * 100}%` : g.tolerance}` : String(g.value);
    case 'refuse':
      return 'a refusal (outside the role)';
    case 'judge':
      return g.expected ? `judged ≥ ${g.minScore}: ${g.expected}` : `judged ≥ ${g.minScore}: ${g.rubric}`;
  }
}

/**
 * Grades one answer. An answer to a must-refuse case passes only when it declines; any other
 * case fails when the agent declined it (an in-role request refused is a wrong answer).
 */
export async function grade(suite: EvalSuite, c: EvalCase, answer: AgentAnswer, judge?: Judge): Promise<Grade> {
  const g = c.grader;
  if (g.type === 'refuse')
    return answer.refused ? { passed: true } : { passed: false, reason: 'answered an out-of-role request instead of declining' };
  if (answer.refused) return { passed: false, reason: 'declined an in-role request' };
  const text = answer.text.slice(0, MAX_MATCHED_CHARS);
  switch (g.type) {
    case 'exact': {
      const norm = (s: string) => (g.trim ? s.trim() : s);
      const a = norm(text);
      const b = norm(g.value);
      const ok = g.caseSensitive ? a === b : a.toLowerCase() === b.toLowerCase();
      return ok ? { passed: true } : { passed: false, reason: `expected exactly "${clip(g.value)}"` };
    }
    case 'contains': {
      const ok = g.caseSensitive ? text.includes(g.value) : text.toLowerCase().includes(g.value.toLowerCase());
      return ok ? { passed: true } : { passed: false, reason: `does not contain "${clip(g.value)}"` };
    }
    case 'regex': {
      // Patterns were checked for catastrophic backtracking at start-up; the subject is capped above.
      const ok = new RegExp(g.pattern, `${g.flags.replace('u', '')}u`).test(text);
      return ok ? { passed: true } : { passed: false, reason: `does not match /${clip(g.pattern)}/` };
    }
    case 'json-schema': {
      let value = answer.value;
      if (value === undefined) {
        try {
          value = JSON.parse(text);
        } catch {
          return { passed: false, reason: 'the answer is not JSON' };
        }
      }
      const validate = suite.schemas.get(c.id);
      if (!validate) return { passed: false, reason: 'the case schema is missing' };
      if (validate(value)) return { passed: true };
      const first = validate.errors?.[0];
      return {
        passed: false,
        reason: `JSON does not match the schema${first ? `: ${first.instancePath || '(root)'} ${first.message ?? ''}` : ''}`,
      };
    }
    case 'numeric': {
      const raw =
        typeof answer.value === 'number'
          ? answer.value
          : Number(/-?\d+(?:\.\d+)?(?:e[+-]?\d+)?/i.exec(text.replace(/,(?=\d{3}\b)/g, ''))?.[0]);
      if (!Number.isFinite(raw)) return { passed: false, reason: 'the answer holds no number' };
      const allowed = g.relative ? Math.abs(g.value) * g.tolerance : g.tolerance;
      return Math.abs(raw - g.value) <= allowed + 1e-12
        ? { passed: true }
        : { passed: false, reason: `${raw} is off by ${Math.abs(raw - g.value).toPrecision(3)} (allowed ${allowed})` };
    }
    case 'judge': {
      if (!judge) return { passed: false, reason: 'no judge endpoint is configured' };
      const verdict = await judge({ case: c, answer: text, rubric: g.rubric, ...(g.expected ? { expected: g.expected } : {}) });
      return verdict.score >= g.minScore
        ? { passed: true, score: verdict.score }
        : {
            passed: false,
            score: verdict.score,
            reason: `judged ${verdict.score.toFixed(2)} < ${g.minScore}${verdict.reason ? `: ${clip(verdict.reason, 200)}` : ''}`,
          };
    }
  }
}
