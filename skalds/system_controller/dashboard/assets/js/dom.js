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

export function clear(element) {
  element.replaceChildren();
  return element;
}

export const STATUSES = ['Created', 'Assigning', 'Running', 'Paused', 'Finished', 'Failed', 'Cancelled'];

export function statusBadge(status) {
  return h('span', { class: `badge status-${String(status || 'unknown').toLowerCase()}`, text: status || '—',
    dataset: { status: status || '' } });
}

/** The status, and what the user asked that its node has not carried out yet (a pending cancel, pause, resume). */
export function statusBadges(task) {
  const badges = [statusBadge(task.lifecycleStatus)];
  if (task.pending) {
    badges.push(' ', h('span', { class: 'pending-request', text: `→ ${task.desiredStatus}`,
      title: `${task.desiredStatus} requested; pending until its node has done it`,
      dataset: { pending: task.desiredStatus } }));
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
