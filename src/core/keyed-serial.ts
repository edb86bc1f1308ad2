/**
 * Runs tasks one at a time per key, in the order they were handed in; tasks of different keys
 * run side by side. For writes that would otherwise meet on one document in this process and
 * lose compare-and-set rounds to each other (a burst of SCIM PATCHes to one group): queued here
 * they each win the first round, and compare-and-set is left to settle races between replicas.
 */
export class KeyedSerial {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Runs `task` after every task handed in before it with the same key has settled. */
  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}
