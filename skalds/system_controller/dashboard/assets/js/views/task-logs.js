// The task page's live log tail: the last lines of every attempt, then new ones as the worker writes
// them (SSE from /api/tasks/{id}/logs/stream; EventSource resumes after the last line by itself).
// A level filter and a search narrow it on the server; the view stops following the bottom while
// paused or while the reader scrolled up; Download saves the lines that match as a text file.
import { url } from '../api.js';
import { auth } from '../auth.js';
import { debounce, h } from '../dom.js';

const MAX_LINES = 2000; // kept on the page; older ones scroll away (Download reads the stored log)
const LEVELS = [['', 'All levels'], ['debug', 'Debug and above'], ['info', 'Info and above'],
  ['warning', 'Warnings and errors'], ['error', 'Errors']];

// On the page the local time of day with milliseconds; in a download the full UTC time.
function lineText(line, full = false) {
  const date = new Date(line.ts);
  const when = full ? date.toISOString() : `${date.toLocaleTimeString([], { hour12: false })}.${
    String(date.getMilliseconds()).padStart(3, '0')}`;
  return `${when} ${line.level.padEnd(8)} #${line.attempt} ${line.text}`;
}

export function logTail(taskId) {
  const level = h('select', { 'aria-label': 'Level', dataset: { control: 'log-level' } },
    ...LEVELS.map(([value, label]) => h('option', { value, text: label })));
  const search = h('input', { type: 'search', placeholder: 'Search the log', 'aria-label': 'Search the log',
    dataset: { control: 'log-search' } });
  const pause = h('button', { type: 'button', class: 'button ghost', text: 'Pause scroll', 'aria-pressed': 'false',
    dataset: { action: 'log-pause' } });
  const download = h('button', { type: 'button', class: 'button ghost', text: 'Download',
    dataset: { action: 'log-download' } });
  const state = h('span', { class: 'muted log-state', 'aria-live': 'polite', text: 'connecting…' });
  const box = h('div', { class: 'log-lines mono', role: 'log', tabindex: '0', 'aria-label': 'Task log' });
  const element = h('section', { class: 'panel', 'aria-labelledby': 'logs-title' },
    h('h3', { id: 'logs-title', text: 'Logs' }),
    h('div', { class: 'log-controls actions' }, level, search, pause, download, state), box);
  let source = null;
  let paused = false;
  // follows the newest line until the reader scrolls up; known from scroll events, as lines that arrive
  // before the box is on the page (or painted) leave it taller than its view without having moved
  let following = true;

  const filters = () => ({ level: level.value, q: search.value.trim(), token: auth.token() });
  const atBottom = () => box.scrollHeight - box.scrollTop - box.clientHeight < 24;

  function add(line) {
    box.append(h('div', { class: `log-line level-${line.level.toLowerCase()}`,
      dataset: { level: line.level, attempt: String(line.attempt), id: line.id }, text: lineText(line) }));
    while (box.childElementCount > MAX_LINES) box.firstElementChild.remove();
    if (!paused && following) box.scrollTop = box.scrollHeight;
  }
  box.addEventListener('scroll', () => { following = atBottom(); });

  function connect() {
    if (source) source.close();
    box.replaceChildren();
    following = true;
    source = new EventSource(url(`api/tasks/${encodeURIComponent(taskId)}/logs/stream`, filters()));
    source.addEventListener('open', () => { state.textContent = 'live'; });
    source.addEventListener('error', () => { state.textContent = 'reconnecting…'; });
    source.addEventListener('message', (message) => {
      try {
        add(JSON.parse(message.data));
      } catch {
        // not a line: ignore
      }
    });
  }

  pause.addEventListener('click', () => {
    paused = !paused;
    pause.textContent = paused ? 'Resume scroll' : 'Pause scroll';
    pause.setAttribute('aria-pressed', String(paused));
    if (!paused) box.scrollTop = box.scrollHeight;
  });
  download.addEventListener('click', async () => {
    const headers = auth.token() ? { Authorization: `Bearer ${auth.token()}` } : {};
    const { level: lvl, q } = filters();
    let page;
    try {
      const response = await fetch(url(`api/tasks/${encodeURIComponent(taskId)}/logs`, { level: lvl, q, limit: 5000 }),
        { headers });
      if (!response.ok) throw new Error(`the server answered ${response.status}`);
      page = await response.json();
    } catch (error) {
      state.textContent = `download failed: ${error.message}`;
      return;
    }
    const text = (page.lines || []).map((line) => lineText(line, true)).join('\n');
    const blob = new Blob([`${text}\n`], { type: 'text/plain' });
    const link = h('a', { href: URL.createObjectURL(blob), download: `${taskId}.log` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  });
  level.addEventListener('change', connect);
  const searchSoon = debounce(connect, 300);
  search.addEventListener('input', searchSoon);
  connect();
  return { element, close: () => { searchSoon.cancel(); if (source) source.close(); } };
}
