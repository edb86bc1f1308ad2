import { PAGER_NAMES, type PagerProvider } from '../core/pager.js';
import type { OrgConfig } from '../config/schemas.js';
import { findPersonByEmail, roleById } from '../config/directory.js';
import type { AgentRecord } from '../core/agents.js';
import type { AlertPresenter, AlertRecord } from '../core/alerts.js';
import type { CheckInPresenter, CheckInRecord } from '../core/checkin-service.js';
import { findingInWords } from '../core/checkin-assessment.js';
import type { CardOf } from '../cards/view-models.js';
import { alertCard, checkInCard, noticeCard } from './card-builders.js';
import { personName } from './names.js';
import { displayDate } from '../core/time.js';
import { memoized } from '../core/memo.js';
import {
  isAlertResponder,
  isDecisionReader,
  mayAddKnowledgeNote,
  mayDecideCheckIn,
  mayRegisterShadow,
  mayRetireFromAlert,
} from '../core/policies.js';
import { sparkline } from '../core/stats.js';
import { accuracyGuides, accuracyTrend, chartAltText, type ChartLinks, type TrendChartData } from '../core/trend-chart.js';
import { idOrUndefined, type AgentId, type AlertId, type CheckInId } from '../core/ids.js';

const day = (iso: string) => displayDate(iso).split(',')[0]!;

/** "12 Nov" for 2026-11-12, remembered: a sweep's thousands of cards show the same 30 days. */
const chartDay = memoized((isoDay: string) => day(`${isoDay}T00:00:00Z`).replace(/ \d{4}$/, ''));

/**
 * A daily accuracy series as the cards' chart: day labels such as "12 Nov" and percentages. The
 * same days as the chart image ({@link accuracyTrend}: the last 31 with a value; none below two).
 */
export function accuracyChart(series: ReadonlyArray<{ day: string; accuracy: number }> | undefined) {
  const trend = accuracyTrend(series, []);
  if (!trend) return undefined;
  const points = trend.points.map((p) => ({ x: chartDay(p.day), y: Math.round(p.value * 1000) / 10 }));
  return { title: `Daily accuracy (%), last ${points.length} days`, legend: trend.unitLabel, points };
}

/** A drift alert's stored trend, read back defensively (details are free-form JSON). */
function storedSeries(value: unknown): Array<{ day: string; accuracy: number }> {
  if (!Array.isArray(value)) return [];
  return value.flatMap((p: unknown) => {
    const point = p as { day?: unknown; accuracy?: unknown } | null;
    return point && typeof point.day === 'string' && typeof point.accuracy === 'number'
      ? [{ day: point.day, accuracy: point.accuracy }]
      : [];
  });
}

/** How a finding was found, with its statistic and threshold: the same words on the check-in card and the alert. */
const methodText = (method: string, statistic: number, threshold: unknown) =>
  `${method}: ${statistic.toFixed(3)} (threshold ${String(threshold)})`;

/** A drift alert's exact numbers: each finding's summary with its method, statistic and threshold. */
function alertDetails(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((f: unknown) => {
    const finding = f as { summary?: unknown; method?: unknown; statistic?: unknown; threshold?: unknown } | null;
    if (!finding || typeof finding.summary !== 'string') return [];
    const method =
      typeof finding.method === 'string' && typeof finding.statistic === 'number'
        ? ` · ${methodText(finding.method, finding.statistic, finding.threshold)}`
        : '';
    return [`${finding.summary}${method}`];
  });
}

/** The check-in review and alert cards, for one viewer. */
export class SupervisionCards implements AlertPresenter, CheckInPresenter {
  /**
   * @param charts signs links to the trend charts' images (`/charts/<id>.png`); only when Roster
   * has a public URL (`ROSTER_PUBLIC_URL`) that chat clients can fetch them from. Without it the
   * Slack cards keep the text sparkline.
   */
  constructor(
    private readonly org: OrgConfig,
    private readonly charts?: ChartLinks,
  ) {}

  /** A check-in's daily accuracy with the agent's baseline and alert thresholds (the image behind its link). */
  checkInChart(record: CheckInRecord, agent: AgentRecord | undefined): TrendChartData | undefined {
    return accuracyTrend(record.trendSeries, accuracyGuides(this.org, agent));
  }

  /** A drift alert's stored daily accuracy with the agent's baseline and thresholds (none for an unregistered agent). */
  alertChart(alert: AlertRecord, agent: AgentRecord | undefined): TrendChartData | undefined {
    return accuracyTrend(storedSeries(alert.details.trend), accuracyGuides(this.org, agent));
  }

