/**
 * Index set-up for a model whose writes must not start before its unique indexes exist: the
 * returned function creates the collection and indexes once and hands every caller the same
 * promise, and forgets a failure so that the next caller tries again.
 */
export function indexesOnce(model: { init(): Promise<unknown>; createIndexes(): Promise<unknown> }): () => Promise<void> {
  let indexes: Promise<void> | undefined;
  return () => {
    indexes ??= (async () => {
      await model.init();
      await model.createIndexes();
    })().catch((err: unknown) => {
      indexes = undefined;
      throw err;
    });
    return indexes;
  };
}
