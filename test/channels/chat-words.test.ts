import { parseChatCommand } from '../../src/channels/chat.js';
import { chatWords } from '../../src/channels/chat-words.js';

/*
 * One tokenizer for every command: a quoted agent name is one agent wherever a command takes one,
 * with straight or curly quotes, on Slack (`/roster …` text) and Teams (message text) alike.
 */

describe('chat words', () => {
  it('keeps a quoted name together, without its quotes; straight and curly quotes; an unmatched quote is a character', () => {
    expect(chatWords('show "Refund Triage"')).toEqual(['show', 'Refund Triage']);
    expect(chatWords('show “Refund Triage”  now')).toEqual(['show', 'Refund Triage', 'now']);
    expect(chatWords('note x it said "hi')).toEqual(['note', 'x', 'it', 'said', '"hi']);
    expect(chatWords('  ')).toEqual([]);
  });

  const agent = 'Refund Triage';
  it.each([
    ['show "Refund Triage"', { name: 'show', agent }],
    ['show “Refund Triage”', { name: 'show', agent }],
    ['eval "Refund Triage" self-reported', { name: 'eval', agent, selfReported: true }],
    ['eval "Refund Triage"', { name: 'eval', agent }],
    [
      'access "Refund Triage" payments:read 8h to reconcile refunds',
      { name: 'access', agent, scope: 'payments:read', duration: '8h', reason: 'to reconcile refunds' },
    ],
    ['access "Refund Triage"', { name: 'access', agent }],
    [
      'break-glass "Refund Triage" payments:write outage now',
      { name: 'break-glass', agent, scope: 'payments:write', reason: 'outage now' },
    ],
    [
      'boundary "Refund Triage" refund.issue allow large refunds',
      { name: 'boundary', agent, action: 'refund.issue', mode: 'allow', reason: 'large refunds' },
    ],
    ['decisions "Refund Triage" 7 failure', { name: 'decisions', agent, days: 7, outcome: 'failure' }],
    ['archive "Refund Triage"', { name: 'archive', agent }],
    ['reactivate "Refund Triage" index rebuilt', { name: 'reactivate', agent, reason: 'index rebuilt' }],
    ['sponsor accept "Refund Triage"', { name: 'sponsor', agent }],
    ['sponsor confirm "Refund Triage" maya.chen@brightwater.example', { name: 'sponsor', agent, confirm: 'maya.chen@brightwater.example' }],
    ['retrain "Refund Triage" postpone 7 waiting for data', { name: 'retrain', agent, days: 7, reason: 'waiting for data' }],
    ['retire "Refund Triage" obsolete', { name: 'retire', agent, reason: 'obsolete' }],
  ])('%s', (text, expected) => {
    expect(parseChatCommand(text)).toEqual(expected);
  });
});
