// Overview: counts by status, nodes online, assignment and failure rates, and the status chart.
// Each count is a link to the list it counts (the Running card opens #/tasks?status=Running).
import { api } from '../api.js';
import { lineChart } from '../chart.js';
import { STATUSES, failure, h, loading, throttle } from '../dom.js';
import { live } from '../live.js';

const POLL_MS = 5000;

function card(label, value, note, extra = {}) {
  const { href, ...rest } = extra;
  return h(href ? 'a' : 'div', { class: href ? 'card link' : 'card', href, ...rest },
    h('div', { class: 'card-label', text: label }),
    h('div', { class: /[a-z] [a-z]/i.test(String(value)) ? 'card-value words' : 'card-value', text: String(value) }),
    note ? h('div', { class: 'card-note', text: note }) : null);
}

function rateText(rates) {
  if (!rates) return { assigned: '—', failure: '—', window: '' };
  const minutes = Math.max(1, Math.round(rates.windowSeconds / 60));
  return {
    assigned: `${rates.assignedPerMinute}/min`,
    failure: rates.failureRatio === null ? 'no task ended' : `${(rates.failureRatio * 100).toFixed(1)}%`,
    window: `last ${minutes} min: ${rates.assigned} assigned, ${rates.finished} finished, ${rates.failed} failed`,
  };
}

export function mount(container) {
  const heading = h('h2', { text: 'Overview' });
  const cards = h('section', { class: 'cards', 'aria-label': 'Counts', 'aria-live': 'polite' }, loading());
  const hidden = new Set();
  const chartBox = h('div', { class: 'chart-box' });
  const legend = h('div', { class: 'legend', role: 'group', 'aria-label': 'Statuses shown in the chart' });
  const chartNote = h('p', { class: 'muted small' });
  container.append(heading, cards,
    h('section', { class: 'panel', 'aria-labelledby': 'chart-title' },
      h('h3', { id: 'chart-title', text: 'Tasks by status over time' }), legend, chartBox, chartNote));

  let samples = [];
  let rates = null;
  let summary = null;
  let stopped = false;

  function renderCards() {
    if (!summary) return;
    const rate = rateText(rates);
    cards.replaceChildren(
      card('Nodes online', `${summary.onlineSkalds} / ${summary.totalSkalds}`,
        `${summary.nodeSkalds} node, ${summary.edgeSkalds} edge`, { dataset: { metric: 'nodes-online' },
          href: '#/nodes' }),
      card('Tasks', summary.totalTasks, 'all statuses', { dataset: { metric: 'tasks-total' }, href: '#/tasks' }),
      ...STATUSES.map((status) => card(status, summary[`${status.toLowerCase()}Tasks`] ?? 0, null,
        { dataset: { metric: `status-${status.toLowerCase()}` }, href: `#/tasks?status=${status}`,
          title: `Show the ${status} tasks` })),
      card('Assignment rate', rate.assigned, rate.window, { dataset: { metric: 'assignment-rate' } }),
      card('Failure rate', rate.failure, rates ? `${rates.failedPerMinute} failures/min` : null,
        { dataset: { metric: 'failure-rate' } }),
    );
  }

  function renderLegend() {
    legend.replaceChildren(...STATUSES.map((status) => h('button', {
      type: 'button', class: `legend-item status-${status.toLowerCase()}`, 'aria-pressed': String(!hidden.has(status)),
      text: status,
      onclick: () => {
        if (hidden.has(status)) hidden.delete(status);
        else hidden.add(status);
        renderLegend();
        renderChart();
      },
    })));
  }

  function renderChart() {
    if (!samples.length) {
      chartBox.replaceChildren(h('p', { class: 'state empty', text: 'Collecting the first samples…' }));
      return;
    }
    const times = samples.map((sample) => sample.ts);
    const series = STATUSES.map((status) => ({ name: status, values: samples.map((s) => s.counts[status] || 0) }));
    const last = samples[samples.length - 1];
    const describe = STATUSES.map((status) => `${status} ${last.counts[status] || 0}`).join(', ');
    drawnWidth = chartBox.clientWidth;
    chartBox.replaceChildren(lineChart({ times, series, hidden, width: drawnWidth,
      label: `Tasks by status over the last ${Math.round((times[times.length - 1] - times[0]) / 60000)} minutes; now ${describe}` }));
    chartNote.textContent = `${samples.length} samples, one every ${intervalSeconds}s, kept by the controller for an hour.`;
  }

  let intervalSeconds = 5;
  let drawnWidth = 0;
  // drawn at its box's pixel width, so a phone gets readable labels, not a shrunken picture
  const resized = new ResizeObserver(() => {
    if (samples.length && Math.abs(chartBox.clientWidth - drawnWidth) > 8) renderChart();
  });
  resized.observe(chartBox);
  async function loadTimeline() {
    const since = samples.length ? samples[samples.length - 1].ts : 0;
    const timeline = await api('api/dashboard/timeline', { query: { since } });
    intervalSeconds = timeline.intervalSeconds;
    rates = timeline.rates;
    samples = samples.concat(timeline.samples).slice(-720);
  }

  async function loadSummary() {
    summary = await api('api/system/dashboard/summary');
  }

  async function refresh(all = true) {
    try {
      await Promise.all([loadSummary(), all ? loadTimeline() : null]);
      if (stopped) return;
      renderCards();
      if (all) renderChart();
    } catch (error) {
      if (stopped) return;
      cards.replaceChildren(failure(error, () => refresh()));
    }
  }

  const soon = throttle(() => refresh(false), 1000);
  const offTask = live.on('task', (event) => { if (event.name !== 'task_heartbeat') soon(); });
  const offSkald = live.on('skald', (event) => { if (event.name === 'skald_status') soon(); });
  const offResync = live.on('resync', () => refresh());
  const timer = setInterval(() => refresh(), POLL_MS);
  renderLegend();
  renderChart();
  refresh();
  return () => {
    stopped = true;
    resized.disconnect();
    clearInterval(timer);
    soon.cancel();
    offTask();
    offSkald();
    offResync();
  };
}
