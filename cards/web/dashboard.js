/* global document, CSS, uPlot -- a browser script: the page provides these (uPlot from /dashboard/assets/uplot.js). */
/*
 * The fleet dashboard's trend charts, drawn with uPlot (served by Roster from node_modules at
 * /dashboard/assets/uplot.js; the page's CSP allows scripts from Roster only). The data comes
 * from the page's JSON block: per agent, days (UTC, yyyy-mm-dd), daily accuracy (0..1), and the
 * guides (baseline and the watch and degraded thresholds below which a check-in reports drift).
 */
(function () {
  'use strict';
  var source = document.getElementById('chart-data');
  if (!source || typeof uPlot !== 'function') return;
  var trends = JSON.parse(source.textContent || '[]');
  var COLOURS = { baseline: '#57606a', watch: '#bf8700', degraded: '#cf222e' };
  var DASH = { baseline: [6, 4], watch: [4, 4], degraded: [4, 4] };
  var MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  var pct = function (v) {
    return v == null ? '–' : Math.round(v * 1000) / 10 + '%';
  };
  var day = function (ts) {
    var d = new Date(ts * 1000);
    return d.getUTCDate() + ' ' + MONTHS[d.getUTCMonth()];
  };

  trends.forEach(function (trend) {
    var box = document.querySelector('[data-chart="' + CSS.escape(trend.agentId) + '"]');
    if (!box) return;
    var xs = trend.days.map(function (day) {
      return Date.parse(day + 'T00:00:00Z') / 1000;
    });
    var data = [xs, trend.accuracy];
    var series = [
      { label: 'Date', value: '{D} {MMM} {YYYY}' },
      { label: 'Accuracy', stroke: '#0969da', width: 2, points: { show: true, size: 5 }, value: function (u, v) { return pct(v); } },
    ];
    trend.guides.forEach(function (guide) {
      data.push(xs.map(function () { return guide.value; }));
      series.push({
        // The legend shows the value beside the name: "Baseline: 92%".
        label: guide.label.replace(/ [\d.]+%$/, ''),
        stroke: COLOURS[guide.kind] || '#57606a',
        dash: DASH[guide.kind] || [4, 4],
        width: 1.5,
        points: { show: false },
        value: function () { return pct(guide.value); },
      });
    });
    var values = trend.accuracy.concat(trend.guides.map(function (g) { return g.value; }));
    var low = Math.max(0, Math.min.apply(null, values) - 0.03);
    var high = Math.min(1, Math.max.apply(null, values) + 0.02);
    var chart = new uPlot(
      {
        title: trend.name + ': daily accuracy',
        width: Math.max(320, box.clientWidth),
        height: 240,
        tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'); },
        scales: { x: { time: true }, y: { range: [low, high] } },
        axes: [
          {
            label: 'Date (UTC)',
            stroke: '#4a5a6a',
            grid: { stroke: '#eef1f4' },
            // Whole days only: a tick between two days would repeat a label.
            incrs: [86400, 2 * 86400, 7 * 86400, 14 * 86400],
            values: function (u, ticks) {
              var labels = ticks.map(day);
              box.setAttribute('data-x-ticks', labels.join('|'));
              return labels;
            },
          },
          {
            label: 'Accuracy (%)',
            stroke: '#4a5a6a',
            grid: { stroke: '#eef1f4' },
            values: function (u, ticks) {
              var labels = ticks.map(pct);
              box.setAttribute('data-y-ticks', labels.join('|'));
              return labels;
            },
            size: 60,
          },
        ],
        series: series,
      },
      data,
      box,
    );
    box.setAttribute('data-rendered', 'true');
    box.setAttribute('data-series', chart.series.map(function (s) { return s.label; }).join('|'));
  });
})();
