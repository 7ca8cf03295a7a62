// Small DOM helpers. Text always goes in through textContent, never innerHTML, so task data
// (ids, errors, attachments) can never inject markup.

export function h(tag, props = {}, ...children) {
  const svg = tag.startsWith('svg:');
  const element = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4))
    : document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') element.setAttribute('class', value);
    else if (key === 'text') element.textContent = value;
    else if (key === 'dataset') Object.assign(element.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') element.addEventListener(key.slice(2), value);
    else if (key in element && !svg && typeof value !== 'string') element[key] = value;
    else element.setAttribute(key, value === true ? '' : String(value));
  }
  append(element, children);
  return element;
}

export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/** replaceChildren that skips null/false/undefined (the DOM's own would show them as the text "null"). */
export function replace(element, ...children) {
  element.replaceChildren();
  return append(element, children);
}

export function clear(element) {
  element.replaceChildren();
  return element;
}

export const STATUSES = ['Created', 'Assigning', 'Running', 'Paused', 'Finished', 'Failed', 'Cancelled'];

export function statusBadge(status) {
  return h('span', { class: `badge status-${String(status || 'unknown').toLowerCase()}`, text: status || '—',
    dataset: { status: status || '' } });
}

/** What a task is shown as: `state` (Cancelling, Pausing while its node carries the request out; Retrying
 *  while a failed task waits for its retry), else the stored status (an older controller sends no state). */
export function shownState(task) {
  return task.state || task.lifecycleStatus;
}

function stateBadge(task) {
  const state = shownState(task);
  const badge = statusBadge(state);
  if (state === 'Retrying') {
    badge.textContent = `Retrying ${(task.retryCount || 0) + 1}/${task.maxRetries || 0}`;
    if (task.nextAttemptAt) badge.title = `failed; retry ${(task.retryCount || 0) + 1} of ${task.maxRetries} at ${formatTime(task.nextAttemptAt)}`;
  } else if (state !== task.lifecycleStatus) {
    badge.title = `${state}: its node is carrying the request out (stored status ${task.lifecycleStatus})`;
  }
  return badge;
}

/** The shown state, what the user asked that its node has not carried out yet (a pending resume; a pending
 *  cancel or pause is the state itself), and whether its node confirms the status now. */
export function statusBadges(task) {
  const badges = [stateBadge(task)];
  if (shownState(task) !== task.lifecycleStatus) {
    badges.push(' ', h('span', { class: 'stored-status muted small', text: `(${task.lifecycleStatus})`,
      dataset: { stored: task.lifecycleStatus } }));
  }
  if (task.pending && shownState(task) === task.lifecycleStatus) {
    badges.push(' ', h('span', { class: 'pending-request', text: `→ ${task.desiredStatus}`,
      title: `${task.desiredStatus} requested; pending until its node has done it`,
      dataset: { pending: task.desiredStatus } }));
  }
  if (task.statusUnconfirmed) { // its node is silent or gone: the status is not a fact right now
    const unknown = task.state === 'Unknown'; // not lost either: its disconnect policy decides when it moves
    badges.push(' ', h('span', { class: 'pending-request unconfirmed', text: unknown ? 'Unknown' : 'unconfirmed',
      title: task.statusUnconfirmed, dataset: unknown ? { shown: 'Unknown' } : {} }));
  }
  return badges;
}

export function onlineBadge(online) {
  return h('span', { class: `badge ${online ? 'online' : 'offline'}`, text: online ? 'online' : 'offline' });
}

export function formatTime(ms) {
  if (!ms) return '—';
  const date = new Date(Number(ms));
  return Number.isNaN(date.getTime()) ? '—' : date.toLocaleString();
}

const ABSOLUTE = { dateStyle: 'medium', timeStyle: 'medium' };

/** "just now", "12 s ago", "3 min ago", "5 h ago", "2 days ago" (or "in 3 min" for a time ahead). */
export function formatRelative(ms, now = Date.now()) {
  if (!ms) return '—';
  const delta = now - Number(ms);
  if (Number.isNaN(delta)) return '—';
  const seconds = Math.round(Math.abs(delta) / 1000);
  if (seconds < 5) return 'just now';
  let text;
  if (seconds < 60) text = `${seconds} s`;
  else if (seconds < 3600) text = `${Math.floor(seconds / 60)} min`;
  else if (seconds < 86400) text = `${Math.floor(seconds / 3600)} h`;
  else text = `${Math.floor(seconds / 86400)} day${seconds < 172800 ? '' : 's'}`;
  return delta >= 0 ? `${text} ago` : `in ${text}`;
}

