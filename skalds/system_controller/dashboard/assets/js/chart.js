// A small SVG line chart of task counts by status over time (no chart library needed).
//
// It is drawn at the pixel width of its box (the caller redraws when that changes), so its labels
// keep their real size on a phone instead of shrinking with a scaled-down picture. Counts are whole
// numbers, so the value axis only has whole-number ticks.
import { h } from './dom.js';

const FONT_PX = 12;
const PAD = { top: 12, right: 14, bottom: 28 };
const MIN_WIDTH = 260;
const STEPS = [1, 2, 5];

/** A whole-number tick step that gives at most `most` steps up to `max`, and the axis top it reaches. */
export function integerTicks(max, most = 4) {
  const value = Number.isFinite(max) ? Math.max(1, Math.ceil(max)) : 1; // never loop on NaN
  let step = 1;
  for (let power = 1; ; power *= 10) {
    const found = STEPS.map((base) => base * power).find((candidate) => Math.ceil(value / candidate) <= most);
    if (found) {
      step = found;
      break;
    }
  }
  const top = Math.ceil(value / step) * step;
  const ticks = [];
  for (let tick = 0; tick <= top; tick += step) ticks.push(tick);
  return { top, ticks };
}

function clock(ms, seconds) {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit',
    second: seconds ? '2-digit' : undefined });
}

// Time labels spaced so they never touch: about one per 110 px, the first and last pinned to the ends.
function timeLabels(times, plotW) {
  if (!times.length) return [];
  const first = times[0];
  const last = times[times.length - 1];
  const count = last === first ? 1 : Math.max(2, Math.min(6, Math.floor(plotW / 110) + 1));
  const seconds = last - first < 10 * 60000;
  return Array.from({ length: count }, (_, index) => {
    const ms = count === 1 ? first : first + ((last - first) * index) / (count - 1);
    const anchor = count === 1 || index === 0 ? 'start' : index === count - 1 ? 'end' : 'middle';
    return { ms, anchor, text: clock(ms, seconds) };
  });
}

// series: [{name, values: [number]}], times: [ms]; hidden: Set of names not drawn; width: the box's px.
export function lineChart({ times, series, hidden = new Set(), label, width = 640 }) {
  const W = Math.max(MIN_WIDTH, Math.round(width));
  const H = Math.round(Math.min(260, Math.max(180, W * 0.38)));
  const svg = h('svg:svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, class: 'chart', role: 'img',
    'aria-label': label });
  const shown = series.filter((item) => !hidden.has(item.name));
  const { top, ticks } = integerTicks(Math.max(0, ...shown.flatMap((item) => item.values)), H < 220 ? 3 : 4);
  const left = 10 + FONT_PX * 0.62 * String(top).length;
  const plotW = W - left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const first = times[0];
  const span = Math.max(1, times[times.length - 1] - first);
  const x = (ms) => left + ((ms - first) / span) * plotW;
  const y = (value) => PAD.top + plotH - (value / top) * plotH;

  for (const tick of ticks) {
    svg.append(h('svg:line', { x1: left, x2: W - PAD.right, y1: y(tick), y2: y(tick), class: 'grid' }));
    svg.append(h('svg:text', { x: left - 6, y: y(tick) + FONT_PX / 3, class: 'axis tick', 'text-anchor': 'end',
      text: String(tick) }));
  }
  for (const item of timeLabels(times, plotW)) {
    svg.append(h('svg:text', { x: item.anchor === 'start' ? left : x(item.ms), y: H - 8, class: 'axis time',
      'text-anchor': item.anchor, text: item.text }));
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
