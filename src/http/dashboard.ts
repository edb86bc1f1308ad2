import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import express, { type Router } from 'express';
import Handlebars from 'handlebars';
import type { OrgConfig, Person } from '../config/schemas.js';
import { z } from 'zod';
import { businessUnitById, findPersonByEmail, roleById } from '../config/directory.js';
import { findChoices, findFormWords, formatFindQuery, type FindResult } from '../core/agent-search.js';
import { InvalidInputError } from '../core/errors.js';
import { DEFAULT_CARDS_DIR } from '../cards/templates.js';
import type { ComplianceReport } from '../core/governance.js';
import type { DashboardLinks, FleetView } from '../core/fleet.js';
import { isDashboardReader, mayReadComplianceReport } from '../core/policies.js';
import type { Logger } from '../logger.js';
import type { AuditLog } from '../core/audit.js';

export interface DashboardDeps {
  org: OrgConfig;
  links: DashboardLinks;
  /** The fleet view, asked as the viewer (the bus's `fleet.show`: the rule of who may see it lives there). */
  fleet(viewer: Person): Promise<FleetView>;
  /** The compliance report, asked as the viewer (the bus's `compliance.report`, the chat word's command). */
  compliance(viewer: Person): Promise<ComplianceReport>;
  /** `find` for the viewer (the bus's `agents.find`, the chat word's command: the same filters), when the dashboard offers it. */
  find?(viewer: Person, words: string, page: number): Promise<FindResult>;
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

/** The filters of `find` as query parameters (`status`, `role`, `bu`, `sponsor`, `scope`, `data`, `risk`, `checkin`, `cost`, `q`, `page`). */
const findParamsSchema = z.object({
  status: z.string().max(200).optional(),
  role: z.string().max(200).optional(),
  bu: z.string().max(200).optional(),
  sponsor: z.string().max(200).optional(),
  scope: z.string().max(200).optional(),
  data: z.string().max(200).optional(),
  risk: z.string().max(200).optional(),
  checkin: z.string().max(200).optional(),
  cost: z.string().max(40).optional(),
  q: z.string().max(100).optional(),
  page: z.coerce.number().int().min(1).max(1000).optional(),
});

/**
 * The dashboard's "Find agents" section: the form's options and chosen values, and a page of
 * results with links to the pages around it, or the error of a bad filter.
 */
async function findSection(deps: DashboardDeps, viewer: Person, query: Record<string, unknown>) {
  const org = deps.org;
  const option = (value: string, label: string, chosen?: string) => ({ value, label, selected: chosen === value });
  const params = findParamsSchema.safeParse(
    Object.fromEntries(
      Object.entries(query)
        .map(([k, v]) => [k, Array.isArray(v) ? v[0] : v])
        .filter(([, v]) => v !== ''),
    ),
  );
  const values = params.success ? params.data : {};
  const choices = findChoices(org);
  const form = {
    values,
    statuses: choices.statuses.map((x) => option(x, x, values.status)),
    roles: org.catalog.map((r) => option(r.id, r.title, values.role)),
    units: org.businessUnits.map((b) => option(b.id, b.name, values.bu)),
    scopes: org.scopes.map((x) => option(x.id, x.id, values.scope)),
    dataClasses: choices.dataClasses.map((d) => option(d, d, values.data)),
    risks: choices.risks.map((r) => option(r, r, values.risk)),
    checkins: choices.checkins.map((c) => option(c, c, values.checkin)),
  };
  if (!params.success) return { form, error: 'A filter is too long or the page is not a number from 1 to 1000.' };
  const { q, page = 1, ...filters } = values;
  const words = [findFormWords(filters), q ? `"${q.replace(/["“”]/g, '')}"` : ''].filter(Boolean).join(' ');
  try {
    const result = await deps.find!(viewer, words, page);
    const link = (p: number) =>
      `?${new URLSearchParams({ ...Object.fromEntries(Object.entries(query).filter(([k, v]) => k !== 'page' && typeof v === 'string')), page: String(p) }).toString()}`;
    return {
      form,
      words: formatFindQuery(result.query),
      total: result.total,
      page: result.page,
      pageCount: result.pageCount,
      rows: result.agents.map((a) => ({
        agentId: a.id,
        name: a.name,
        status: a.status,
        role: roleById(org, a.catalogRoleId)?.title ?? a.catalogRoleId,
        risk: roleById(org, a.catalogRoleId)?.riskTier ?? '',
        bu: businessUnitById(org, a.businessUnit)?.name ?? a.businessUnit,
        sponsors: a.sponsors.map((e) => findPersonByEmail(org, e)?.name ?? e).join(', '),
      })),
      ...(result.page > 1 ? { prev: link(result.page - 1) } : {}),
      ...(result.page < result.pageCount ? { next: link(result.page + 1) } : {}),
    };
  } catch (err) {
    if (err instanceof InvalidInputError) return { form, error: err.userMessage };
    throw err;
  }
}

/**
 * The page's policy: scripts, styles and images from Roster only; no inline script or style, no
 * frames, no connections; its one form (Find agents, a GET to the dashboard itself) submits only
 * to Roster. Chart data travels in a JSON block, which is not executed.
 */
export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

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
      const fleet = await deps.fleet(person);
      // Whether the page has a compliance part at all; the command asked for it decides who may read it.
      const compliance = mayReadComplianceReport(person) ? await deps.compliance(person) : undefined;
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
      const search = deps.find ? await findSection(deps, person, req.query) : undefined;
      res
        .status(search?.error ? 400 : 200)
        .set('Cache-Control', 'no-store')
        .set('Content-Security-Policy', DASHBOARD_CSP)
        .set('X-Content-Type-Options', 'nosniff')
        .set('Referrer-Policy', 'no-referrer')
        .type('html')
        .send(template({ viewer: person.name, token: String(req.query.token), fleet, charts, chartData, compliance, search }));
    } catch (err) {
      next(err);
    }
  });
  return router;
}