/** A length of time: "0.4 s", "3.2 s", "42 s", "3 min 12 s", "2 h 5 min", "3 d 4 h". */
export function formatDuration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(Number(ms)) || ms < 0) return '—';
  const seconds = ms / 1000;
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  const whole = Math.round(seconds);
  if (whole < 60) return `${whole} s`;
  if (whole < 3600) return `${Math.floor(whole / 60)} min ${whole % 60} s`;
  if (whole < 86400) return `${Math.floor(whole / 3600)} h ${Math.floor((whole % 3600) / 60)} min`;
  return `${Math.floor(whole / 86400)} d ${Math.floor((whole % 86400) / 3600)} h`;
}

/** A <time> saying how long ago `ms` was, the exact date in its tooltip; `refreshTimes` keeps it current. */
export function relativeTime(ms) {
  if (!ms) return h('span', { class: 'muted', text: '—' });
  const date = new Date(Number(ms));
  if (Number.isNaN(date.getTime())) return h('span', { class: 'muted', text: '—' });
  return h('time', { class: 'relative', datetime: date.toISOString(), title: date.toLocaleString([], ABSOLUTE),
    dataset: { ts: String(Number(ms)) }, text: formatRelative(ms) });
}

/** Rewrites every relative time and running duration under `root` (views call it every few seconds). */
export function refreshTimes(root) {
  const now = Date.now();
  for (const element of root.querySelectorAll('time.relative[data-ts]')) {
    element.textContent = formatRelative(Number(element.dataset.ts), now);
  }
  for (const element of root.querySelectorAll('[data-since]')) {
    element.textContent = formatDuration(now - Number(element.dataset.since));
  }
}

export function formatAge(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '—';
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${seconds % 60}s`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;
  return `${Math.floor(seconds / 86400)}d`;
}

export function loading(text = 'Loading…') {
  return h('p', { class: 'state loading', role: 'status', 'aria-busy': 'true' }, h('span', { class: 'spinner' }), text);
}

export function empty(text, ...extra) {
  return h('div', { class: 'state empty' }, h('p', { text }), ...extra);
}

export function failure(error, retry) {
  return h('div', { class: 'state error', role: 'alert' },
    h('p', { text: error?.message || String(error) }),
    retry ? h('button', { type: 'button', class: 'button', text: 'Try again', onclick: retry }) : null);
}

// Calls `fn` at most once per `wait` ms, always with the latest call's effect (trailing edge).
export function throttle(fn, wait) {
  let timer = null;
  let last = 0;
  const run = () => { timer = null; last = Date.now(); fn(); };
  const call = () => {
    if (timer) return;
    const delay = Math.max(0, last + wait - Date.now());
    timer = setTimeout(run, delay);
  };
  call.cancel = () => { clearTimeout(timer); timer = null; };
  return call;
}

export function debounce(fn, wait) {
  let timer = null;
  const call = (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), wait); };
  call.cancel = () => clearTimeout(timer);
  return call;
}

// Announces a short message to everyone (screen readers included) and fades it out.
export function toast(message, kind = 'info') {
  const region = document.getElementById('toasts');
  if (!region) return;
  const item = h('div', { class: `toast ${kind}`, text: message });
  region.append(item);
  setTimeout(() => item.remove(), kind === 'error' ? 8000 : 4000);
}

export function taskLink(id) {
  return h('a', { href: `#/tasks/${encodeURIComponent(id)}`, class: 'mono', text: id });
}

/** A link to one node on the Nodes page (#/nodes?node=<id>), not to the whole list. */
export function nodeLink(id) {
  return h('a', { href: `#/nodes?node=${encodeURIComponent(id)}`, class: 'mono', text: id, dataset: { nodeLink: id } });
}

/** A modal yes/no question; resolves true when the user confirms. `danger` colours the confirm button. */
export function confirmDialog(message, action, { danger = true } = {}) {
  return new Promise((resolve) => {
    const dialog = h('dialog', { class: 'confirm', 'aria-labelledby': 'confirm-text' },
      h('form', { method: 'dialog' },
        h('p', { id: 'confirm-text', text: message }),
        h('div', { class: 'actions' },
          h('button', { value: 'no', class: 'button ghost', text: 'Keep it' }),
          h('button', { value: 'yes', class: `button ${danger ? 'danger' : 'primary'}`, text: action }))));
    dialog.addEventListener('close', () => { resolve(dialog.returnValue === 'yes'); dialog.remove(); });
    document.body.append(dialog);
    dialog.showModal();
    dialog.querySelector('button[value="no"]').focus();
  });
}

/** The line of an error that says what happened: a traceback's last line, else the first line. */
export function errorSummary(text) {
  const lines = String(text || '').split('\n').map((line) => line.trim()).filter(Boolean);
  if (!lines.length) return '';
  return /^Traceback \(most recent call last\)/.test(lines[0]) ? lines[lines.length - 1] : lines[0];
}
