// A small SVG line chart of task counts by status over time (no chart library needed).
import { h } from './dom.js';

const WIDTH = 640;
const HEIGHT = 220;
const PAD = { top: 12, right: 12, bottom: 26, left: 40 };

function niceMax(value) {
  if (value <= 4) return 4;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * power >= value) return step * power;
  }
  return 10 * power;
}

function clock(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

// series: [{name, values: [number]}], times: [ms]; hidden: Set of names not drawn.
export function lineChart({ times, series, hidden = new Set(), label }) {
  const svg = h('svg:svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: 'chart', role: 'img', 'aria-label': label });
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const shown = series.filter((item) => !hidden.has(item.name));
  const top = niceMax(Math.max(0, ...shown.flatMap((item) => item.values)));
  const first = times[0];
  const span = Math.max(1, times[times.length - 1] - first);
  const x = (ms) => PAD.left + ((ms - first) / span) * plotW;
  const y = (value) => PAD.top + plotH - (value / top) * plotH;

  for (const tick of [0, top / 2, top]) {
    svg.append(h('svg:line', { x1: PAD.left, x2: WIDTH - PAD.right, y1: y(tick), y2: y(tick), class: 'grid' }));
    svg.append(h('svg:text', { x: PAD.left - 6, y: y(tick) + 4, class: 'axis', 'text-anchor': 'end',
      text: String(Math.round(tick * 10) / 10) }));
  }
  if (times.length) {
    svg.append(h('svg:text', { x: PAD.left, y: HEIGHT - 6, class: 'axis', text: clock(first) }));
    svg.append(h('svg:text', { x: WIDTH - PAD.right, y: HEIGHT - 6, class: 'axis', 'text-anchor': 'end',
      text: clock(times[times.length - 1]) }));
  }
  for (const item of shown) {
    const points = item.values.map((value, index) => `${x(times[index]).toFixed(1)},${y(value).toFixed(1)}`);
    if (points.length === 1) {
      svg.append(h('svg:circle', { cx: x(times[0]), cy: y(item.values[0]), r: 3,
        class: `series status-${item.name.toLowerCase()}` }));
    } else {
      svg.append(h('svg:polyline', { points: points.join(' '), class: `series status-${item.name.toLowerCase()}` }));
    }
  }
  return svg;
}
