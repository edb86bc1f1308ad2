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

  it('keeps src/core and src/flows to ports: no store, channels, jobs, HTTP or composition', async () => {
    const eslint = new ESLint({ cwd: projectRoot, ignore: false });
    const leaky = [
      "import { createAgentRepository } from '../store/agent-store.js';",
      "import type { AgentStore } from '../store/agent-store.js';",
      "import { ChatService } from '../channels/chat.js';",
      "import { FLOW_TIMER_JOB } from '../jobs/flow-timers.js';",
      "import { createHttpServer } from '../http/server.js';",
      "import { createAgentApi } from '../api/index.js';",
      "import { composeRoster } from '../compose.js';",
      "import type { AgentRepository } from './agents.js';",
      'export const uses = [createAgentRepository, ChatService, FLOW_TIMER_JOB, createHttpServer, createAgentApi, composeRoster];',
      'export type Uses = [AgentStore, AgentRepository];',
    ].join('\n');
    for (const filePath of ['src/core/leaky.ts', 'src/flows/leaky.ts']) {
      const [result] = await eslint.lintText(leaky, { filePath: path.join(projectRoot, filePath) });
      const restricted = result!.messages.filter((m) => m.ruleId === 'no-restricted-imports');
      // Every line but the core's own type (line 8) is refused, a store type too: the core depends on its ports.
      expect([...new Set(restricted.map((m) => m.line))]).toEqual([1, 2, 3, 4, 5, 6, 7]);
      expect(restricted.find((m) => m.line === 1)!.message).toMatch(/persistence-free/);
      expect(restricted.find((m) => m.line === 3)!.message).toMatch(/platform-free/);
      expect(restricted.find((m) => m.line === 4)!.message).toMatch(/scheduler-free/);
      expect(restricted.find((m) => m.line === 5)!.message).toMatch(/know no HTTP/);
      expect(restricted.find((m) => m.line === 7)!.message).toMatch(/built by src\/compose\.ts/);
    }
  });

  it('keeps cards out of src/core and src/flows: they ask a presenter port, which src/views implements', async () => {
    const eslint = new ESLint({ cwd: projectRoot, ignore: false });
    const leaky = [
      "import type { CardModel } from '../cards/view-models.js';",
      "import { renderCard } from '../cards/render.js';",
      "import { RunPresenter } from '../views/run-presenter.js';",
      "import { noticeCard } from '../views/card-builders.js';",
      "import type { FlowPresenter } from '../flows/types.js';",
      "import type { OutgoingCard } from '../core/notifications.js';",
      'export const uses = [renderCard, RunPresenter, noticeCard];',
      'export type Uses = [CardModel, FlowPresenter, OutgoingCard];',
    ].join('\n');
    for (const filePath of ['src/core/leaky.ts', 'src/flows/leaky.ts']) {
      const [result] = await eslint.lintText(leaky, { filePath: path.join(projectRoot, filePath) });
      const restricted = result!.messages.filter((m) => m.ruleId === 'no-restricted-imports');
      // View-models, the renderer and the views are refused, a type too; the ports (flow and core types) are not.
      expect([...new Set(restricted.map((m) => m.line))]).toEqual([1, 2, 3, 4]);
      for (const m of restricted) expect(m.message).toMatch(/build no cards: ask a presenter port/);
    }
  });

  it('keeps src/views to view-models: no platform SDK, store, channels or jobs', async () => {
    const eslint = new ESLint({ cwd: projectRoot, ignore: false });
    const leaky = [
      "import { App } from '@slack/bolt';",
      "import { CardFactory } from '@microsoft/agents-hosting';",
      "import type { AgentStore } from '../store/agent-store.js';",
      "import { slackMessage } from '../channels/slack/notifier.js';",
      "import { ChatService } from '../channels/chat.js';",
      "import { FLOW_TIMER_JOB } from '../jobs/flow-timers.js';",
      "import { cardModel, type CardModel } from '../cards/view-models.js';",
      "import type { AgentRecord } from '../core/agents.js';",
      "import type { FlowRun } from '../flows/types.js';",
      "import { displayDate } from '../core/time.js';",
      'export const uses = [App, CardFactory, slackMessage, ChatService, FLOW_TIMER_JOB, cardModel, displayDate];',
      'export type Uses = [AgentStore, CardModel, AgentRecord, FlowRun];',
    ].join('\n');
    const [result] = await eslint.lintText(leaky, { filePath: path.join(projectRoot, 'src/views/leaky.ts') });
    const restricted = result!.messages.filter((m) => m.ruleId === 'no-restricted-imports');
    // The SDKs, a store type, both channel modules and the job are refused; view-models, core and flow types pass.
    expect([...new Set(restricted.map((m) => m.line))]).toEqual([1, 2, 3, 4, 5, 6]);
    const byLine = (line: number) =>
      restricted
        .filter((m) => m.line === line)
        .map((m) => m.message)
        .join('\n');
    expect(byLine(1)).toMatch(/Slack belongs in src\/channels\/slack/);
    expect(byLine(2)).toMatch(/Teams belongs in src\/channels\/teams/);
    expect(byLine(3)).toMatch(/src\/views reads no store/);
    expect(byLine(4)).toMatch(/src\/views is platform-free/);
    expect(byLine(6)).toMatch(/src\/views knows no jobs/);
  });

  it('wires Roster in src/compose.ts only: repositories, channel adapters and jobs are built nowhere else', async () => {
    const eslint = new ESLint({ cwd: projectRoot, ignore: false });
    const wiring = [
      "import { createAgentRepository, type AgentStore } from '../store/agent-store.js';",
      "import { createSlackChannel } from '../channels/slack/index.js';",
      "import { defineJobs } from '../jobs/index.js';",
      "import { Agenda } from 'agenda';",
      "import type { JobDependencies } from '../jobs/index.js';",
      "import type { Agenda as AgendaType } from 'agenda';",
      "import { openDatabase } from '../store/database.js';",
      'export const uses = [createAgentRepository, createSlackChannel, defineJobs, Agenda, openDatabase];',
      'export type Uses = [AgentStore, JobDependencies, AgendaType];',
    ].join('\n');
    const restrictedLines = async (filePath: string, text = wiring) => {
      const [result] = await eslint.lintText(text, { filePath: path.join(projectRoot, filePath) });
      return [...new Set(result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.line))];
    };
    // An HTTP module, the agent API, the directory: no repository created, no adapter, no job; types are fine.
    for (const file of ['src/http/wired.ts', 'src/api/wired.ts', 'src/directory/wired.ts'])
      expect(await restrictedLines(file)).toEqual([1, 2, 3, 4]);
    // The shared chat layer too, and it imports no platform SDK either.
    expect(
      await restrictedLines('src/channels/wired.ts', `${wiring}\nimport { App } from '@slack/bolt';\nexport const app = App;`),
    ).toEqual([1, 2, 3, 4, 10]);
    // A platform adapter keeps its own records, but builds no other adapter and defines no job.
    expect(await restrictedLines('src/channels/teams/wired.ts')).toEqual([2, 3, 4]);
    // The composition root (in src/, beside main.ts) may; so may src/jobs reach for Agenda.
    expect(await restrictedLines('src/compose.ts', wiring.replaceAll("'../", "'./"))).toEqual([]);
    expect(await restrictedLines('src/jobs/wired.ts', "import { Agenda } from 'agenda';\nexport const a = Agenda;")).toEqual([]);
    const messages = (await eslint.lintText(wiring, { filePath: path.join(projectRoot, 'src/http/wired.ts') }))[0]!.messages.map(
      (m) => m.message,
    );
    expect(messages.join('\n')).toMatch(/Repositories are created in one place, src\/compose\.ts/);
    expect(messages.join('\n')).toMatch(/Channel adapters are built by src\/compose\.ts/);
    expect(messages.join('\n')).toMatch(/Jobs are defined in src\/jobs/);
  });

  it('keeps src/commands to the domain: no platform SDK, no channels, no cards or views', async () => {
    const eslint = new ESLint({ cwd: projectRoot, ignore: false });
    const leaky = [
      "import { App } from '@slack/bolt';",
      "import { CloudAdapter } from '@microsoft/agents-hosting';",
      "import { ChatService } from '../channels/chat.js';",
      "import { ACTION_TABLE } from '../../channels/action-table.js';",
      "import { cardModel } from '../cards/view-models.js';",
      "import { approvalCard } from '../views/approval.js';",
      "import { assertMayCancelRequest } from '../core/policies.js';",
      "import type { FlowEngine } from '../../flows/engine.js';",
      'export const uses = [App, CloudAdapter, ChatService, ACTION_TABLE, cardModel, approvalCard, assertMayCancelRequest];',
      'export type Uses = [FlowEngine];',
    ].join('\n');
    for (const filePath of ['src/commands/leaky.ts', 'src/commands/handlers/leaky.ts']) {
      const [result] = await eslint.lintText(leaky, { filePath: path.join(projectRoot, filePath) });
      const restricted = result!.messages.filter((m) => m.ruleId === 'no-restricted-imports');
      // The platform SDKs, the chat layer, cards and views are refused; policies and the engine's type are the domain's.
      expect([...new Set(restricted.map((m) => m.line))]).toEqual([1, 2, 3, 4, 5, 6]);
      expect(restricted.find((m) => m.line === 1)!.message).toMatch(/Slack belongs in src\/channels\/slack/);
      expect(restricted.find((m) => m.line === 2)!.message).toMatch(/Teams belongs in src\/channels\/teams/);
      expect(restricted.find((m) => m.line === 3)!.message).toMatch(/src\/commands knows no chat/);
      expect(restricted.find((m) => m.line === 5)!.message).toMatch(/never cards/);
      expect(restricted.find((m) => m.line === 6)!.message).toMatch(/never cards/);
    }
  });

  it('the source tree keeps these boundaries', async () => {
    const eslint = new ESLint({ cwd: projectRoot });
    const results = await eslint.lintFiles(['src']);
    const broken = results.flatMap((r) =>
      r.messages
        .filter((m) => m.ruleId?.endsWith('no-restricted-imports'))
        .map((m) => `${path.relative(projectRoot, r.filePath)}:${m.line} ${m.message}`),
    );
    expect(broken).toEqual([]);
    // Lint really read the tree: the composition root and every job file are among the files.
    const files = results.map((r) => path.relative(projectRoot, r.filePath));
    expect(files).toEqual(
      expect.arrayContaining([
        'src/compose.ts',
        'src/jobs/index.ts',
        'src/jobs/flow-timers.ts',
        'src/commands/bus.ts',
        'src/commands/handlers/decide.ts',
        'src/views/card-builders.ts',
        'src/views/run-presenter.ts',
      ]),
    );
  }, 120_000);
});
