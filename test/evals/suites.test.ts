import path from 'node:path';
import { MAX_MATCHED_CHARS, validateEvalSuites } from '../../src/config/eval-suites.js';
import { loadOrgConfig } from '../../src/config/org-config.js';
import { grade } from '../../src/evals/graders.js';
import { SecretBox } from '../../src/evals/secrets.js';
import { SHIPPED_CONFIG } from '../helpers/harness.js';
import { projectRoot } from '../helpers/roster-process.js';

const org = loadOrgConfig(SHIPPED_CONFIG);

describe('evaluation suites (evals/<role>.yaml)', () => {
  it('ships a valid suite for every catalog role of the demo organisation', () => {
    const result = validateEvalSuites(path.join(projectRoot, 'evals'), org);
    if (!result.ok) throw new Error(result.problems.join('\n'));
    expect([...result.suites.keys()].sort()).toEqual(org.catalog.map((r) => r.id).sort());
    for (const suite of result.suites.values()) {
      expect(suite.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(suite.cases.some((c) => c.grader.type === 'refuse')).toBe(true);
    }
  });

  it('reports each problem as file: path: message — unknown role, ReDoS-prone pattern, duplicate id, missing field, bad schema', () => {
    const result = validateEvalSuites(path.join(projectRoot, 'test/fixtures/evals/broken'), org);
    expect(result.ok).toBe(false);
    const problems = (result as { problems: string[] }).problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^test\/fixtures\/evals\/broken\/kb-answerr\.yaml: \(root\): no catalog role "kb-answerr" \(did you mean "kb-answerer"\?\)/,
        ),
        expect.stringMatching(
          /^test\/fixtures\/evals\/broken\/kb-answerer\.yaml: cases\[0\]\.grader\.pattern: this pattern may backtrack catastrophically/,
        ),
        expect.stringMatching(/^test\/fixtures\/evals\/broken\/kb-answerer\.yaml: cases\[1\]\.grader\.value: /),
      ]),
    );
  });

  it('the suite hash ignores formatting and changes with content', () => {
    const a = validateEvalSuites(path.join(projectRoot, 'test/fixtures/evals/interview'), org);
    const b = validateEvalSuites(path.join(projectRoot, 'test/fixtures/evals/e2e'), org);
    if (!a.ok || !b.ok) throw new Error('fixtures broken');
    expect(a.suites.get('kb-answerer')!.hash).not.toBe(b.suites.get('kb-answerer')!.hash);
    const again = validateEvalSuites(path.join(projectRoot, 'test/fixtures/evals/interview'), org);
    expect(again.ok && again.suites.get('kb-answerer')!.hash).toBe(a.suites.get('kb-answerer')!.hash);
  });

  it('regex graders stay fast on a hostile answer (subject capped, patterns vetted)', async () => {
    const result = validateEvalSuites(path.join(projectRoot, 'test/fixtures/evals/interview'), org);
    if (!result.ok) throw new Error('fixture broken');
    const suite = result.suites.get('kb-answerer')!;
    const regexCase = suite.cases.find((c) => c.grader.type === 'regex')!;
    const t0 = Date.now();
    const g = await grade(suite, regexCase, { text: 'a'.repeat(MAX_MATCHED_CHARS * 50), refused: false });
    expect(g.passed).toBe(false);
    expect(Date.now() - t0).toBeLessThan(500);
  });

  it('endpoint secrets are sealed with AES-GCM, bound to the agent, and do not open with another key', () => {
    const box = new SecretBox(Buffer.alloc(32, 1));
    const sealed = box.seal('sk-live-123', 'agt_a');
    expect(JSON.stringify(sealed)).not.toContain('sk-live-123');
    expect(box.open(sealed, 'agt_a')).toBe('sk-live-123');
    expect(box.open(sealed, 'agt_b')).toBeUndefined();
    expect(new SecretBox(Buffer.alloc(32, 2)).open(sealed, 'agt_a')).toBeUndefined();
    expect(SecretBox.parseKey('00'.repeat(32))).toHaveLength(32);
    expect(SecretBox.parseKey('short')).toBeUndefined();
  });
});
