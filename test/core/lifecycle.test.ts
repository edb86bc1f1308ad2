import { InvalidTransitionError } from '../../src/core/errors.js';
import { AGENT_STATUSES, assertTransition, canTransition } from '../../src/core/lifecycle.js';

describe('agent lifecycle', () => {
  it('allows the SPEC transitions and nothing else', () => {
    const allowed = AGENT_STATUSES.flatMap((from) => AGENT_STATUSES.filter((to) => canTransition(from, to)).map((to) => `${from}→${to}`));
    expect(allowed.sort()).toEqual(
      [
        'requested→active',
        'requested→rejected',
        'active→probation',
        'active→suspended',
        'active→retiring',
        'probation→active',
        'probation→suspended',
        'probation→retiring',
        'suspended→active',
        'suspended→retiring',
        'retiring→retired',
      ].sort(),
    );
  });

  it('an invalid transition is a coded error', () => {
    expect(() => assertTransition('Ledger Bot', 'retired', 'active')).toThrow(InvalidTransitionError);
    try {
      assertTransition('Ledger Bot', 'rejected', 'active');
    } catch (err) {
      expect((err as InvalidTransitionError).code).toBe('invalid_transition');
      expect((err as InvalidTransitionError).userMessage).toBe("Agent Ledger Bot can't go from rejected to active.");
    }
  });
});
