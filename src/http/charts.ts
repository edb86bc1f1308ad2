import { createHash } from 'node:crypto';
import express, { type Router } from 'express';
import { z } from 'zod';
import type { ChartLinks, TrendChartData } from '../core/trend-chart.js';
import type { RateRule } from '../core/rate-limit.js';
import { renderTrendPng } from '../cards/chart-image.js';
import type { Logger } from '../logger.js';
import { clientAddress, rateLimit } from './rate-limit.js';

export interface ChartRouterDeps {
  links: ChartLinks;
  /** The chart of a check-in or an alert by its id; undefined when there is none (or no trend). */
  chart(id: string): Promise<TrendChartData | undefined>;
  /** Images per client address (chat clients fetch each image once, through their own proxy). */
  limit?: RateRule;
  log: Logger;
  /** Draws a chart as a PNG; renderTrendPng unless a test counts the drawings. */
  render?: (chart: TrendChartData) => Promise<Buffer>;
}

const fileSchema = z.string().regex(/^(?:chk|alr)_[0-9a-f]{16}\.png$/);
const querySchema = z.object({
  exp: z.string().regex(/^\d{1,12}$/),
  sig: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
});

const refuse = (res: express.Response, status: number, code: string, message: string) =>
  res.status(status).set('Cache-Control', 'no-store').json({ error: code, message });

/**
 * `GET /charts/<id>.png?exp=…&sig=…`: the trend chart of a check-in or a drift alert, for the image
 * blocks of Slack cards. The link is the only credential (chat clients fetch images without
 * Roster's cookies or tokens): a missing, altered or expired signature gets 403, an unknown id 404.
 * The signature is checked before the database is read, so guessing ids costs nothing.
 */
export function createChartRouter(deps: ChartRouterDeps): Router {
  // Chat clients fetch the same image once per card and device, many through one proxy address:
  // the last pictures drawn are kept, by what they show, so a burst costs one drawing each. The
  // drawing itself is kept from its start, so requests arriving while it runs wait for that one;
  // a drawing that fails is forgotten and tried again by the next request.
  const render = deps.render ?? renderTrendPng;
  const drawn = new Map<string, Promise<Buffer>>();
  const draw = (chart: TrendChartData): Promise<Buffer> => {
    const key = createHash('sha256').update(JSON.stringify(chart)).digest('hex');
    const cached = drawn.get(key);
    if (cached) return cached;
    const png = render(chart);
    drawn.set(key, png);
    png.catch(() => {
      if (drawn.get(key) === png) drawn.delete(key);
    });
    if (drawn.size > 200) drawn.delete(drawn.keys().next().value!);
    return png;
  };
  const router = express.Router();
  router.use(rateLimit({ rule: deps.limit ?? { requests: 120, perMs: 60_000 }, principal: clientAddress }));
  router.get('/:file', async (req, res) => {
    const file = fileSchema.safeParse(req.params.file);
    if (!file.success) return void refuse(res, 404, 'not_found', 'No such chart.');
    const id = file.data.slice(0, -'.png'.length);
    const query = querySchema.safeParse(req.query);
    if (!query.success) return void refuse(res, 403, 'bad_signature', 'This chart link is incomplete or altered.');
    const problem = deps.links.check(id, Number(query.data.exp), query.data.sig);
    if (problem === 'bad-signature') return void refuse(res, 403, 'bad_signature', 'This chart link is incomplete or altered.');
    if (problem === 'expired')
      return void refuse(res, 403, 'link_expired', 'This chart link has expired; the card shows a new one when it is updated.');
    try {
      const chart = await deps.chart(id);
      if (!chart) return void refuse(res, 404, 'not_found', 'No such chart.');
      const png = await draw(chart);
      res
        .status(200)
        .type('image/png')
        .set('Cache-Control', 'private, max-age=3600')
        .set('Content-Security-Policy', "default-src 'none'")
        .set('X-Content-Type-Options', 'nosniff')
        .send(png);
    } catch (err) {
      deps.log.error({ err: err instanceof Error ? { name: err.name, message: err.message } : String(err) }, 'a chart could not be drawn');
      res.status(503).set('Retry-After', '30').json({ error: 'unavailable', message: 'The chart cannot be drawn right now.' });
    }
  });
  return router;
}
