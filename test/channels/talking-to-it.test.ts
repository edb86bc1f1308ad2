import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHAT_COMMANDS } from '../../src/channels/chat.js';
import { PROMPT_VERBS } from '../../src/cards/supervision-view-models.js';
import { SLACK_SURFACES } from '../../src/cards/render.js';

/*
 * Issue 22's acceptance: README's "Talking to it" table lists every command and every form, for
 * both platforms. A command in help (CHAT_COMMANDS) or a form Roster opens (a Slack modal kind, a
 * prompt) that the table leaves out fails here.
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const readme = readFileSync(path.join(root, 'README.md'), 'utf8');

interface Row {
  slack: string;
  teams: string;
  line: string;
}

/** The rows of the table under "### Talking to it": its Slack and Teams cells (`\|` is a pipe inside a cell). */
function talkingToIt(): Row[] {
  const section = readme.split('\n### Talking to it\n')[1]?.split('\n### ')[0] ?? '';
  return section
    .split('\n')
    .filter((line) => line.startsWith('| ') && !line.startsWith('| ---') && !line.startsWith('| Slack |'))
    .map((line) => {
      const [slack = '', teams = ''] = line
        .slice(1)
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim());
      return { slack, teams, line };
    });
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Each form, and words of the table that name what opens it (a command or a button label in
 * bold). A new form must be added here, and so to the table.
 */
const FORMS: Record<string, string> = {
  'request-form': '`/roster request [role]`',
  'deny-reason': '**Approve** / **Deny** on an approval card',
  'evaluation-form': '`/roster eval <agent> self-reported`',
  'access-form': 'without arguments: the access form',
  'find-form': '**Find agents…**',
  alert_register: '**Register**',
  alert_assign_sponsor: '**Assign sponsor**',
  alert_note: '**Add note** on an alert',
  checkin_note: '**Add note** on a check-in',
  retrain_postpone: '**Postpone…**',
  eval_register: '**Register endpoint and run**',
  delegation_away: '**Out of office…**',
  agent_reactivate: '**Reactivate…**',
  boundary_deny: '**Deny…** on a boundary change',
  agent_note: '**Add note…**',
  version_propose: '**Propose version…**',
};

/** Every source and template file, to check a button label the table names exists. */
const files = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? files(full) : /\.(ts|hbs)$/.test(name) ? [full] : [];
  });

describe('README "Talking to it"', () => {
  const rows = talkingToIt();

  it('has the table', () => {
    expect(rows.length).toBeGreaterThan(10);
  });

  it('lists every command of help, as typed in Slack (/roster …) and in Teams', () => {
    const words = [...new Set(CHAT_COMMANDS.map((c) => c.usage.split(' ')[0]!))];
    const missing = words.flatMap((word) => {
      const slack = new RegExp(`\`/roster ${escape(word)}(?=[\\s\`])`);
      const teams = new RegExp(`\`${escape(word)}(?=[\\s\`])`);
      const inSlack = rows.filter((r) => slack.test(r.slack));
      const inTeams = rows.some((r) => teams.test(r.teams)) || inSlack.some((r) => r.teams === 'the same');
      return [...(inSlack.length ? [] : [`${word} (Slack)`]), ...(inTeams ? [] : [`${word} (Teams)`])];
    });
    expect(missing).toEqual([]);
  });

  it('lists every form (Slack modal, Teams card) with what opens it, on both platforms', () => {
    const modals = Object.entries(SLACK_SURFACES)
      .filter(([kind, surface]) => surface === 'modal' && kind !== 'prompt')
      .map(([kind]) => kind);
    expect(Object.keys(FORMS).sort()).toEqual([...modals, ...PROMPT_VERBS].sort());
    const missing = Object.entries(FORMS).flatMap(([form, words]) => {
      const row = rows.find((r) => r.line.includes(words));
      return row && row.slack !== '—' && row.teams !== '—' ? [] : [form];
    });
    expect(missing).toEqual([]);
  });

  it('names buttons by the labels the cards show', () => {
    const shipped = [...files(path.join(root, 'src')), ...files(path.join(root, 'cards'))].map((f) => readFileSync(f, 'utf8')).join('\n');
    const labels = [...new Set(Object.values(FORMS).flatMap((words) => [...words.matchAll(/\*\*([^*]+)\*\*/g)].map((m) => m[1]!)))];
    const unknown = labels.filter((label) => !shipped.includes(`'${label}'`) && !shipped.includes(`"${label}"`));
    expect(unknown).toEqual([]);
  });
});
