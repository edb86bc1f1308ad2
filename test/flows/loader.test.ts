import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError } from '../../src/config/org-config.js';
import { loadFlows } from '../../src/flows/loader.js';
import { loadFlowDefinitions } from '../../src/flows/steps.js';
import { SHIPPED_FLOWS } from '../helpers/harness.js';

function problems(load: () => unknown): readonly string[] {
  try {
    load();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('flow definitions', () => {
  it('every shipped flow parses and names only registered checks, actions, gates and conditions', () => {
    const flows = loadFlowDefinitions(SHIPPED_FLOWS);
    expect([...flows.keys()]).toContain('agent-request');
    const request = flows.get('agent-request')!;
    expect(request.steps.map((s) => s.type)).toEqual(['check', 'action', 'gate', 'approval', 'action', 'notify']);
  });

  it('a malformed flow names the file and the step', () => {
    const lines = problems(() => loadFlowDefinitions('test/fixtures/flows/malformed'));
    expect(lines).toContain(
      'test/fixtures/flows/malformed/broken.yaml: steps[1] (approvals).quorum: expected all, any or a positive whole number, got "most"',
    );
    expect(lines).toContain(
      'test/fixtures/flows/malformed/unknown-names.yaml: steps[0] (approvals).approvers[0].when: unknown condition "risky"',
    );
    expect(lines).toContain('test/fixtures/flows/malformed/unknown-names.yaml: steps[1] (onboard).action: unknown action "agent.teleport"');
  });

  it('a missing directory is reported, not thrown as a crash', () => {
    expect(problems(() => loadFlows('test/fixtures/flows/does-not-exist'))).toEqual([
      'test/fixtures/flows/does-not-exist: flows directory not found',
    ]);
  });

  it("a deployment's own copy of a renamed flow (drift-escalation) is loaded under its current id (agent-suspension)", () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'roster-flows-'));
    try {
      const shipped = readFileSync(path.join(SHIPPED_FLOWS, 'agent-suspension.yaml'), 'utf8');
      writeFileSync(path.join(dir, 'drift-escalation.yaml'), shipped.replace(/^id: agent-suspension$/m, 'id: drift-escalation'));
      const flows = loadFlowDefinitions(dir);
      expect([...flows.keys()]).toEqual(['agent-suspension']);
      expect(flows.get('agent-suspension')!.steps.map((s) => s.id)).toEqual(['approvals', 'suspend', 'announce']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
