import {
  confidenceOfPsi,
  confidenceOfPValue,
  describeChange,
  describeDisparity,
  describeGradualDecline,
  describeShift,
  formatPair,
} from '../../src/core/plain-words.js';

describe('check-in findings in plain words', () => {
  it('a fall in a percentage, very unlikely to be chance', () => {
    expect(describeChange({ label: 'Accuracy', unit: 'share', from: 0.921, to: 0.801, days: 7, confidence: 'very-unlikely-chance' })).toBe(
      'Accuracy fell from 92% to 80% over 7 days; this is very unlikely to be chance.',
    );
  });

  it('a rise in a small percentage keeps one decimal so the two values differ', () => {
    expect(describeChange({ label: 'Hand-off rate', unit: 'share', from: 0.039, to: 0.101, days: 14, confidence: 'unlikely-chance' })).toBe(
      'Hand-off rate rose from 3.9% to 10.1% over 14 days; this is unlikely to be chance.',
    );
    // Close values that round to the same whole percentage are told apart by the decimal.
    expect(formatPair('share', 0.921, 0.918)).toEqual(['92.1%', '91.8%']);
  });

  it('latency in milliseconds, with thousands grouped, and a change that could be chance', () => {
    expect(describeChange({ label: 'Latency (p95)', unit: 'ms', from: 640, to: 1280, days: 7, confidence: 'could-be-chance' })).toBe(
      'Latency (p95) rose from 640 ms to 1,280 ms over 7 days; this could be chance.',
    );
  });

  it('cost in US dollars: fractions of a cent in two significant digits, dollars in cents', () => {
    expect(
      describeChange({ label: 'Cost per task', unit: 'usd', from: 0.005, to: 0.0021, days: 1, confidence: 'very-unlikely-chance' }),
    ).toBe('Cost per task fell from $0.0050 to $0.0021 over 1 day; this is very unlikely to be chance.');
    expect(formatPair('usd', 1.5, 12)).toEqual(['$1.50', '$12.00']);
  });

  it('daily volume as tasks a day', () => {
    expect(describeChange({ label: 'Volume', unit: 'per-day', from: 1240, to: 480, days: 7 })).toBe(
      'Volume fell from 1,240 tasks a day to 480 tasks a day over 7 days.',
    );
  });

  it('no change: "held steady", without a confidence clause', () => {
    expect(
      describeChange({ label: 'Accuracy', unit: 'share', from: 0.9212, to: 0.9208, days: 7, confidence: 'very-unlikely-chance' }),
    ).toBe('Accuracy held steady at 92% over 7 days.');
    expect(describeChange({ label: 'Latency (p95)', unit: 'ms', from: 1280, to: 1280, days: 7 })).toBe(
      'Latency (p95) held steady at 1,280 ms over 7 days.',
    );
  });

  it('a distribution that moved: a change when the values differ, else its spread, never "held steady"', () => {
    expect(describeShift({ label: 'Latency (p95)', unit: 'ms', from: 640, to: 1280, days: 7, confidence: 'unlikely-chance' })).toBe(
      'Latency (p95) rose from 640 ms to 1,280 ms over 7 days; this is unlikely to be chance.',
    );
    expect(describeShift({ label: 'Latency (p95)', unit: 'ms', from: 1280, to: 1280, days: 7, confidence: 'very-unlikely-chance' })).toBe(
      'Latency (p95) stayed at 1,280 ms, but how the values are spread changed over 7 days; this is very unlikely to be chance.',
    );
    expect(describeShift({ label: 'Cost per task', unit: 'usd', days: 1, confidence: 'unlikely-chance' })).toBe(
      'Cost per task changed shape over 1 day; this is unlikely to be chance.',
    );
  });

  it('confidence bands from a p-value against the policy level', () => {
    expect(confidenceOfPValue(1e-7, 0.01)).toBe('very-unlikely-chance');
    expect(confidenceOfPValue(0.0001, 0.01)).toBe('very-unlikely-chance');
    expect(confidenceOfPValue(0.005, 0.01)).toBe('unlikely-chance');
    expect(confidenceOfPValue(0.01, 0.01)).toBe('could-be-chance');
    expect(confidenceOfPValue(0.4, 0.01)).toBe('could-be-chance');
  });

  it('confidence bands from a population stability index', () => {
    expect(confidenceOfPsi(0.4, 0.1, 0.25)).toBe('very-unlikely-chance');
    expect(confidenceOfPsi(0.15, 0.1, 0.25)).toBe('unlikely-chance');
    expect(confidenceOfPsi(0.05, 0.1, 0.25)).toBe('could-be-chance');
  });

  it('a gradual decline and a gap between groups', () => {
    expect(describeGradualDecline('Daily accuracy', 0.92, 0.85, 30)).toBe(
      'Daily accuracy has been slipping day after day, from 92% to 85% over 30 days; a steady slide like this is unlikely to be chance.',
    );
    expect(describeDisparity('segment-b', 0.4, 'segment-a', 0.7, 0.8)).toBe(
      'segment-b got a favourable outcome 40% of the time against 70% for segment-a: 57% of their rate, below the 80% the four-fifths rule asks for.',
    );
  });
});
