// One task: every field, live status and heartbeat, error and exception text, the history
// timeline, the attachments editor, and the actions the task's status allows (admin tokens only).
import { api } from '../api.js';
import { auth } from '../auth.js';
import { failure, formatTime, h, loading, statusBadges, throttle, toast } from '../dom.js';
import { live } from '../live.js';
import { appliedView, attachmentsEditor, followUpdate } from './attachments-editor.js';

const LIVE = ['Created', 'Assigning', 'Running', 'Paused'];
const ACTIONS = [
  { key: 'pause', label: 'Pause', when: ['Created', 'Assigning', 'Running'],
    confirm: 'Pause this task? A running worker is suspended (it keeps its memory and node).' },
  { key: 'resume', label: 'Resume', when: ['Paused'] },
  { key: 'cancel', label: 'Cancel task', when: LIVE, danger: true,
    confirm: 'Cancel this task? The worker is asked to stop, then terminated.' },
  { key: 'retry', label: 'Retry', when: ['Failed', 'Cancelled'] },
  { key: 'restart', label: 'Restart', when: ['Created', 'Assigning', 'Running', 'Paused', 'Finished', 'Failed',
    'Cancelled'], danger: true, confirm: 'Restart this task from the beginning on a node (a new attempt)?' },
];

function describeEntry(entry) {
  const parts = [];
  if (entry.status) parts.push(entry.status);
  if (entry.executor) parts.push(`node ${entry.executor}`);
  if (entry.attempt !== undefined) parts.push(`attempt ${entry.attempt}`);
  if (entry.version !== undefined) parts.push(`version ${entry.version}`);
  if (entry.exitCode !== undefined && entry.exitCode !== null) parts.push(`exit code ${entry.exitCode}`);
  if (entry.reason) parts.push(entry.reason);
  if (entry.by) parts.push(`by ${entry.by}`);
  if (entry.retry !== undefined) parts.push(`retry ${entry.retry}`);
  if (entry.className) parts.push(entry.className);
  if (entry.source) parts.push(`from ${entry.source}`);
  return parts.join(' · ');
}

const TITLES = { created: 'Created', assigned: 'Assigned', status: 'Status', attachments_updated: 'Attachments updated',
  attachments_applied: 'Attachments applied by the worker', attachments_rejected: 'Attachments rejected by the worker',
  lost: 'Lost', released: 'Released by its node', retry: 'Retry' };

function confirmDialog(message, action) {
  return new Promise((resolve) => {
    const dialog = h('dialog', { class: 'confirm', 'aria-labelledby': 'confirm-text' },
      h('form', { method: 'dialog' },
        h('p', { id: 'confirm-text', text: message }),
        h('div', { class: 'actions' },
          h('button', { value: 'no', class: 'button ghost', text: 'Keep it' }),
          h('button', { value: 'yes', class: 'button danger', text: action }))));
    dialog.addEventListener('close', () => { resolve(dialog.returnValue === 'yes'); dialog.remove(); });
    document.body.append(dialog);
    dialog.showModal();
    dialog.querySelector('button[value="no"]').focus();
  });
}

