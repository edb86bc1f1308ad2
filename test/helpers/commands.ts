import type { CommandOf } from '../../src/commands/index.js';
import type { Services } from '../../src/services.js';

/**
 * The bus's commands as tests name people, by e-mail: each call finds the person in the directory
 * and runs the command through the bus, as a door does once it has resolved who clicked.
 */
export function commandsOf(services: Pick<Services, 'bus'>) {
  const { bus } = services;
  return {
    decide: async (email: string, input: Omit<CommandOf<'run.decide'>, 'type'>, options: { answerFirst?: boolean } = {}) =>
      bus.execute(bus.person(email), { type: 'run.decide', ...input, ...options }),
    requestAgent: async (email: string, input: Omit<CommandOf<'agent.request'>, 'type'>) =>
      bus.execute(bus.person(email), { type: 'agent.request', ...input }),
    submitEvaluation: async (email: string, agentId: string, input: Omit<CommandOf<'evaluation.submit'>, 'type' | 'agentId'>) =>
      bus.execute(bus.person(email), { type: 'evaluation.submit', agentId, ...input }),
    decideCheckIn: async (email: string, checkInId: string, choice: CommandOf<'checkin.decide'>['choice']) =>
      bus.execute(bus.person(email), { type: 'checkin.decide', checkInId, choice }),
    showAgent: async (email: string, agent: string) => bus.execute(bus.person(email), { type: 'agent.show', agent }),
    acknowledgeAlert: async (email: string, alertId: string) => bus.execute(bus.person(email), { type: 'alert.acknowledge', alertId }),
    snoozeAlert: async (email: string, alertId: string, time: CommandOf<'alert.snooze'>['for']) =>
      bus.execute(bus.person(email), { type: 'alert.snooze', alertId, for: time }),
    extendGrant: async (email: string, grantId: string) => bus.execute(bus.person(email), { type: 'grant.extend', grantId }),
    revokeGrant: async (email: string, grantId: string, reason: string) =>
      bus.execute(bus.person(email), { type: 'grant.revoke', grantId, reason }),
    confirmBreakGlass: async (email: string, grantId: string) => bus.execute(bus.person(email), { type: 'grant.confirm', grantId }),
    resolveAlert: async (email: string, alertId: string) => bus.execute(bus.person(email), { type: 'alert.resolve', alertId }),
    requestAccess: async (email: string, input: Omit<CommandOf<'access.request'>, 'type'>) =>
      bus.execute(bus.person(email), { type: 'access.request', ...input }),
    breakGlass: async (email: string, input: Omit<CommandOf<'access.break-glass'>, 'type'>) =>
      bus.execute(bus.person(email), { type: 'access.break-glass', ...input }),
    answerReview: async (email: string, input: Omit<CommandOf<'access-review.answer'>, 'type'>) =>
      bus.execute(bus.person(email), { type: 'access-review.answer', ...input }),
  };
}
