import { randomBytes } from 'node:crypto';
import { spawnRoster } from '../helpers/roster-process.js';

/** The real process refuses to start on evaluation configuration it cannot use, before any database work. */
describe('start-up with unusable evaluation configuration', () => {
  it('a bad suite: exit 2 with one "file: path: message" line per problem', async () => {
    const proc = spawnRoster({ ROSTER_EVALS_DIR: 'test/fixtures/evals/broken', ROSTER_DATA_DIR: '/nonexistent/never-created' });
    const exit = await proc.exited;
    expect(exit.code).toBe(2);
    const lines = proc.stderr().trim().split('\n');
    expect(lines[0]).toMatch(/^Roster cannot start: the configuration has \d+ problem\(s\)\.$/);
    expect(lines).toEqual(
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
    expect(proc.logs.some((l) => l.msg === 'embedded database started')).toBe(false);
  }, 30_000);

  it('production without ROSTER_EVAL_SECRET_KEY: exit 2 naming the variable, never echoing a secret', async () => {
    const kek = randomBytes(32).toString('base64');
    const proc = spawnRoster({
      NODE_ENV: 'production',
      ROSTER_OAUTH_KEK: kek,
      ROSTER_PUBLIC_URL: 'https://roster.example.com',
      ROSTER_CHART_SECRET: 'ab'.repeat(32),
      ROSTER_AUDIT_SIGNING_KEY: randomBytes(32).toString('hex'),
      ROSTER_DATA_DIR: '/nonexistent/never-created',
    });
    const exit = await proc.exited;
    expect(exit.code).toBe(2);
    const lines = proc.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /environment: ROSTER_EVAL_SECRET_KEY: required in production \(endpoint secrets of agents under evaluation are sealed with it\)$/,
    );
    expect(proc.stderr()).not.toContain(kek);
    expect(proc.logs.some((l) => l.msg === 'embedded database started')).toBe(false);
  }, 30_000);
});
