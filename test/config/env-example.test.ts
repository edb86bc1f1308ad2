import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parseEnv as parseDotenv } from 'node:util';
import { envSchema, parseEnv } from '../../src/config/env.js';
import { projectRoot } from '../helpers/roster-process.js';

/** Every `process.env.X` read outside src/config/env.ts (the embedded database, scripts). */
function otherVariables(): string[] {
  const names = new Set<string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts'))
        for (const m of readFileSync(full, 'utf8').matchAll(/process\.env\.([A-Za-z_][A-Za-z0-9_]*)/g)) names.add(m[1]!);
    }
  };
  walk(path.join(projectRoot, 'src'));
  walk(path.join(projectRoot, 'scripts'));
  return [...names];
}

describe('.env.example', () => {
  const text = readFileSync(path.join(projectRoot, '.env.example'), 'utf8');
  const listed = parseDotenv(text);
  // A variable whose blank value would change behaviour is listed commented out, with an example value.
  const commented = [...text.matchAll(/^#\s*([A-Za-z_][A-Za-z0-9_]*)=/gm)].map((m) => m[1]!);

  it('lists every variable Roster reads', () => {
    const missing = [...Object.keys(envSchema.shape), ...otherVariables()].filter((name) => !(name in listed) && !commented.includes(name));
    expect(missing).toEqual([]);
  });

  it('is a valid environment as it stands (blank values mean the defaults)', () => {
    const parsed = parseEnv(listed);
    expect(parsed.ok).toBe(true);
  });
});
