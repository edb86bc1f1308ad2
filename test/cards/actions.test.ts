import {
  CARD_ACTIONS,
  EVALUATION_FORM_INPUTS,
  HOME_SURFACE,
  REQUEST_FORM_INPUTS,
  renderCard,
  type CardModel,
  type JsonObject,
  type JsonValue,
  type SlackRenderedCard,
} from '../../src/cards/index.js';
import { loadFixtures, stringsIn, visibleText } from './support.js';

/*
 * The ids on buttons and forms are the contract with the Slack and Teams adapters: a click must
 * carry what the adapter needs (run, step, agent, role) and nothing else.
 */

const fixtures = new Map(loadFixtures().map((fixture) => [fixture.file.replace(/\.json$/, ''), fixture.model]));

function fixture(name: string): CardModel {
  const model = fixtures.get(name);
  if (!model) throw new Error(`no fixture ${name}`);
  return model;
}

/** Every object in a JSON tree. */
function objectsIn(value: JsonValue): JsonObject[] {
  if (Array.isArray(value)) return value.flatMap(objectsIn);
  if (value && typeof value === 'object') return [value, ...Object.values(value).flatMap(objectsIn)];
  return [];
}

function slackRoot(card: SlackRenderedCard): JsonValue {
  return card.surface === 'message' ? card.blocks : card.view;
}

function slackButtons(name: string): JsonObject[] {
  return objectsIn(slackRoot(renderCard('slack', fixture(name)))).filter((object) => object.type === 'button');
}

function teamsActions(name: string): JsonObject[] {
  return objectsIn(renderCard('teams', fixture(name)).card).filter((object) => String(object.type).startsWith('Action.'));
}

function teamsExecute(name: string, verb: string): JsonObject[] {
  return teamsActions(name).filter((action) => action.type === 'Action.Execute' && action.verb === verb);
}

describe('approval-request', () => {
  const ids = { runId: 'run_7Hq2Lx9Pa1', stepId: 'bu-approval' };

  it('pending for someone who can decide: Slack Approve (primary) and Deny (danger) carry runId and stepId', () => {
    const buttons = slackButtons('approval-request.pending');
    expect(buttons.map((button) => [button.action_id, button.style])).toEqual([
      [CARD_ACTIONS.approvalApprove, 'primary'],
      [CARD_ACTIONS.approvalDeny, 'danger'],
    ]);
    for (const button of buttons) expect(JSON.parse(String(button.value))).toEqual(ids);
  });

  it('pending for someone who can decide: Teams Approve, and Deny asking for a reason', () => {
    expect(teamsExecute('approval-request.pending', CARD_ACTIONS.approvalApprove)).toEqual([
      expect.objectContaining({ style: 'positive', data: ids }),
    ]);
    const [showCard] = teamsActions('approval-request.pending').filter((action) => action.type === 'Action.ShowCard');
    const inner = objectsIn(showCard?.card ?? null);
    expect(inner).toContainEqual(expect.objectContaining({ type: 'Input.Text', id: 'reason', isRequired: true }));
    expect(inner).toContainEqual(
      expect.objectContaining({
        type: 'Action.Execute',
        verb: CARD_ACTIONS.approvalDeny,
        style: 'destructive',
        data: { ...ids, reasonInputId: 'reason' },
      }),
    );
  });

  it('pending: Teams refreshes for the approvers, at most 60 of them', () => {
    const { card } = renderCard('teams', fixture('approval-request.pending'));
    expect(card.refresh).toEqual({
      action: { type: 'Action.Execute', title: 'Refresh', verb: CARD_ACTIONS.approvalRefresh, data: ids },
      userIds: ['bf3a3ce9-01c7-4978-be10-73f656fb270b'],
    });
    const many = renderCard('teams', fixture('approval-request.pending-many-approvers')).card;
    expect((many.refresh as JsonObject).userIds).toHaveLength(60);
  });

  it('pending for the requester: no buttons on either platform, and the reason why', () => {
    expect(slackButtons('approval-request.pending-own-request')).toEqual([]);
    expect(teamsActions('approval-request.pending-own-request').filter((action) => action.verb !== CARD_ACTIONS.approvalRefresh)).toEqual(
      [],
    );
    for (const platform of ['slack', 'teams'] as const) {
      expect(visibleText(renderCard(platform, fixture('approval-request.pending-own-request')))).toContain(
        'You requested this agent, so someone else has to approve it.',
      );
      // "Approval needed" only for those who can give it; everyone else reads "Approval request".
      expect(visibleText(renderCard(platform, fixture('approval-request.pending-own-request')))).toContain('Approval request:');
      expect(visibleText(renderCard(platform, fixture('approval-request.pending')))).toContain('Approval needed:');
    }
  });

  it.each(['approved', 'denied', 'expired', 'cancelled'])('%s: no buttons, no refresh', (state) => {
    expect(slackButtons(`approval-request.${state}`)).toEqual([]);
    expect(teamsActions(`approval-request.${state}`)).toEqual([]);
    expect(renderCard('teams', fixture(`approval-request.${state}`)).card.refresh).toBeUndefined();
  });

  it.each([
    ['approved', 'Approved by <@U04B7K2M9QX> on 3 Jun 2025, 14:02 UTC.', 'Approved by Maya Chen on 3 Jun 2025, 14:02 UTC.'],
    ['denied', 'Denied by <@U04B7K2M9QX> on 3 Jun 2025, 15:40 UTC.', 'Denied by Maya Chen on 3 Jun 2025, 15:40 UTC.'],
    [
      'expired',
      'Expired on 9 Jun 2025, 09:14 UTC — it can no longer be approved.',
      'Expired on 9 Jun 2025, 09:14 UTC — it can no longer be approved.',
    ],
    [
      'cancelled',
      'Cancelled by <@U05D9W4H7LE> on 4 Jun 2025, 08:00 UTC — it can no longer be approved.',
      'Cancelled by Daniel Okafor on 4 Jun 2025, 08:00 UTC — it can no longer be approved.',
    ],
  ])('%s: says who decided and when', (state, slack, teams) => {
    const strip = (text: string) => text.replace(/\*/g, '');
    expect(strip(visibleText(renderCard('slack', fixture(`approval-request.${state}`))))).toContain(slack);
    expect(strip(visibleText(renderCard('teams', fixture(`approval-request.${state}`))))).toContain(teams);
  });
});

