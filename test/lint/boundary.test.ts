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

  it('accepts the same imports outside the core (a channel adapter)', async () => {
    const eslint = new ESLint({ cwd: projectRoot, ignore: false });
    const [result] = await eslint.lintText("import { App } from '@slack/bolt';\nexport const app = App;\n", {
      filePath: path.join(projectRoot, 'src/channels/slack/app.ts'),
    });
    expect(result!.messages.filter((m) => m.ruleId === 'no-restricted-imports')).toHaveLength(0);
  });
});
