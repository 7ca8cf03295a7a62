// The task page's progress panel: a bar for the fraction the worker last reported (report_progress),
// its message, and a small line chart per metric it reports (fps, dropped...), from
// /api/tasks/{id}/metrics, read again every few seconds while the page is open (from `start()`, once the
// page has shown the task). Plain SVG.
import { api } from '../api.js';
import { h } from '../dom.js';

const POLL_MS = 2000;
const W = 220;
const H = 56;

function number(value) {
  if (!Number.isFinite(value)) return '—';
  return Math.abs(value) >= 1000 || Number.isInteger(value) ? String(Math.round(value)) : value.toPrecision(3);
}

// One metric over the series: a polyline scaled to its own range, with the last value beside it.
function metricChart(name, points) {
  const values = points.map((point) => point.metrics[name]).filter((value) => Number.isFinite(value));
  const times = points.filter((point) => Number.isFinite(point.metrics[name])).map((point) => point.at);
  const svg = h('svg:svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, class: 'metric-chart', role: 'img',
    'aria-label': `${name} over time` });
  if (values.length) {
    const low = Math.min(...values);
    const high = Math.max(...values);
    const span = high - low || 1;
    const first = times[0];
    const width = Math.max(1, times[times.length - 1] - first);
    const x = (ms) => (values.length === 1 ? W / 2 : 2 + ((ms - first) / width) * (W - 4));
    const y = (value) => H - 4 - ((value - low) / span) * (H - 8);
    const coords = values.map((value, index) => `${x(times[index]).toFixed(1)},${y(value).toFixed(1)}`);
    svg.append(values.length === 1
      ? h('svg:circle', { cx: x(times[0]), cy: y(values[0]), r: 3, class: 'metric-line' })
      : h('svg:polyline', { points: coords.join(' '), class: 'metric-line', fill: 'none' }));
  }
  return h('figure', { class: 'metric', dataset: { metric: name } },
    h('figcaption', {}, h('span', { class: 'metric-name', text: name }), ' ',
      h('span', { class: 'metric-value mono', dataset: { field: 'metric-value' },
        text: number(values[values.length - 1]) })), svg);
}

export function progressPanel(taskId) {
  const fill = h('div', { class: 'progress-fill' });
  const bar = h('div', { class: 'progress-bar', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100',
    'aria-label': 'Progress', dataset: { field: 'progress-bar' } }, fill);
  const label = h('span', { class: 'progress-label mono', dataset: { field: 'progress-percent' } });
  const message = h('p', { class: 'progress-message', dataset: { field: 'progress-message' } });
  const charts = h('div', { class: 'metric-charts' });
  const element = h('section', { class: 'panel', 'aria-labelledby': 'progress-title', hidden: true,
    dataset: { panel: 'progress' } }, h('h3', { id: 'progress-title', text: 'Progress' }),
  h('div', { class: 'progress-row' }, bar, label), message, charts);
  let stopped = false;
  let started = false;
  let timer = null;

  function render(data) {
    const latest = data.latest;
    element.hidden = !latest;
    if (!latest) return;
    const known = Number.isFinite(latest.fraction);
    const percent = known ? Math.round(latest.fraction * 1000) / 10 : null;
    bar.hidden = !known;
    label.hidden = !known;
    if (known) {
      fill.style.width = `${percent}%`;
      bar.setAttribute('aria-valuenow', String(percent));
      label.textContent = `${percent}%`;
    }
    message.textContent = latest.message || '';
    const series = data.series.length ? data.series : [{ at: latest.at, metrics: latest.metrics }];
    charts.replaceChildren(...Object.keys(latest.metrics).sort().map((name) => metricChart(name, series)));
  }

  async function load() {
    try {
      const data = await api(`api/tasks/${encodeURIComponent(taskId)}/metrics`);
      if (!stopped) render(data);
    } catch {
      // the task page shows the task's own errors; the panel waits for the next read
    }
    if (!stopped) timer = setTimeout(load, POLL_MS);
  }

  return {
    element,
    // Called once the task page has shown the task: the panel's reads never hold up the page's own.
    start() {
      if (!started && !stopped) load();
      started = true;
    },
    close() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
