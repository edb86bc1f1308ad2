import { startTestRoster } from '../helpers/app.js';
import { uniqueDbName } from '../helpers/db.js';
import { eventually, passingEvaluation, SHIPPED_CONFIG } from '../helpers/harness.js';
import { loadOrgConfig } from '../../src/config/org-config.js';
import { patchOp, ScimClient, SCIM_TOKEN } from './scim-client.js';
import { commandsOf } from '../helpers/commands.js';

/** Typed-in evaluation results are an IT admin's to record, with a reason. */
const IT_ADMIN = 'liam.oneill@brightwater.example';

const DANIEL = 'daniel.okafor@brightwater.example';
const FATIMA = 'fatima.ndiaye@brightwater.example';

/** Two Roster replicas on one database: a SCIM write on one is seen by the other within a second, and before its next decision. */
describe('the directory across replicas', () => {
  it('a group membership written on replica A counts on replica B at its next decision', async () => {
    const dbName = uniqueDbName('replicas');
    const env = { ROSTER_SCIM_TOKEN: SCIM_TOKEN };
    const a = await startTestRoster({ env, dbName });
    const b = await startTestRoster({ env, dbName });
    try {
      const scim = new ScimClient(a.baseUrl);
      // Seeded once: both replicas hold the same people, not twice as many.
      expect(b.services.directory!.live.size.people).toBe(a.services.directory!.live.size.people);
      expect((await scim.get('/Users?count=0')).body.totalResults).toBe(loadOrgConfig(SHIPPED_CONFIG).people.length);

      const fatima = await scim.userId(`userName eq "${FATIMA}"`);
      const group = await scim.post('/Groups', {
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
        displayName: 'Roster Finance Approvers',
        members: [{ value: fatima }],
      });
      expect(a.chat.person(FATIMA)?.roles).toEqual(['approver:finance']);
      // B polls the change counter every second.
      await eventually(() => b.chat.person(FATIMA)?.roles.includes('approver:finance'), 10_000);

      // A request handled by B waits on Fatima; A removes her from the group; B's very next decision knows.
      const { run, agentId } = await commandsOf(b.services).requestAgent(DANIEL, {
        roleId: 'kb-answerer',
        name: 'Replica Helper',
        purpose: 'Answers questions about month-end close from the finance handbook.',
        businessUnit: 'finance',
        sponsors: [DANIEL],
        justification: 'Month-end questions swamp the team.',
      });
      const waiting = (
        await commandsOf(b.services).submitEvaluation(IT_ADMIN, agentId, passingEvaluation(loadOrgConfig(SHIPPED_CONFIG), 'kb-answerer'))
      ).run;
      expect(waiting.waitingFor).toContain(FATIMA);
      b.services.directory!.stopPolling();
      await scim.patch(`/Groups/${String(group.body.id)}`, patchOp({ op: 'remove', path: `members[value eq "${fatima}"]` }));
      await expect(
        commandsOf(b.services).decide(FATIMA, { runId: run.id, stepId: 'approvals', decision: 'approve' }),
      ).rejects.toMatchObject({
        code: 'forbidden',
      });
      expect(b.chat.person(FATIMA)?.roles).toEqual([]);
    } finally {
      await b.stop();
      await a.stop();
    }
  }, 60_000);
});