  /** The image block's link and words, when charts are served and there is a trend. */
  private chartImage(id: string, chart: TrendChartData | undefined) {
    return this.charts && chart ? { chartImage: { url: this.charts.url(id), alt: chartAltText(chart) } } : {};
  }

  /** "Show the numbers" on a check-in (Slack): each finding's exact summary with its method, statistic and threshold. */
  checkInNumbers(record: CheckInRecord, agent: AgentRecord): CardOf<'notice'> {
    const lines = record.findings.map((f) => `• ${f.summary}\n   ${methodText(f.method, f.statistic, f.threshold)}`);
    const metrics = record.metrics.map((m) => `• ${m.metric}: ${m.baseline} → ${m.current}`);
    return noticeCard({
      level: 'info',
      title: `The numbers behind ${agent.name}'s check-in`,
      text: [
        `${day(record.window.currentFrom)} – ${day(record.window.to)} against the baseline window from ${day(record.window.baselineFrom)}.`,
        lines.length ? lines.join('\n') : 'No findings: every metric held.',
        ...(metrics.length ? [`Metric · baseline → current\n${metrics.join('\n')}`] : []),
      ].join('\n\n'),
    });
  }

  /** "Show the numbers" on an alert (Slack): the statistics behind its summary. */
  alertNumbers(alert: AlertRecord, agentName: string): CardOf<'notice'> {
    const details = alertDetails(alert.details.findings);
    return noticeCard({
      level: 'info',
      title: `The numbers behind the ${alert.kind} alert for ${agentName}`,
      text: details.length ? details.map((d) => `• ${d}`).join('\n') : alert.summary,
    });
  }

  checkIn(record: CheckInRecord, agent: AgentRecord, viewer: string): CardOf<'checkin'> {
    const person = findPersonByEmail(this.org, viewer);
    const canDecide = Boolean(person && mayDecideCheckIn(person, agent));
    const canNote = record.findings.length > 0 && Boolean(person && mayAddKnowledgeNote(this.org, person, agent));
    const canReadDecisions = record.findings.length > 0 && Boolean(person && isDecisionReader(person, agent.sponsors));
    const chart = accuracyChart(record.trendSeries);
    const image = this.chartImage(record.id, this.checkInChart(record, agent));
    return checkInCard({
      checkInId: record.id,
      agentId: agent.id,
      agentName: agent.name,
      roleTitle: roleById(this.org, agent.catalogRoleId)?.title ?? agent.catalogRoleId,
      verdict: record.verdict,
      recommendation: record.recommendation,
      windowLabel: `${day(record.window.currentFrom)} – ${day(record.window.to)} against the ${Math.round((Date.parse(record.window.currentFrom) - Date.parse(record.window.baselineFrom)) / 86_400_000)} days before`,
      statusLabel: agent.status,
      metrics: record.metrics,
      findings: record.findings.map((f) => ({
        severity: f.severity,
        plain: findingInWords(f),
        summary: f.summary,
        method: methodText(f.method, f.statistic, f.threshold),
      })),
      trend: record.trend,
      ...(chart ? { chart } : {}),
      ...image,
      ...(record.measured
        ? {
            measuredLabel: `accuracy ${record.measured.accuracy.toFixed(3)} on ${record.measured.cases} cases, re-run ${day(record.measured.at)}${
              record.measured.baseline
                ? ` (${record.measured.baseline.source === 'measured' ? 'admitted at' : 'recorded baseline'} ${record.measured.baseline.accuracy.toFixed(3)})`
                : ''
            }`,
          }
        : {}),
      ...(record.decision
        ? {
            decision: {
              choice: record.decision.choice,
              by: personName(this.org, record.decision.by),
              at: displayDate(record.decision.at),
            },
          }
        : {}),
      canDecide,
      canNote,
      canReadDecisions,
    });
  }

