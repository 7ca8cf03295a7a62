// Tasks: server-side pagination (by cursor), filters (id substring, class, status, executor) and sorting,
// all kept in the address (#/tasks?status=Running&sort=priority&order=asc&page=2) so reload,
// back/forward and shared links show the same list. Heartbeats update rows in place; status
// changes re-read the current page (at most once a second) since they can move rows. Admins can
// select rows and cancel or retry them together (bulk-actions.js).
import { api } from '../api.js';
import { auth } from '../auth.js';
import { STATUSES, debounce, empty, errorSummary, failure, h, loading, nodeLink, refreshTimes, relativeTime,
  statusBadges, taskLink, throttle } from '../dom.js';
import { live } from '../live.js';
import { bulkActions } from './bulk-actions.js';

const COLUMNS = [
  { key: 'id', title: 'Task', sort: 'id' },
  { key: 'className', title: 'Class', sort: 'className' },
  { key: 'lifecycleStatus', title: 'Status', sort: 'lifecycleStatus' },
  { key: 'progress', title: 'Progress' },
  { key: 'executor', title: 'Executor', sort: 'executor' },
  { key: 'attempt', title: 'Attempt' },
  { key: 'error', title: 'Error' },
  { key: 'heartbeat', title: 'Heartbeat' },
  { key: 'priority', title: 'Priority', sort: 'priority' },
  { key: 'createDateTime', title: 'Created', sort: 'createDateTime' },
  { key: 'updateDateTime', title: 'Updated', sort: 'updateDateTime' },
];
const SIZES = [10, 20, 50, 100];
const ERROR_CHARS = 120; // the list shows an error's summary line; the task page has all of it
const DEFAULTS = { id: '', className: '', status: '', executor: '', sort: 'createDateTime', order: 'desc', page: '1',
  size: '20' };

function readQuery(query) {
  const state = { ...DEFAULTS, ...query };
  if (!COLUMNS.some((column) => column.sort === state.sort)) state.sort = DEFAULTS.sort;
  if (!['asc', 'desc'].includes(state.order)) state.order = DEFAULTS.order;
  if (!SIZES.includes(Number(state.size))) state.size = DEFAULTS.size;
  if (!(Number(state.page) >= 1)) state.page = '1';
  if (state.status && !STATUSES.includes(state.status)) state.status = '';
  return state;
}

function writeQuery(state) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(state)) if (value && value !== DEFAULTS[key]) params.set(key, value);
  const search = params.toString();
  const target = `#/tasks${search ? `?${search}` : ''}`;
  if (location.hash !== target) history.replaceState(null, '', target);
}

function label(text, control) {
  control.id = `filter-${control.name}`;
  return h('div', { class: 'field' }, h('label', { for: control.id, text }), control);
}

