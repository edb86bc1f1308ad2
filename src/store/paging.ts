import type { mongo } from 'mongoose';

type Document = mongo.Document;
type Filter<T> = mongo.Filter<T>;
type Collection<T extends Document> = mongo.Collection<T>;

/** Documents read per round trip when a list is read whole. */
export const DEFAULT_PAGE_SIZE = 500;

/**
 * Reads every document matching `query`, newest `field` first (ties by `_id`), one page at a
 * time with a keyset cursor: a long list is never silently cut, and no single reply grows with it.
 * `max` stops early when the caller asked for at most that many.
 */
export async function readAllPages<T extends Document = Document>(
  collection: Collection<T>,
  query: Filter<T>,
  options: { field: string; pageSize?: number; max?: number },
): Promise<Document[]> {
  const pageSize = Math.max(1, options.pageSize ?? DEFAULT_PAGE_SIZE);
  const out: Document[] = [];
  let last: Document | undefined;
  for (;;) {
    const want = options.max === undefined ? pageSize : Math.min(pageSize, options.max - out.length);
    if (want <= 0) return out;
    const after = last
      ? {
          $or: [{ [options.field]: { $lt: last[options.field] } }, { [options.field]: last[options.field], _id: { $lt: last._id } }],
        }
      : undefined;
    const page = await collection
      .find(after ? ({ $and: [query, after] } as Filter<T>) : query)
      .sort({ [options.field]: -1, _id: -1 })
      .limit(want)
      .toArray();
    out.push(...page);
    if (page.length < want) return out;
    last = page[page.length - 1];
  }
}
