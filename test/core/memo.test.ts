import { memoized } from '../../src/core/memo.js';

describe('memoized', () => {
  it('computes each key once, and starts afresh past its bound instead of growing', () => {
    const computed: number[] = [];
    const square = memoized((n: number) => {
      computed.push(n);
      return n * n;
    }, 2);
    expect([square(2), square(2), square(3), square(3)]).toEqual([4, 4, 9, 9]);
    expect(computed).toEqual([2, 3]);
    // A third key empties the memory: 2 is computed again, 4 stays remembered.
    expect([square(4), square(2), square(4)]).toEqual([16, 4, 16]);
    expect(computed).toEqual([2, 3, 4, 2]);
  });
});
