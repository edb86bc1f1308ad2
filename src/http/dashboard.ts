import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import express, { type Router } from 'express';
import Handlebars from 'handlebars';
import type { OrgConfig } from '../config/schemas.js';
import { findPersonByEmail } from '../config/directory.js';
import { DEFAULT_CARDS_DIR } from '../cards/templates.js';
import type { ComplianceReport } from '../core/governance.js';
import type { DashboardLinks, FleetView } from '../core/fleet.js';
import { isDashboardReader, mayReadComplianceReport } from '../core/policies.js';
import type { Logger } from '../logger.js';
import type { AuditLog } from '../core/audit.js';

export interface DashboardDeps {
  org: OrgConfig;
  links: DashboardLinks;
  fleet(): Promise<FleetView>;
  compliance(viewer: string): Promise<ComplianceReport>;
  /** Every view is recorded before it is shown; a view that cannot be recorded is not shown. */
  audit: Pick<AuditLog, 'append'>;
  log: Logger;
}

/** Inline SVG points for a series of accuracies in a 320×40 box. */
function points(series: number[]): string {
  if (series.length === 0) return '';
  const min = Math.min(...series, 0.5);
  const max = Math.max(...series, 1);
  const step = series.length > 1 ? 316 / (series.length - 1) : 0;
  return series.map((v, i) => `${(2 + i * step).toFixed(1)},${(38 - ((v - min) / (max - min || 1)) * 36).toFixed(1)}`).join(' ');
}

/**
 * The page's policy: scripts, styles and images from Roster only; no inline script or style, no
 * frames, no forms, no connections. Chart data travels in a JSON block, which is not executed.
 */
export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const require = createRequire(import.meta.url);

/** The files the page loads, by name: uPlot as shipped in node_modules, and the page's own script and styles. */
function assets(): Map<string, { type: string; body: Buffer }> {
  const web = path.join(DEFAULT_CARDS_DIR, 'web');
  return new Map([
    ['uplot.js', { type: 'text/javascript', body: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js')) }],
    ['uplot.css', { type: 'text/css', body: readFileSync(require.resolve('uplot/dist/uPlot.min.css')) }],
    ['dashboard.js', { type: 'text/javascript', body: readFileSync(path.join(web, 'dashboard.js')) }],
    ['dashboard.css', { type: 'text/css', body: readFileSync(path.join(web, 'dashboard.css')) }],
  ]);
}

/** JSON for a `<script type="application/json">` block: nothing in it can close the element or open markup. */
function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/**
 * `GET /dashboard?token=…`: the fleet view, per-agent trend charts (axes, dates, the baseline and
 * the alert thresholds, drawn by uPlot served from Roster) and, for compliance and the DPO, the
 * compliance gaps, as server-rendered HTML with no external assets. The token is a signed,
 * person-bound link from `/roster dashboard`, valid 15 minutes; anything else gets 401.
 * `GET /dashboard/assets/<name>`: the page's script, styles and uPlot, public and cacheable.
 */
export function createDashboardRouter(deps: DashboardDeps): Router {
  const hbs = Handlebars.create();
  const template = hbs.compile(readFileSync(path.join(DEFAULT_CARDS_DIR, 'web', 'dashboard.hbs'), 'utf8'));
  const files = assets();
  const router = express.Router();
  router.get('/assets/:name', (req, res) => {
    const file = files.get(req.params.name);
    if (!file) return void res.status(404).type('text/plain').send('No such asset.');
    res.status(200).type(file.type).set('Cache-Control', 'public, max-age=3600').set('X-Content-Type-Options', 'nosniff').send(file.body);
  });
  router.get('/', async (req, res, next) => {
    try {
      const email = deps.links.verify(req.query.token);
      const person = email ? findPersonByEmail(deps.org, email) : undefined;
      if (!person || !isDashboardReader(person)) {
        res
          .status(401)
          .type('text/plain')
          .send('This dashboard link is missing, altered or expired. Ask Roster for a new one: /roster dashboard');
        return;
      }
      const fleet = await deps.fleet();
      const compliance = mayReadComplianceReport(person) ? await deps.compliance(person.email) : undefined;
      try {
        await deps.audit.append({
          actor: { kind: 'person', email: person.email },
          action: 'dashboard.viewed',
          subject: { type: 'dashboard', id: 'fleet' },
          details: { agents: fleet.total, compliance: compliance !== undefined },
        });
      } catch (err) {
        deps.log.error({ err }, 'a dashboard view could not be recorded in the audit log; it was not shown');
        res
          .status(503)
          .set('Retry-After', '30')
          .type('text/plain')
          .send('The dashboard cannot be shown right now: Roster could not record this view in the audit log. Try again in a minute.');
        return;
      }
      const charts = fleet.trends.map((t) => ({
        agentId: t.agentId,
        name: t.name,
        points: points(t.accuracy),
        last: t.accuracy.at(-1)?.toFixed(3) ?? '',
        guides: t.guides,
      }));
      const chartData = jsonForScript(
        fleet.trends.map((t) => ({ agentId: t.agentId, name: t.name, days: t.days, accuracy: t.accuracy, guides: t.guides })),
      );
      res
        .status(200)
        .set('Cache-Control', 'no-store')
        .set('Content-Security-Policy', DASHBOARD_CSP)
        .set('X-Content-Type-Options', 'nosniff')
        .set('Referrer-Policy', 'no-referrer')
        .type('html')
        .send(template({ viewer: person.name, fleet, charts, chartData, compliance }));
    } catch (err) {
      next(err);
    }
  });
  return router;
}
