import type { OrgConfig, Person } from '../config/schemas.js';
import { peopleWithRole } from '../config/directory.js';
import type { FlowEngine } from '../flows/engine.js';
import type { RunRepository } from '../flows/types.js';
import type { AccessReviews } from './access-review.js';
import type { AgentRecord, GrantRepository } from './agents.js';
import type { Development } from './development.js';
import { InvalidInputError } from './errors.js';
import type { ComplianceGap } from './governance.js';
import type { Notifier, OutgoingCard } from './notifications.js';
import { agentRunContext } from './run-context.js';

/** What starting a gap's fix needs (built in src/compose.ts). */
export interface ComplianceRemediationDeps {
  org: OrgConfig;
  grants: Pick<GrantRepository, 'listForAgent'>;
  runs: Pick<RunRepository, 'list'>;
  engine: Pick<FlowEngine, 'start'>;
  development: Pick<Development, 'requestRetraining'>;
  reviews: Pick<AccessReviews, 'card'>;
  notifier: Pick<Notifier, 'send'>;
  /** The sponsors' card asking for a measured evaluation (src/views/compliance-cards.ts). */
  cards: ComplianceRemediationCards;
}

/** Presenter port: the cards a remediation sends. */
export interface ComplianceRemediationCards {
  /** To the sponsors: compliance asks for a measured evaluation; Register endpoint and run. */
  measuredEvaluationAsked(agent: Pick<AgentRecord, 'id' | 'name'>, askedBy: string): OutgoingCard;
}

/** What starting a fix did, for the person who asked. */
export interface ComplianceRemediationResult {
  started: boolean;
  title: string;
  text: string;
}

/**
 * "Start the fix" on a compliance gap, for compliance officers and the DPO (who read the report;
 * the `compliance.gap.fix` command's rule, asked before):
 * a personal-data scope without DPO approval → the `dpo-review` flow (the DPO's approval is what
 * closes the gap; one review at a time); an open fairness finding → a retraining request to the
 * sponsors; an overdue access review → the sponsors' review cards sent again.
 */
export async function startComplianceRemediation(
  deps: ComplianceRemediationDeps,
  actor: Person,
  agent: AgentRecord,
  gap: string,
): Promise<ComplianceRemediationResult> {
  const kind = gap as ComplianceGap['kind'];
  if (kind === 'pii-scope-without-dpo-approval') {
    const [open] = await deps.runs.list({ agentId: agent.id, flowId: 'dpo-review', status: ['running', 'waiting'] });
    if (open) return { started: false, title: 'The DPO review is already under way', text: `Request ${open.id} is waiting for the DPO.` };
    const scopes = (await deps.grants.listForAgent(agent.id)).filter((g) => g.status === 'active').map((g) => g.scope);
    const run = await deps.engine.start({
      flowId: 'dpo-review',
      requester: actor.email,
      subject: { type: 'agent', id: agent.id, agentId: agent.id },
      context: agentRunContext(deps.org, agent, {
        purpose: `Confirm that ${agent.name} may hold personal data: ${scopes.join(', ') || 'no active scope'}.`,
        justification: `Compliance gap: no DPO approval is on record for its personal-data access. Raised by ${actor.name}.`,
      }),
    });
    const dpos = peopleWithRole(deps.org, 'dpo').map((p) => p.name);
    return {
      started: true,
      title: `DPO review of ${agent.name} started`,
      text: `${dpos.join(', ') || 'The DPO'} got an approval card (request ${run.id}). Approving it closes the gap.`,
    };
  }
  if (kind === 'open-fairness-finding') {
    await deps.development.requestRetraining(actor.email, agent.id, 'an open fairness finding in the compliance report');
    return {
      started: true,
      title: `Retraining of ${agent.name} requested`,
      text: 'Its sponsors got "retraining due" with Start and Postpone.',
    };
  }
  if (kind === 'overdue-access-review') {
    const cycles = new Set(
      (await deps.grants.listForAgent(agent.id)).flatMap((g) =>
        g.status === 'active' && g.review && !g.review.answer ? [g.review.cycle] : [],
      ),
    );
    let sent = 0;
    for (const cycle of cycles) {
      for (const sponsor of agent.sponsors) {
        const card = await deps.reviews.card(cycle, sponsor);
        if (card && (await deps.notifier.send(sponsor, card)) !== undefined) sent += 1;
      }
    }
    return { started: sent > 0, title: `Sponsors of ${agent.name} reminded`, text: `${sent} access review card(s) sent again.` };
  }
  if (kind === 'self-reported-evaluation') {
    for (const sponsor of agent.sponsors) {
      await deps.notifier.send(sponsor, deps.cards.measuredEvaluationAsked(agent, actor.name));
    }
    return {
      started: true,
      title: `Sponsors of ${agent.name} asked for a measured evaluation`,
      text: 'They got a card to register its endpoint.',
    };
  }
  throw new InvalidInputError('That gap has no fix to start.');
}
