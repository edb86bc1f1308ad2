import path from 'node:path';
import { ESLint } from 'eslint';
import { projectRoot } from '../helpers/roster-process.js';

/** The architecture rule that keeps src/core platform-free is enforced by lint, and lint really bites. */
describe('lint boundary around src/core', () => {
  it('rejects Slack, Teams, mongoose and agenda imports in src/core', async () => {
    const eslint = new ESLint({ cwd: projectRoot, ignore: false });
    const source = await import('node:fs').then((fs) =>
      fs.readFileSync(path.join(projectRoot, 'test/fixtures/lint/src/core/leaky.ts'), 'utf8'),
    );
    const [result] = await eslint.lintText(source, { filePath: path.join(projectRoot, 'src/core/leaky.ts') });
    const restricted = result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
    expect(restricted).toHaveLength(4);
    expect(restricted.join('\n')).toMatch(/Slack belongs in src\/channels\/slack/);
    expect(restricted.join('\n')).toMatch(/Teams belongs in src\/channels\/teams/);
    expect(restricted.join('\n')).toMatch(/repository port/);
    expect(restricted.join('\n')).toMatch(/timers belong in src\/jobs/);
  });

  it('keeps src/core/policies.ts to core types and the coded errors', async () => {
    const eslint = new ESLint({ cwd: projectRoot, ignore: false });
    const filePath = path.join(projectRoot, 'src/core/policies.ts');
    const leaky = [
      "import { hasRole } from '../config/directory.js';",
      "import type { FlowRun } from '../flows/types.js';",
      "import type { AgentRepository } from '../store/agents.js';",
      "import { isAlertResponder } from './alerts.js';",
      "import { isBreakGlassEligible } from '../config/schemas.js';",
      "import { App } from '@slack/bolt';",
      "import type { AgentRecord } from './agents.js';",
      "import type { Person } from '../config/schemas.js';",
      "import { ForbiddenError } from './errors.js';",
      'export const uses = [hasRole, isAlertResponder, isBreakGlassEligible, App, ForbiddenError];',
      'export type Uses = [FlowRun, AgentRepository, AgentRecord, Person];',
    ].join('\n');
    const [result] = await eslint.lintText(leaky, { filePath });
    const restricted = result!.messages.filter((m) => m.ruleId?.endsWith('no-restricted-imports'));
    // One line per import that reaches past core types: the last three (core types, Person, the errors) pass.
    expect([...new Set(restricted.map((m) => m.line))]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(restricted.find((m) => m.line === 1)!.message).toMatch(/reads core types only/);
    expect(restricted.find((m) => m.line === 4)!.message).toMatch(/imports types only/);
    expect(restricted.find((m) => m.line === 5)!.message).toMatch(/imports types only/);
    expect(
      restricted
        .filter((m) => m.line === 6)
        .map((m) => m.message)
        .join('\n'),
    ).toMatch(/Slack belongs in src\/channels\/slack/);

    const real = await eslint.lintFiles([filePath]);
    expect(real[0]!.messages.filter((m) => m.ruleId?.endsWith('no-restricted-imports'))).toEqual([]);
  });

  it('accepts the same imports outside the core (a channel adapter)', async () => {
    const eslint = new ESLint({ cwd: projectRoot, ignore: false });
    const [result] = await eslint.lintText("import { App } from '@slack/bolt';\nexport const app = App;\n", {
      filePath: path.join(projectRoot, 'src/channels/slack/app.ts'),
    });
    expect(result!.messages.filter((m) => m.ruleId === 'no-restricted-imports')).toHaveLength(0);
  });
});