export function mount(container, route) {
  const taskId = route.id;
  const head = h('div', { class: 'view-head' }, h('h2', {}, 'Task ', h('span', { class: 'mono', text: taskId })));
  const status = h('div', { class: 'task-status', 'aria-live': 'polite' });
  const actions = h('div', { class: 'actions', role: 'group', 'aria-label': 'Task actions' });
  const fields = h('dl', { class: 'fields' });
  const problems = h('div', { class: 'problems' });
  const timeline = h('ol', { class: 'timeline', 'aria-label': 'History' });
  const body = h('div', { class: 'detail', hidden: true });
  const placeholder = h('div', {}, loading('Loading the task…'));
  let editor = null;
  const appliedBox = h('div', {});
  let awaiting = null; // the attachments version saved here, until its worker applied or rejected it
  let editorBox = h('section', { class: 'panel', 'aria-labelledby': 'attachments-title' });
  let task = null;
  let entries = [];
  let stopped = false;
  let editing = false; // do not overwrite what the user is typing

  body.append(h('div', { class: 'status-row' }, status, actions), problems,
    h('div', { class: 'columns' },
      h('section', { class: 'panel', 'aria-labelledby': 'fields-title' }, h('h3', { id: 'fields-title', text: 'Fields' }),
        fields),
      editorBox),
    h('section', { class: 'panel', 'aria-labelledby': 'history-title' },
      h('h3', { id: 'history-title', text: 'History' }), timeline));
  container.append(h('p', { class: 'crumbs' }, h('a', { href: '#/tasks', text: '← All tasks' })), head, placeholder, body);

  function field(name, value, extra = {}) {
    return [h('dt', { text: name }), h('dd', { ...extra }, value === null || value === undefined || value === ''
      ? h('span', { class: 'muted', text: '—' }) : value)];
  }

  function attachmentState() {
    const version = task.attachmentsVersion;
    const applied = task.appliedAttachmentsVersion;
    if (!version) return 'initial attachments';
    if (applied === version) return `version ${version}, applied by the worker`;
    const rejected = entries.findLast((entry) => entry.type === 'attachments_rejected' && entry.version === version);
    if (rejected) {
      const reason = rejected.error ? `: ${String(rejected.error).split('\n')[0]}` : ''; // the rest is in History
      return `version ${version} rejected by the worker${reason}` +
        (applied !== null && applied !== undefined ? ` (it keeps version ${applied})` : '');
    }
    return `version ${version}${applied !== null && applied !== undefined ? `, worker has ${applied}` : ''}` +
      (LIVE.includes(task.lifecycleStatus) ? ', waiting for the worker' : '');
  }

  function renderFields() {
    fields.replaceChildren(
      ...field('Class', task.className), ...field('Name', task.name), ...field('Description', task.description),
      ...field('Mode', task.mode), ...field('Source', task.source),
      ...field('Executor', task.executor ? h('a', { href: `#/nodes`, class: 'mono', text: task.executor }) : null),
      ...field('Attempt', String(task.attempt), { dataset: { field: 'attempt' } }), ...field('Priority', String(task.priority)),
      ...field('Retries', `${task.retryCount} of ${task.maxRetries}`),
      ...field('Heartbeat', String(task.heartbeat), { class: 'mono', dataset: { field: 'heartbeat' } }),
      ...field('Exit code', task.exitCode === null ? null : String(task.exitCode)),
      ...field('Attachments', attachmentState(), { dataset: { field: 'attachments-state' } }),
      ...field('Created', formatTime(task.createDateTime)), ...field('Updated', formatTime(task.updateDateTime)));
  }

  function renderStatus() {
    status.replaceChildren(...statusBadges(task), task.waitingFor ? h('span', { class: 'waiting-note',
      dataset: { field: 'waiting' }, text: task.waitingFor }) : '');
    if (!auth.isAdmin) {
      actions.replaceChildren();
      return;
    }
    actions.replaceChildren(...ACTIONS.filter((action) => action.when.includes(task.lifecycleStatus)).map((action) =>
      h('button', { type: 'button', class: `button${action.danger ? ' danger' : ''}`, text: action.label,
        dataset: { action: action.key }, onclick: (event) => act(action, event.currentTarget) })));
  }

  function renderProblems() {
    const blocks = [];
    if (task.error) blocks.push(h('div', { class: 'problem' }, h('h3', { text: 'Error' }), h('pre', { text: task.error })));
    if (task.exception && task.exception !== task.error) {
      blocks.push(h('div', { class: 'problem' }, h('h3', { text: 'Exception' }), h('pre', { text: task.exception })));
    }
    problems.replaceChildren(...blocks);
  }

  function renderEditor() {
    if (!editor) {
      editor = attachmentsEditor({ value: task.attachments, readOnly: !auth.isAdmin, rows: 12,
        className: task.className });
      editor.textarea.addEventListener('input', () => { editing = true; });
      const save = h('button', { type: 'button', class: 'button primary', text: 'Update attachments',
        dataset: { action: 'update-attachments' } });
      const revert = h('button', { type: 'button', class: 'button ghost', text: 'Revert',
        onclick: () => { editing = false; editor.set(task.attachments); } });
      save.addEventListener('click', async () => {
        const value = editor.read();
        if (value === null) return;
        save.disabled = true;
        try {
          const result = await api(`api/tasks/${encodeURIComponent(taskId)}/attachments`, { method: 'PUT',
            body: { attachments: value } });
          editing = false;
          awaiting = result.data.sentToWorker ? result.data.attachmentsVersion : null;
          toast(`Attachments version ${result.data.attachmentsVersion} saved` + (awaiting
            ? '; waiting for the worker to apply it' : '; the next attempt starts with it'), awaiting ? 'info' : 'success');
          load();
        } catch (error) {
          editor.showError(error);
        } finally {
          save.disabled = false;
        }
      });
      editorBox.replaceChildren(h('h3', { id: 'attachments-title', text: 'Attachments' }), editor.element,
        auth.isAdmin ? h('div', { class: 'actions' }, save, revert) : null, appliedBox);
    } else if (!editing) {
      editor.set(task.attachments);
    }
    appliedBox.replaceChildren(...[appliedView(task)].filter(Boolean));
    awaiting = followUpdate(task, awaiting, toast);
  }

  function renderHistory(entries) {
    if (!entries.length) {
      timeline.replaceChildren(h('li', { class: 'muted', text: 'No history recorded.' }));
      return;
    }
    timeline.replaceChildren(...entries.map((entry) => h('li', { class: `entry type-${entry.type}`,
      dataset: { type: entry.type, status: entry.status || '' } },
    h('time', { datetime: new Date(entry.ts).toISOString(), text: formatTime(entry.ts) }),
    h('strong', { text: TITLES[entry.type] || entry.type }), ' ', h('span', { text: describeEntry(entry) }),
    entry.error ? h('pre', { class: 'entry-error', text: entry.error }) : null)));
  }

  async function act(action, button) {
    if (action.confirm && !(await confirmDialog(action.confirm, action.label))) return;
    button.disabled = true;
    const path = `api/tasks/${encodeURIComponent(taskId)}/${action.key === 'restart' ? 'status' : action.key}`;
    try {
      const result = action.key === 'restart'
        ? await api(path, { method: 'PUT', body: { lifecycleStatus: 'Created' } })
        : await api(path, { method: 'POST' });
      toast(result.message, 'success');
      load();
    } catch (error) {
      toast(`${action.label} failed: ${error.message}`, 'error');
      load();
    } finally {
      button.disabled = false;
    }
  }

  async function load() {
    try {
      const [next, events] = await Promise.all([api(`api/tasks/${encodeURIComponent(taskId)}`),
        api(`api/tasks/${encodeURIComponent(taskId)}/events`)]);
      if (stopped) return;
      task = next;
      entries = Array.isArray(events.events) ? events.events : [];
      placeholder.replaceChildren();
      body.hidden = false;
      renderStatus();
      renderFields();
      renderProblems();
      renderEditor();
      renderHistory(entries);
    } catch (error) {
      if (stopped) return;
      if (error.status === 404) {
        body.hidden = true;
        placeholder.replaceChildren(h('div', { class: 'state empty' }, h('p', { text: `There is no task ${taskId}.` }),
          h('a', { href: '#/tasks', text: 'Back to the tasks' })));
        return;
      }
      placeholder.replaceChildren(failure(error, load));
    }
  }

  const soon = throttle(load, 500);
  const offTask = live.on('task', (event) => {
    if (event.taskId !== taskId) return;
    if (event.name === 'task_heartbeat' && task) {
      task.heartbeat = event.data.heartbeat;
      const cell = fields.querySelector('[data-field="heartbeat"]');
      if (cell) cell.textContent = String(event.data.heartbeat);
      if (event.data.lifecycleStatus && event.data.lifecycleStatus !== task.lifecycleStatus) soon();
      return;
    }
    soon();
  });
  const offResync = live.on('resync', load);
  load();
  return () => {
    stopped = true;
    soon.cancel();
    offTask();
    offResync();
  };
}