describe('catalog', () => {
  it('puts a Request button on every role, carrying the role id', () => {
    const roleIds = ['kb-answerer', 'invoice-triage', 'fraud-screening'];
    expect(slackButtons('catalog.default').map((button) => [button.action_id, button.value])).toEqual(
      roleIds.map((roleId) => [CARD_ACTIONS.catalogRequest, roleId]),
    );
    expect(teamsExecute('catalog.default', CARD_ACTIONS.catalogRequest).map((action) => action.data)).toEqual(
      roleIds.map((roleId) => ({ roleId })),
    );
  });

  it('puts a Request button on a single role', () => {
    expect(slackButtons('catalog-entry.support-assistant')).toEqual([
      expect.objectContaining({ action_id: CARD_ACTIONS.catalogRequest, value: 'support-assistant' }),
    ]);
    expect(teamsExecute('catalog-entry.support-assistant', CARD_ACTIONS.catalogRequest)).toEqual([
      expect.objectContaining({ data: { roleId: 'support-assistant' } }),
    ]);
  });
});

describe('request-form', () => {
  it('Slack: a modal that submits agent_request_submit with the role id and named fields', () => {
    const card = renderCard('slack', fixture('request-form.with-errors'));
    if (card.surface !== 'modal') throw new Error('expected a modal');
    expect(card.view).toMatchObject({ type: 'modal', callback_id: CARD_ACTIONS.agentRequestSubmit, submit: { text: 'Send request' } });
    expect(JSON.parse(String(card.view.private_metadata))).toEqual({ roleId: 'support-assistant' });
    const inputs = card.view.blocks.filter((block) => block.type === 'input');
    const names = Object.values(REQUEST_FORM_INPUTS).map((input) => input.slack);
    expect(inputs.map((block) => [block.block_id, (block.element as JsonObject).action_id])).toEqual(names.map((name) => [name, name]));
    expect(inputs.find((block) => block.block_id === 'sponsors')?.element).toMatchObject({
      type: 'multi_users_select',
      initial_users: ['U04E6T1V5GA', 'U04F3N6B8CJ'],
    });
    expect(inputs.find((block) => block.block_id === 'business_unit')?.element).toMatchObject({
      initial_option: { value: 'customer-support', text: { text: 'Customer Support' } },
    });
    expect(visibleText(card)).toContain('⚠️ An agent called "Tier-1 ticket drafter" already exists in Customer Support.');
  });

  it('Teams: inputs with the documented ids and agent_request_submit carrying the role id', () => {
    const { card } = renderCard('teams', fixture('request-form.with-errors'));
    const inputIds = objectsIn(card)
      .filter((object) => String(object.type).startsWith('Input.'))
      .map((input) => input.id);
    expect(inputIds).toEqual(Object.values(REQUEST_FORM_INPUTS).map((input) => input.teams));
    expect(teamsExecute('request-form.with-errors', CARD_ACTIONS.agentRequestSubmit)).toEqual([
      expect.objectContaining({ data: { roleId: 'support-assistant' } }),
    ]);
    expect(objectsIn(card)).toContainEqual(
      expect.objectContaining({ id: 'sponsorEmails', value: 'priya.raman@brightwater.example, hiroshi.tanaka@brightwater.example' }),
    );
  });
});

