import { createHmac } from 'node:crypto';
import { alertIdOfPagerKey, opsgeniePriority, pagerDutySeverity, pagerKey, verifyPagerDutySignature } from '../../src/core/pager.js';
import { asAlertId } from '../helpers/ids.js';

const hex = (secret: string, body: Buffer) => createHmac('sha256', secret).update(body).digest('hex');

describe('pager helpers', () => {
  it('verifies PagerDuty V3 signatures over the raw body, accepting any of several v1 entries (secret rotation)', () => {
    const body = Buffer.from('{"event":{"id":"01","event_type":"incident.acknowledged","data":{"title":"Zürich ✓"}}}', 'utf8');
    const good = hex('current-secret-0123456789', body);
    expect(verifyPagerDutySignature(body, `v1=${good}`, 'current-secret-0123456789')).toBe(true);
    expect(verifyPagerDutySignature(body, `v1=${hex('old-secret-0123456789ab', body)},v1=${good}`, 'current-secret-0123456789')).toBe(true);
    expect(verifyPagerDutySignature(body, `v1=${good.toUpperCase()}`, 'current-secret-0123456789')).toBe(true);
    // Another secret, another body, another version, no header: refused.
    expect(verifyPagerDutySignature(body, `v1=${good}`, 'another-secret-0123456789')).toBe(false);
    expect(verifyPagerDutySignature(Buffer.from(`${body.toString()} `), `v1=${good}`, 'current-secret-0123456789')).toBe(false);
    expect(verifyPagerDutySignature(body, `v2=${good}`, 'current-secret-0123456789')).toBe(false);
    expect(verifyPagerDutySignature(body, undefined, 'current-secret-0123456789')).toBe(false);
    expect(verifyPagerDutySignature(body, 'v1=', 'current-secret-0123456789')).toBe(false);
  });

  it('derives a stable vendor id from the alert id and reads only its own back', () => {
    expect(pagerKey(asAlertId('alr_0123456789abcdef'))).toBe('roster-alr_0123456789abcdef');
    expect(alertIdOfPagerKey('roster-alr_0123456789abcdef')).toBe('alr_0123456789abcdef');
    for (const foreign of ['d3640fbd41094207a1c11e58e46b1662', 'roster-alr_0123', 'roster-alr_0123456789abcdef/../x', '', null, undefined])
      expect(alertIdOfPagerKey(foreign)).toBeUndefined();
  });

  it('maps severities to PagerDuty severities and Opsgenie priorities', () => {
    expect(pagerDutySeverity({ severity: 'critical', kind: 'drift' })).toBe('critical');
    expect(pagerDutySeverity({ severity: 'warning', kind: 'error-spike' })).toBe('error');
    expect(pagerDutySeverity({ severity: 'warning', kind: 'drift' })).toBe('warning');
    expect(pagerDutySeverity({ severity: 'warning', kind: 'dormant' })).toBe('info');
    expect(opsgeniePriority({ severity: 'critical', kind: 'dormant' })).toBe('P1');
    expect(opsgeniePriority({ severity: 'warning', kind: 'error-spike' })).toBe('P2');
    expect(opsgeniePriority({ severity: 'warning', kind: 'fairness' })).toBe('P3');
    expect(opsgeniePriority({ severity: 'warning', kind: 'dormant' })).toBe('P5');
  });
});
