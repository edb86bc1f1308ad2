import type { Model, mongo } from 'mongoose';

/** A stored document keyed by a business id: a string `_id` (an AgentId, RunId…), other fields as the driver reads them. */
export interface KeyedDoc extends mongo.Document {
  _id: string;
}

/**
 * A model's collection as the driver's, typed with a string `_id`: filters, inserts and updates by
 * id then type-check without casting the id (the driver's default `_id` is an ObjectId).
 */
export function keyed(model: Pick<Model<unknown>, 'collection'>): mongo.Collection<KeyedDoc> {
  return model.collection as unknown as mongo.Collection<KeyedDoc>;
}
