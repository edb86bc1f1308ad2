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
  const out: Document[] = [];
  for await (const page of pagesOf(collection, query, options)) out.push(...page);
  return out;
}

/**
 * The pages {@link readAllPages} reads, each yielded as soon as it is read (the same queries): a
 * caller that goes through a long list holds one page of it, not all of it.
 */
export async function* pagesOf<T extends Document = Document>(
  collection: Collection<T>,
  query: Filter<T>,
  options: { field: string; pageSize?: number; max?: number },
): AsyncGenerator<Document[], void, undefined> {
  const pageSize = Math.max(1, options.pageSize ?? DEFAULT_PAGE_SIZE);
  let read = 0;
  let last: Document | undefined;
  for (;;) {
    const want = options.max === undefined ? pageSize : Math.min(pageSize, options.max - read);
    if (want <= 0) return;
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
    read += page.length;
    if (page.length > 0) yield page;
    if (page.length < want) return;
    last = page[page.length - 1];
  }
}
