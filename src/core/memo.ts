/**
 * `compute` remembered by key, for pure functions asked the same few keys over and over (a sweep's
 * thousands of check-ins and cards share the same 30 days). At most `max` answers are kept; past
 * that the memory starts afresh, which costs only recomputation.
 */
export function memoized<K, V>(compute: (key: K) => V, max = 1000): (key: K) => V {
  const answers = new Map<K, V>();
  return (key) => {
    if (answers.has(key)) return answers.get(key)!;
    if (answers.size >= max) answers.clear();
    const value = compute(key);
    answers.set(key, value);
    return value;
  };
}