  alert(alert: AlertRecord, viewer: string): CardOf<'alert'> {
    const levels = this.org.rotations.find((r) => r.id === alert.rotation)?.levels ?? [];
    const paged = (levels[alert.level] ?? []).map((e) => personName(this.org, e));
    const person = findPersonByEmail(this.org, viewer);
    const responder = Boolean(person && isAlertResponder(this.org, person, alert.rotation));
    const name = (email?: string) => personName(this.org, email);
    // "Acknowledged by Liam O'Neill via PagerDuty"; "by PagerDuty" alone when the responder is not in the directory.
    const via = (by: string | undefined, provider: string | undefined) => {
      const pager = provider ? PAGER_NAMES[provider as PagerProvider] : undefined;
      return pager && by !== pager ? ` via ${pager}` : '';
    };
    const sponsor = typeof alert.details.sponsor === 'string' ? alert.details.sponsor : undefined;
    const registration = typeof alert.details.registrationRunId === 'string' ? alert.details.registrationRunId : undefined;
    const stateLabel =
      [
        alert.status === 'acknowledged'
          ? `Acknowledged by ${name(alert.acknowledgedBy)}${via(alert.acknowledgedBy, alert.acknowledgedVia)} on ${displayDate(alert.acknowledgedAt!)}; escalation stopped.`
          : alert.status === 'snoozed'
            ? `Snoozed until ${displayDate(alert.snoozedUntil!)}.`
            : alert.status === 'resolved'
              ? `Resolved by ${name(alert.resolvedBy)}${via(alert.resolvedBy, alert.resolvedVia)} on ${displayDate(alert.resolvedAt!)}.`
              : '',
        sponsor ? `Sponsor: ${name(sponsor)}.` : '',
        registration ? `Registration requested by ${name(String(alert.details.registrationBy ?? ''))} (request ${registration}).` : '',
      ]
        .filter(Boolean)
        .join(' ') || undefined;
    const open = alert.status !== 'resolved';
    const trend = storedSeries(alert.details.trend);
    const trendChart = accuracyChart(trend);
    const registered = alert.kind !== 'shadow' && alert.kind !== 'retired-key';
    const reader = Boolean(person && isDecisionReader(person, []));
    const agentActions: Array<'alert_register' | 'alert_assign_sponsor' | 'alert_note' | 'alert_decisions' | 'alert_retire'> = [];
    if (open && !registration && person && mayRegisterShadow(this.org, person, alert)) agentActions.push('alert_register');
    if (open && responder && (alert.kind === 'shadow' || alert.kind === 'ownerless')) agentActions.push('alert_assign_sponsor');
    if (registered && responder) agentActions.push('alert_note');
    if (registered && reader) agentActions.push('alert_decisions');
    if (open && registered && person && mayRetireFromAlert(person)) agentActions.push('alert_retire');
    return alertCard({
      alertId: alert.id,
      agentId: alert.agentId,
      agentName:
        typeof alert.details.agentName === 'string'
          ? alert.details.agentName
          : alert.kind === 'shadow'
            ? 'Unregistered agent'
            : alert.agentId,
      kind: alert.kind,
      severity: alert.severity,
      status: alert.status,
      summary: alert.summary,
      details: alertDetails(alert.details.findings).slice(0, 10),
      ...(trendChart ? { chart: trendChart } : {}),
      // The words need no agent: the image, drawn when fetched, adds its baseline and thresholds.
      ...this.chartImage(alert.id, this.alertChart(alert, undefined)),
      trend: sparkline(trend.map((p) => p.accuracy)),
      levelLabel: `Level ${alert.level + 1} of ${levels.length}${alert.loops ? ` (round ${alert.loops + 1})` : ''} · ${paged.join(', ') || 'nobody'}`,
      raisedAt: displayDate(alert.createdAt),
      ...(alert.occurrences > 1 ? { occurrencesLabel: `seen ${alert.occurrences} times` } : {}),
      ...(stateLabel ? { stateLabel } : {}),
      canRespond: responder && (alert.status === 'open' || alert.status === 'snoozed'),
      canSuspend: alert.kind !== 'shadow' && alert.kind !== 'retired-key',
      canBlock: responder && alert.kind === 'shadow' && alert.status !== 'resolved',
      agentActions,
    });
  }
}

/**
 * The chart behind `/charts/<id>.png`: a check-in's (`chk_…`) or an alert's (`alr_…`) trend with
 * its agent's baseline and thresholds; undefined for any other id or a record that is gone.
 */
export function trendChartOf(
  cards: SupervisionCards,
  records: {
    checkIn(id: CheckInId): Promise<CheckInRecord | undefined>;
    alert(id: AlertId): Promise<AlertRecord | undefined>;
    agent(id: AgentId): Promise<AgentRecord | undefined>;
  },
): (id: string) => Promise<TrendChartData | undefined> {
  return async (id) => {
    const checkInId = id.startsWith('chk_') ? idOrUndefined('CheckInId', id) : undefined;
    if (checkInId) {
      const record = await records.checkIn(checkInId);
      return record && cards.checkInChart(record, await records.agent(record.agentId));
    }
    const alertId = id.startsWith('alr_') ? idOrUndefined('AlertId', id) : undefined;
    const alert = alertId ? await records.alert(alertId) : undefined;
    return alert && cards.alertChart(alert, await records.agent(alert.agentId));
  };
}