describe('evaluation-form', () => {
  it('Slack: evaluation_submit with runId and agentId; role-fit checkboxes in blocks of ten valued by index', () => {
    const card = renderCard('slack', fixture('evaluation-form.with-errors'));
    if (card.surface !== 'modal') throw new Error('expected a modal');
    expect(card.view.callback_id).toBe(CARD_ACTIONS.evaluationSubmit);
    expect(JSON.parse(String(card.view.private_metadata))).toEqual({ runId: 'run_2Bc8Rt4Wz0', agentId: 'agt_4kq9zr2m' });
    const roleFit = card.view.blocks.filter((block) => String(block.block_id).startsWith('role_fit_'));
    expect(roleFit.map((block) => block.block_id)).toEqual(['role_fit_0', 'role_fit_1']);
    const values = roleFit.map((block) => ((block.element as JsonObject).options as JsonObject[]).map((option) => option.value));
    expect(values).toEqual([
      ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
      ['10', '11'],
    ]);
    const checked = roleFit.map((block) =>
      (((block.element as JsonObject).initial_options ?? []) as JsonObject[]).map((option) => option.value),
    );
    expect(checked).toEqual([['0', '1', '2'], ['10']]);
    const accuracy = card.view.blocks.find((block) => block.block_id === EVALUATION_FORM_INPUTS.accuracy.slack);
    expect(accuracy?.element).toMatchObject({
      type: 'number_input',
      action_id: 'accuracy',
      initial_value: '0',
      min_value: '0',
      max_value: '1',
    });
  });

  it('Teams: evaluation_submit with runId and agentId; role fit as one multi-select of indexes', () => {
    const { card } = renderCard('teams', fixture('evaluation-form.with-errors'));
    expect(teamsExecute('evaluation-form.with-errors', CARD_ACTIONS.evaluationSubmit)).toEqual([
      expect.objectContaining({ data: { runId: 'run_2Bc8Rt4Wz0', agentId: 'agt_4kq9zr2m' } }),
    ]);
    const inputs = objectsIn(card).filter((object) => String(object.type).startsWith('Input.'));
    expect(inputs.map((input) => input.id)).toEqual(Object.values(EVALUATION_FORM_INPUTS).map((input) => input.teams));
    expect(inputs.find((input) => input.id === 'roleFit')).toMatchObject({ isMultiSelect: true, value: '0,1,2,10' });
    expect(inputs.find((input) => input.id === 'accuracy')).toMatchObject({ type: 'Input.Number', value: 0 });
  });
});

describe('evaluation-verdict', () => {
  const ids = { runId: 'run_9Kd3Fg6Hj2', agentId: 'agt_p8d2w6n4ts' };

  it('failed: a Submit new results button carrying runId and agentId', () => {
    const [button] = slackButtons('evaluation-verdict.failed');
    expect(button).toMatchObject({ action_id: CARD_ACTIONS.evaluationOpen, text: { text: 'Submit new results' } });
    expect(JSON.parse(String(button?.value))).toEqual(ids);
    expect(teamsExecute('evaluation-verdict.failed', CARD_ACTIONS.evaluationOpen)).toEqual([expect.objectContaining({ data: ids })]);
    expect(visibleText(renderCard('slack', fixture('evaluation-verdict.failed')))).toContain(
      'accuracy 0.85 is 0.05 below the minimum 0.90',
    );
  });

  it('passed: no button', () => {
    expect(slackButtons('evaluation-verdict.passed')).toEqual([]);
    expect(teamsActions('evaluation-verdict.passed')).toEqual([]);
  });
});

