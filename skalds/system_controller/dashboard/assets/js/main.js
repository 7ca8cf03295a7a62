// The dashboard's entry point: session check and login, the live feed, and a hash router
// (#/overview, #/nodes, #/tasks?…, #/tasks/<id>, #/create) that mounts one view at a time.
import { api } from './api.js';
import { auth } from './auth.js';
import { h, toast } from './dom.js';
import { live } from './live.js';
import * as createTask from './views/create-task.js';
import * as nodes from './views/nodes.js';
import * as overview from './views/overview.js';
import * as taskDetail from './views/task-detail.js';
import * as tasks from './views/tasks.js';

const main = document.getElementById('main');
const STATE_TEXT = { live: 'Live', connecting: 'Connecting…', reconnecting: 'Reconnecting…', offline: 'Offline',
  idle: 'Not connected' };
let unmount = null;

function parseRoute() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, search = ''] = raw.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const query = Object.fromEntries(new URLSearchParams(search));
  if (parts[0] === 'nodes') return { view: nodes, name: 'nodes', query };
  if (parts[0] === 'tasks' && parts.length > 1) return { view: taskDetail, name: 'tasks', id: parts.slice(1).join('/'), query };
  if (parts[0] === 'tasks') return { view: tasks, name: 'tasks', query };
  if (parts[0] === 'create') return { view: createTask, name: 'create', query };
  return { view: overview, name: 'overview', query };
}

function route(event) {
  if (!auth.role) return;
  if (unmount) unmount();
  unmount = null;
  const current = parseRoute();
  for (const link of document.querySelectorAll('[data-nav]')) {
    if (link.dataset.nav === current.name) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  main.replaceChildren();
  unmount = current.view.mount(main, current) || null;
  // After a navigation, move keyboard focus to the new view's heading (screen readers announce it).
  const heading = main.querySelector('h2');
  if (event && heading) {
    heading.setAttribute('tabindex', '-1');
    heading.focus({ preventScroll: true });
  }
}

function showLiveState(state) {
  const badge = document.getElementById('live-state');
  badge.dataset.state = state;
  badge.textContent = STATE_TEXT[state] || state;
  badge.title = live.lastEventAt ? `last event ${new Date(live.lastEventAt).toLocaleTimeString()}` : '';
}

function applyRole() {
  document.body.dataset.role = auth.role || 'none';
  const badge = document.getElementById('role-badge');
  badge.textContent = auth.role === 'admin' ? 'admin' : auth.role === 'read' ? 'read-only' : '';
  badge.hidden = !auth.authRequired || !auth.role;
  document.getElementById('logout').hidden = !auth.authRequired;
  for (const element of document.querySelectorAll('[data-admin]')) element.hidden = !auth.isAdmin;
  const version = document.getElementById('version');
  version.textContent = auth.info.version ? `v${auth.info.version}` : '';
}

// The session endpoint answers 200 for any token, so checking one never logs an error.
async function checkSession() {
  const session = await api('api/dashboard/session');
  auth.authRequired = session.authRequired;
  auth.info = session;
  auth.role = session.role;
  return session;
}

function askForToken(message) {
  const dialog = document.getElementById('login');
  const error = document.getElementById('login-error');
  error.textContent = message || '';
  error.hidden = !message;
  if (!dialog.open) dialog.showModal();
  document.getElementById('login-token').focus();
}

async function onLogin(event) {
  event.preventDefault();
  const input = document.getElementById('login-token');
  const remember = document.getElementById('login-remember').checked;
  const token = input.value.trim();
  const error = document.getElementById('login-error');
  if (!token) {
    error.textContent = 'Enter a token.';
    error.hidden = false;
    return;
  }
  auth.save(token, remember);
  let session;
  try {
    session = await checkSession();
  } catch (failure) {
    error.textContent = failure.message;
    error.hidden = false;
    return;
  }
  if (!session.role) {
    auth.forget();
    error.textContent = session.error === 'invalid token' ? 'This token is not accepted by the controller.'
      : (session.error || 'This token is not accepted.');
    error.hidden = false;
    input.select();
    return;
  }
  input.value = '';
  document.getElementById('login').close();
  start();
}

function start() {
  applyRole();
  live.stop();
  live.start();
  route();
}

function logout() {
  auth.forget();
  live.stop();
  if (unmount) unmount();
  unmount = null;
  main.replaceChildren(h('p', { class: 'state', text: 'Signed out.' }));
  applyRole();
  askForToken('');
}

async function boot() {
  document.getElementById('login-form').addEventListener('submit', onLogin);
  document.getElementById('login').addEventListener('cancel', (event) => event.preventDefault());
  document.getElementById('logout').addEventListener('click', logout);
  live.addEventListener('state', (event) => showLiveState(event.detail));
  auth.addEventListener('expired', (event) => {
    live.stop();
    applyRole();
    askForToken(`Please sign in again (${event.detail}).`);
  });
  window.addEventListener('hashchange', route);
  let session;
  try {
    session = await checkSession();
  } catch (error) {
    main.replaceChildren(h('div', { class: 'state error', role: 'alert' }, h('p', { text: error.message }),
      h('button', { type: 'button', class: 'button', text: 'Try again', onclick: () => location.reload() })));
    return;
  }
  if (!session.role) {
    const hadToken = Boolean(auth.token());
    auth.forget();
    main.replaceChildren(h('p', { class: 'state', text: 'Sign in to see the cluster.' }));
    askForToken(hadToken ? 'The saved token is no longer accepted.' : '');
    return;
  }
  start();
}

window.addEventListener('unhandledrejection', (event) => {
  // Every view handles its own errors; this is the last resort, shown instead of being lost.
  if (event.reason && event.reason.name === 'AbortError') {
    event.preventDefault();
    return;
  }
  toast(`Unexpected error: ${event.reason?.message || event.reason}`, 'error');
});

boot();