export function mount(container, route) {
  const state = readQuery(route.query);
  const results = h('div', { class: 'panel', 'aria-live': 'polite', 'aria-busy': 'true' }, loading());
  let stopped = false;
  let controller = null;
  let rows = new Map();
  let cursors = new Map(); // page number -> the cursor that reads it
  let cursorKey = '';
  const admin = auth.isAdmin;
  const bulk = admin ? bulkActions({ reload: () => load(true) }) : null;

  const idInput = h('input', { type: 'search', name: 'id', value: state.id, placeholder: 'part of an id',
    autocomplete: 'off', maxlength: 200 });
  const classSelect = h('select', { name: 'className' }, h('option', { value: '', text: 'any class' }));
  const statusSelect = h('select', { name: 'status' }, h('option', { value: '', text: 'any status' }),
    STATUSES.map((status) => h('option', { value: status, text: status, selected: state.status === status })));
  const executorInput = h('input', { type: 'search', name: 'executor', value: state.executor, list: 'executor-list',
    placeholder: 'node id', autocomplete: 'off', maxlength: 200 });
  const executorList = h('datalist', { id: 'executor-list' });
  const sizeSelect = h('select', { name: 'size' }, SIZES.map((size) => h('option', { value: String(size),
    text: `${size} per page`, selected: String(size) === state.size })));
  const sortSelect = h('select', { name: 'sort' }, COLUMNS.filter((column) => column.sort).map((column) =>
    h('option', { value: column.sort, text: column.title, selected: state.sort === column.sort })));
  const orderSelect = h('select', { name: 'order' }, h('option', { value: 'desc', text: 'descending',
    selected: state.order === 'desc' }), h('option', { value: 'asc', text: 'ascending', selected: state.order === 'asc' }));
  const reset = h('button', { type: 'button', class: 'button ghost', text: 'Clear filters' });

  const filters = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter tasks',
    onsubmit: (event) => { event.preventDefault(); changed(); } },
  label('Id contains', idInput), label('Class', classSelect), label('Status', statusSelect),
  label('Executor', executorInput), executorList, label('Sort by', sortSelect), label('Order', orderSelect),
  label('Page size', sizeSelect), reset);

  container.append(h('div', { class: 'view-head' }, h('h2', { text: 'Tasks' }),
    h('a', { href: '#/create', class: 'button primary', 'data-admin': true, text: 'New task',
      hidden: !document.body.dataset.role || document.body.dataset.role !== 'admin' })), filters,
    ...(bulk ? [bulk.toolbar, bulk.results] : []), results);

  function changed() {
    state.id = idInput.value.trim();
    state.className = classSelect.value;
    state.status = statusSelect.value;
    state.executor = executorInput.value.trim();
    state.size = sizeSelect.value;
    state.page = '1';
    load();
  }
  const typed = debounce(changed, 300);
  idInput.addEventListener('input', typed);
  executorInput.addEventListener('input', typed);
  for (const select of [classSelect, statusSelect, sizeSelect]) select.addEventListener('change', changed);
  sortSelect.addEventListener('change', () => { state.sort = sortSelect.value; state.page = '1'; load(); });
  orderSelect.addEventListener('change', () => { state.order = orderSelect.value; state.page = '1'; load(); });
  reset.addEventListener('click', () => {
    idInput.value = '';
    classSelect.value = '';
    statusSelect.value = '';
    executorInput.value = '';
    changed();
  });

  function sortBy(key) {
    if (state.sort === key) state.order = state.order === 'asc' ? 'desc' : 'asc';
    else {
      state.sort = key;
      state.order = key === 'createDateTime' || key === 'updateDateTime' || key === 'priority' ? 'desc' : 'asc';
    }
    sortSelect.value = state.sort;
    orderSelect.value = state.order;
    state.page = '1';
    load();
  }

  function header() {
    return h('tr', {}, bulk ? h('th', { scope: 'col', class: 'select-cell' }, bulk.headBox()) : null,
      COLUMNS.map((column) => {
      if (!column.sort) return h('th', { scope: 'col', text: column.title });
      const active = state.sort === column.sort;
      const direction = state.order === 'asc' ? 'ascending' : 'descending';
      return h('th', { scope: 'col', 'aria-sort': active ? direction : 'none' },
        h('button', { type: 'button', class: 'sort', onclick: () => sortBy(column.sort),
          'aria-label': `Sort by ${column.title}${active ? `, now ${direction}` : ''}` },
        column.title, h('span', { class: 'sort-mark', 'aria-hidden': 'true',
          text: active ? (state.order === 'asc' ? ' ▲' : ' ▼') : '' })));
      }));
  }

  function errorCell(task) {
    if (!task.error) return h('td', { 'data-label': 'Error', class: 'error-cell' }, h('span', { class: 'muted', text: '—' }));
    const line = errorSummary(task.error);
    return h('td', { 'data-label': 'Error', class: 'error-cell' }, h('span', { class: 'error-text',
      title: String(task.error).slice(0, 2000),
      text: line.length > ERROR_CHARS ? `${line.slice(0, ERROR_CHARS - 1)}…` : line }));
  }

  function heartbeatCell(task) {
    return h('span', { class: 'heartbeat mono', dataset: { beat: String(task.heartbeat) }, text: String(task.heartbeat) });
  }

  // The fraction its worker last reported (report_progress): a small bar and the percent, or a dash.
  function progressCell(fraction, message) {
    if (!Number.isFinite(fraction)) return h('span', { class: 'muted', text: '—' });
    const percent = Math.round(fraction * 1000) / 10;
    const fill = h('span', { class: 'progress-fill' });
    fill.style.width = `${percent}%`; // through the CSSOM: the page's CSP refuses style attributes
    return h('span', { class: 'progress-cell', title: message || null, dataset: { progress: String(percent) } },
      h('span', { class: 'progress-bar', role: 'progressbar', 'aria-valuenow': String(percent), 'aria-valuemin': '0',
        'aria-valuemax': '100', 'aria-label': 'Progress' }, fill), h('span', { class: 'mono small', text: `${percent}%` }));
  }

  function row(task) {
    const status = h('td', { 'data-label': 'Status' }, ...statusBadges(task));
    const progress = h('td', { 'data-label': 'Progress' }, progressCell(task.progress, task.progressMessage));
    const heartbeat = h('td', { 'data-label': 'Heartbeat' }, heartbeatCell(task));
    const element = h('tr', { dataset: { task: task.id, status: task.lifecycleStatus } },
      bulk ? h('td', { 'data-label': 'Select', class: 'select-cell' }, bulk.rowBox(task.id)) : null,
      h('td', { 'data-label': 'Task' }, taskLink(task.id), task.name ? h('div', { class: 'muted small', text: task.name }) : null),
      h('td', { 'data-label': 'Class', text: task.className }),
      status,
      progress,
      h('td', { 'data-label': 'Executor' }, task.executor ? nodeLink(task.executor)
        : h('span', { class: 'muted', text: '—' })),
      h('td', { 'data-label': 'Attempt', class: 'attempt', text: String(task.attempt ?? 0),
        title: task.retryCount ? `${task.retryCount} automatic retr${task.retryCount === 1 ? 'y' : 'ies'}` : null }),
      errorCell(task),
      heartbeat,
      h('td', { 'data-label': 'Priority', text: String(task.priority) }),
      h('td', { 'data-label': 'Created' }, relativeTime(task.createDateTime)),
      h('td', { 'data-label': 'Updated' }, relativeTime(task.updateDateTime)));
    rows.set(task.id, { element, status, heartbeat, progress });
    return element;
  }

  // Pages are read by cursor: each page gives the cursor of the next (kept per page number while the
  // filters and sort stay the same); a page number with no cursor (a reload, a shared link) is read by skip.
  function cursorFor(number) {
    const key = JSON.stringify([state.id, state.className, state.status, state.executor, state.sort, state.order,
      state.size]);
    if (key !== cursorKey) {
      cursors = new Map();
      cursorKey = key;
    }
    return cursors.get(Number(number));
  }

  function pager(page) {
    const more = page.totalIsLowerBound ? '+' : '';
    const pages = Math.max(1, Math.ceil(page.total / page.pageSize), page.page);
    const go = (number) => { state.page = String(number); load(); };
    return h('nav', { class: 'pager', 'aria-label': 'Pages' },
      h('button', { type: 'button', class: 'button', text: '‹ Previous', disabled: page.page <= 1,
        onclick: () => go(page.page - 1) }),
      h('span', { class: 'page-info', text: `Page ${page.page} of ${pages}${more} · ${page.total}${more} tasks` }),
      h('button', { type: 'button', class: 'button', text: 'Next ›', disabled: !page.nextCursor,
        onclick: () => go(page.page + 1) }));
  }

  function render(page) {
    rows = new Map();
    if (bulk) bulk.startRows();
    results.setAttribute('aria-busy', 'false');
    if (!page.items.length) {
      const filtered = state.id || state.className || state.status || state.executor;
      results.replaceChildren(empty(filtered ? 'No task matches these filters.' : 'No tasks yet.',
        filtered ? null : h('a', { href: '#/create', 'data-admin': true, hidden: document.body.dataset.role !== 'admin',
          text: 'Create the first one' })));
      if (bulk) bulk.endRows();
      return;
    }
    results.replaceChildren(
      h('div', { class: 'table-wrap' }, h('table', { class: 'table responsive tasks' },
        h('caption', { class: 'visually-hidden', text: 'Tasks' }),
        h('thead', {}, header()), h('tbody', {}, page.items.map(row)))),
      pager(page));
    if (bulk) bulk.endRows();
  }

  async function load(quiet = false) {
    writeQuery(state);
    if (controller) controller.abort();
    controller = new AbortController();
    if (!quiet) results.setAttribute('aria-busy', 'true');
    try {
      const cursor = cursorFor(state.page);
      const page = await api('api/tasks', { signal: controller.signal, query: {
        page: state.page, pageSize: state.size, id: state.id, className: state.className,
        lifecycleStatus: state.status, executor: state.executor, sortBy: state.sort, sortOrder: state.order,
        cursor } });
      if (stopped) return;
      if (page.nextCursor) cursors.set(page.page + 1, page.nextCursor);
      const pages = Math.max(1, Math.ceil(page.total / page.pageSize));
      if (!cursor && !page.items.length && page.page > pages && page.total > 0) { // the list shrank under us
        state.page = String(pages);
        load(quiet);
        return;
      }
      render(page);
    } catch (error) {
      if (error.name === 'AbortError' || stopped) return;
      results.setAttribute('aria-busy', 'false');
      results.replaceChildren(failure(error, () => load()));
    }
  }

  async function loadChoices() {
    try {
      const [classes, nodes] = await Promise.all([api('api/tasks/classnames'), api('api/skalds')]);
      if (stopped) return;
      const known = new Set(classes);
      for (const node of nodes.items) for (const name of node.supportedTasks) known.add(name);
      classSelect.append(...[...known].sort().map((name) => h('option', { value: name, text: name,
        selected: name === state.className })));
      if (state.className && !known.has(state.className)) {
        classSelect.append(h('option', { value: state.className, text: state.className, selected: true }));
      }
      executorList.replaceChildren(...nodes.items.map((node) => h('option', { value: node.id })));
    } catch {
      // the filters still work as free text; the list itself shows the error if the API is down
    }
  }

  const soon = throttle(() => load(true), 1000);
  const offTask = live.on('task', (event) => {
    const shown = rows.get(event.taskId);
    if (event.name === 'task_heartbeat' && shown) {
      const beat = event.data.heartbeat;
      shown.heartbeat.replaceChildren(heartbeatCell({ heartbeat: beat }));
      if (Number.isFinite(event.data.progress)) shown.progress.replaceChildren(progressCell(event.data.progress));
      const status = event.data.lifecycleStatus;
      if (status && status !== shown.element.dataset.status) soon();
      return;
    }
    if (event.name !== 'task_heartbeat') soon();
  });
  const offResync = live.on('resync', () => load(true));
  const clock = setInterval(() => refreshTimes(results), 5000);
  loadChoices();
  load();
  return () => {
    stopped = true;
    clearInterval(clock);
    if (controller) controller.abort();
    soon.cancel();
    typed.cancel();
    offTask();
    offResync();
  };
}
