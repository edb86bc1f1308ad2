import { AgentPicker, PICK_PURPOSES, type PickPurpose } from '../../src/core/agent-pickers.js';
import type { AgentRecord } from '../../src/core/agents.js';
import {
  mayAddKnowledgeNote,
  mayAskReactivation,
  mayManageAccess,
  mayManageEvaluation,
  mayManageRetraining,
  mayProposeVersion,
  maySeeAgent,
} from '../../src/core/policies.js';
import type { OrgConfig, Person } from '../../src/config/schemas.js';
import { agentRecord, people, startHarness, type Harness } from '../helpers/harness.js';

/*
 * A picker offers exactly the agents its action's rule allows: for every purpose and for people
 * of every kind (sponsor, requester, proposed sponsor, IT admin, on-call responder, security, a
 * unit's approver), the agents listed are those the policies.ts predicate accepts, in the
 * statuses the action applies to. The predicates are asked directly here, so a picker whose
 * database narrowing left out an agent the rule allows (or offered one it refuses) fails.
 */

const STATUSES: Record<PickPurpose, readonly string[]> = {
  note: ['requested', 'active', 'probation', 'suspended', 'retiring'],
  version: ['active', 'probation'],
  retrain: ['active', 'probation'],
  reactivate: ['suspended'],
  evaluate: ['requested', 'active', 'probation'],
  access: ['active', 'probation'],
};

const RULE: Record<PickPurpose, (org: OrgConfig, person: Person, agent: AgentRecord) => boolean> = {
  note: (org, p, a) => mayAddKnowledgeNote(org, p, a),
  version: (_org, p, a) => mayProposeVersion(p, a),
  retrain: (_org, p, a) => mayManageRetraining(p, a),
  reactivate: (org, p, a) => maySeeAgent(org, p, a) && mayAskReactivation(p, a),
  evaluate: (_org, p, a) => mayManageEvaluation(p, a),
  access: (_org, p, a) => mayManageAccess(p, a),
};

describe('agent pickers offer what policies.ts allows, no more and no less', () => {
  let h: Harness;
  let agents: AgentRecord[];
  const NOAH = 'noah.fischer@brightwater.example'; // on call for ai-ops (an alert responder)

  beforeAll(async () => {
    h = await startHarness();
    agents = [
      agentRecord({ name: 'Probe Own', sponsors: [people.tom] }),
      agentRecord({ name: 'Probe Requested', sponsors: [people.daniel], requestedBy: people.tom, status: 'requested' }),
      agentRecord({
        name: 'Probe Proposed',
        sponsors: [people.daniel],
        requestedBy: people.daniel,
        proposedSponsors: [{ id: 'sp_0123456789abcdef', email: people.tom, by: people.daniel, at: new Date().toISOString() }],
      }),
      agentRecord({ name: 'Probe Suspended', sponsors: [people.tom], status: 'suspended' }),
      agentRecord({ name: 'Probe Unit', sponsors: [people.daniel], requestedBy: people.daniel, status: 'probation' }),
      agentRecord({
        name: 'Probe Stranger',
        sponsors: [people.daniel],
        requestedBy: people.daniel,
        businessUnit: 'finance',
        status: 'suspended',
      }),
      agentRecord({
        name: 'Probe Retiring',
        sponsors: [people.daniel],
        requestedBy: people.daniel,
        businessUnit: 'finance',
        status: 'retiring',
      }),
    ];
    for (const agent of agents) await h.services.agents.insert(agent);
  });
  afterAll(() => h?.close());

  const who = [people.tom, people.daniel, people.liam, NOAH, people.grace, people.sofia, people.marcus];
  it.each(PICK_PURPOSES)('%s', async (purpose) => {
    const picker = new AgentPicker(h.org, h.services.agents);
    for (const email of who) {
      const person = h.chat.person(email)!;
      const expected = agents
        .filter((a) => STATUSES[purpose].includes(a.status) && RULE[purpose](h.org, person, a))
        .map((a) => a.name)
        .sort();
      const offered = (await picker.search(person, purpose, 'Probe')).map((a) => a.name).sort();
      expect({ email, offered }).toEqual({ email, offered: expected });
      // A submitted pick is checked by the same rule as the list.
      for (const agent of agents)
        expect({ email, agent: agent.name, may: picker.may(person, purpose, agent) }).toEqual({
          email,
          agent: agent.name,
          may: expected.includes(agent.name),
        });
    }
  });
});
