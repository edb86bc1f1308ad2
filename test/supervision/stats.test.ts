import {
  binOf,
  disparateImpact,
  LATENCY_BINS,
  normalCdf,
  pageHinkleyDecrease,
  psi,
  quantileFromBins,
  sparkline,
  twoProportionZTest,
} from '../../src/core/stats.js';

describe('check-in statistics', () => {
  it('normal CDF matches known values', () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 6);
    expect(normalCdf(-1.959964)).toBeCloseTo(0.025, 4);
    expect(normalCdf(2.326348)).toBeCloseTo(0.99, 4);
  });

  it('two-proportion z-test: 0.92 → 0.80 on 500 events each is a significant drop; 0.92 → 0.915 is not', () => {
    const drop = twoProportionZTest(460, 500, 400, 500, 'drop')!;
    expect(drop.z).toBeCloseTo(-5.468, 2); // pooled p 0.86, se 0.02195
    expect(drop.pValue).toBeLessThan(1e-6);
    const noise = twoProportionZTest(460, 500, 457, 500, 'drop')!;
    expect(noise.pValue).toBeGreaterThan(0.3);
    expect(twoProportionZTest(0, 0, 1, 1, 'drop')).toBeUndefined();
  });

  it('PSI is ~0 for identical distributions and large for a shift', () => {
    expect(psi([10, 20, 30, 40], [10, 20, 30, 40])).toBeCloseTo(0, 10);
    expect(psi([40, 30, 20, 10], [10, 20, 30, 40])).toBeGreaterThan(0.4);
    expect(psi([0, 0], [1, 1])).toBe(0);
  });

  it('Page-Hinkley alarms on a gradual decline, not on a flat noisy series', () => {
    const flat = Array.from({ length: 30 }, (_, i) => 0.92 + (i % 2 ? 0.005 : -0.005));
    expect(pageHinkleyDecrease(flat, 0.01, 0.15).alarmAt).toBeUndefined();
    const decline = Array.from({ length: 30 }, (_, i) => 0.92 - i * 0.005);
    expect(pageHinkleyDecrease(decline, 0.01, 0.15).alarmAt).toBeDefined();
  });

  it('disparate impact: 0.5 against 0.8 is 0.625; small segments are excluded', () => {
    const di = disparateImpact({ a: { favourable: 40, total: 80 }, b: { favourable: 64, total: 80 }, c: { favourable: 1, total: 5 } }, 30);
    expect(di.ratio).toBeCloseTo(0.625, 6);
    expect(di.lowest).toBe('a');
    expect(di.excluded).toEqual(['c']);
    expect(disparateImpact({ a: { favourable: 40, total: 80 } }, 30).ratio).toBe(1);
  });

  it('log bins give conservative percentiles', () => {
    expect(binOf(5, LATENCY_BINS)).toBe(0);
    expect(binOf(10, LATENCY_BINS)).toBe(1);
    expect(binOf(1500, LATENCY_BINS)).toBe(8);
    const counts = new Array(LATENCY_BINS.count).fill(0);
    for (let i = 0; i < 100; i++) counts[binOf(i < 95 ? 200 : 5000, LATENCY_BINS)] += 1;
    expect(quantileFromBins(counts, 0.95, LATENCY_BINS)).toBe(320);
    expect(quantileFromBins(counts, 0.99, LATENCY_BINS)).toBe(5120);
    expect(sparkline([1, 2, 3])).toBe('▁▅█');
  });
});
