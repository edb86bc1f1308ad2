import { randomBytes } from 'node:crypto';
import { Schema, type Connection } from 'mongoose';
import { readAllPages } from './paging.js';
import type { AlertRecord, AlertRepository } from '../core/alerts.js';
import { OUTBOX_FIELD, outboxOf, toStored, withEffects, withoutOutbox } from './outbox-store.js';
import { trustedId } from '../core/ids.js';
import { keyed } from './keyed.js';

/** Optional fields a change may remove. */
const CLEARABLE = ['acknowledgedVia', 'resolvedVia', 'snoozedUntil'] as const satisfies ReadonlyArray<keyof AlertRecord>;

/**
 * Alerts, one document each. `openKey` (`kind:agentId`, with `:scope` when scoped) is unique while the alert is not
 * resolved, so raising the same alert twice, even from two processes at once, updates one alert.
 */
export function createAlertRepository(connection: Connection): AlertRepository & { ensureIndexes(): Promise<void> } {
  const schema = new Schema(
    { _id: String, openKey: { type: String, unique: true }, agentId: String, status: String },
    { collection: 'alerts', strict: false, minimize: false, versionKey: false },
  );
  schema.index({ status: 1, agentId: 1 });
  const Alert = connection.models.Alert ?? connection.model('Alert', schema);
  const messageSchema = new Schema(
    { _id: String, alertId: String, person: String, ref: Schema.Types.Mixed },
    { collection: 'alert_messages', versionKey: false },
  );
  messageSchema.index({ alertId: 1 });
  const Message = connection.models.AlertMessage ?? connection.model('AlertMessage', messageSchema);

  const keyOf = (a: Pick<AlertRecord, 'kind' | 'agentId' | 'scope' | 'status' | 'id'>) => {
    const open = a.scope === undefined ? `${a.kind}:${a.agentId}` : `${a.kind}:${a.agentId}:${a.scope}`;
    return a.status === 'resolved' ? `${open}#${a.id}` : open;
  };
  const toDoc = (a: AlertRecord) => {
    const { id, ...rest } = a;
    return { _id: id, openKey: keyOf(a), ...rest };
  };
  const fromDoc = (d: Record<string, unknown>): AlertRecord => {
    const { _id, openKey: _k, outboxLeaseUntil: _lease, ...rest } = withoutOutbox(d);
    return { id: trustedId('AlertId', String(_id)), ...(rest as Omit<AlertRecord, 'id'>) };
  };

  return {
    async ensureIndexes() {
      await Alert.init();
      await Message.init();
    },
    async openOrGet(alert, effects = []) {
      for (let attempt = 0; attempt < 5; attempt++) {
        const existing = await keyed(Alert).findOne({ openKey: keyOf(alert) });
        if (existing) return { alert: fromDoc(existing), created: false };
        try {
          await keyed(Alert).insertOne({ ...toDoc(alert), [OUTBOX_FIELD]: effects.map(toStored) } as never);
          return { alert, created: true };
        } catch (err) {
          if ((err as { code?: number }).code !== 11000) throw err;
        }
      }
      throw new Error('could not open or find the alert');
    },
    async get(id) {
      const doc = await keyed(Alert).findOne({ _id: id });
      return doc ? fromDoc(doc) : undefined;
    },
    async replace(alert, expectedVersion, effects = []) {
      // `$set` and `$push`, never a whole-document replace: effects removed meanwhile stay removed.
      const { _id, ...fields } = toDoc(alert);
      // A field the change removed (a pager's mark on an acknowledgement made again in chat) is removed from the document too.
      const removed = CLEARABLE.filter((f) => alert[f] === undefined);
      const update = {
        $set: withoutOutbox(fields as Record<string, unknown>),
        ...(removed.length ? { $unset: Object.fromEntries(removed.map((f) => [f, ''])) } : {}),
      };
      const after = await keyed(Alert).findOneAndUpdate({ _id: _id, version: expectedVersion }, withEffects(update, effects), {
        returnDocument: 'after',
        projection: { outbox: 1 },
      });
      return after ? outboxOf(after) : undefined;
    },
    async list(filter) {
      const query: Record<string, unknown> = {};
      if (filter.status) query.status = { $in: filter.status.map(String) };
      if (filter.agentId) query.agentId = filter.agentId;
      if (filter.kind) query.kind = String(filter.kind);
      return (await readAllPages(keyed(Alert), query, { field: 'createdAt' })).map(fromDoc);
    },
    async saveMessage(alertId, person, ref) {
      await keyed(Message).insertOne({ _id: `am_${randomBytes(8).toString('hex')}`, alertId, person, ref });
    },
    async messages(alertId) {
      return (await keyed(Message).find({ alertId: alertId }).toArray()).map((d) => ({ person: d.person, ref: d.ref }));
    },
  };
}