describe('deny-reason', () => {
  it('Slack: a modal submitting approval_deny_submit with runId and stepId', () => {
    const card = renderCard('slack', fixture('deny-reason.default'));
    if (card.surface !== 'modal') throw new Error('expected a modal');
    expect(card.view.callback_id).toBe(CARD_ACTIONS.approvalDenySubmit);
    expect(JSON.parse(String(card.view.private_metadata))).toEqual({ runId: 'run_7Hq2Lx9Pa1', stepId: 'bu-approval' });
    expect(card.view.blocks).toContainEqual(
      expect.objectContaining({ block_id: 'reason', element: expect.objectContaining({ action_id: 'reason' }) }),
    );
  });

  it('Teams: approval_deny with the reason input named in the data', () => {
    expect(teamsExecute('deny-reason.default', CARD_ACTIONS.approvalDeny)).toEqual([
      expect.objectContaining({ data: { runId: 'run_7Hq2Lx9Pa1', stepId: 'bu-approval', reasonInputId: 'reason' } }),
    ]);
  });
});

describe('home', () => {
  it('Slack: an App Home view with Approve and Deny on each approval the person may decide', () => {
    const card = renderCard('slack', fixture('home.busy'));
    expect(card.surface).toBe('home');
    const values = slackButtons('home.busy').map((button) => [button.action_id, JSON.parse(String(button.value))]);
    expect(values).toEqual([
      [CARD_ACTIONS.approvalApprove, { runId: 'run_7Hq2Lx9Pa1', stepId: 'bu-approval' }],
      [CARD_ACTIONS.approvalDeny, { runId: 'run_7Hq2Lx9Pa1', stepId: 'bu-approval' }],
      [CARD_ACTIONS.approvalApprove, { runId: 'run_5Tm1Qw8Er3', stepId: 'bu-approval' }],
      [CARD_ACTIONS.approvalDeny, { runId: 'run_5Tm1Qw8Er3', stepId: 'bu-approval' }],
    ]);
  });

  it('Teams: each approval has its own reason input, named in its Deny data', () => {
    const deny = teamsExecute('home.busy', CARD_ACTIONS.approvalDeny).map((action) => action.data as JsonObject);
    expect(deny).toEqual([
      { runId: 'run_7Hq2Lx9Pa1', stepId: 'bu-approval', reasonInputId: 'reason_0', surface: HOME_SURFACE },
      { runId: 'run_5Tm1Qw8Er3', stepId: 'bu-approval', reasonInputId: 'reason_1', surface: HOME_SURFACE },
    ]);
    // Clicked on the home card, Approve too says so: Teams answers with the home card again.
    expect(teamsExecute('home.busy', CARD_ACTIONS.approvalApprove).map((action) => action.data)).toEqual([
      { runId: 'run_7Hq2Lx9Pa1', stepId: 'bu-approval', surface: HOME_SURFACE },
      { runId: 'run_5Tm1Qw8Er3', stepId: 'bu-approval', surface: HOME_SURFACE },
    ]);
    const inputIds = objectsIn(renderCard('teams', fixture('home.busy')).card)
      .filter((object) => object.type === 'Input.Text')
      .map((input) => input.id);
    expect(inputIds).toEqual(['reason_0', 'reason_1']);
  });

  it('shows empty states', () => {
    for (const platform of ['slack', 'teams'] as const) {
      const text = visibleText(renderCard(platform, fixture('home.empty')));
      expect(text).toContain('Nothing is waiting for you.');
      expect(text).toContain('No open requests.');
    }
  });
});

describe('agent-list', () => {
  it('says "No agents match" when empty', () => {
    for (const platform of ['slack', 'teams'] as const)
      expect(visibleText(renderCard(platform, fixture('agent-list.empty')))).toContain('No agents match.');
  });

  it('shows at most 40 agents and says how many there are', () => {
    const card = renderCard('slack', fixture('agent-list.many'));
    expect(card.surface === 'message' && card.blocks).toHaveLength(42);
    expect(visibleText(card)).toContain('Showing 40 of 57 agents.');
  });
});

describe('every action id and verb is documented', () => {
  it('the cards emit no action_id, callback_id or verb missing from CARD_ACTIONS', () => {
    const known = new Set<string>(Object.values(CARD_ACTIONS));
    const used = new Set<string>();
    for (const model of fixtures.values()) {
      const slack = renderCard('slack', model);
      for (const entry of stringsIn(slackRoot(slack))) if (entry.key === 'callback_id') used.add(entry.text);
      for (const object of objectsIn(slackRoot(slack))) if (object.type === 'button') used.add(String(object.action_id));
      for (const object of objectsIn(renderCard('teams', model).card)) if (object.type === 'Action.Execute') used.add(String(object.verb));
    }
    expect([...used].filter((id) => !known.has(id))).toEqual([]);
    expect([...known].filter((id) => !used.has(id))).toEqual([]);
  });
});
