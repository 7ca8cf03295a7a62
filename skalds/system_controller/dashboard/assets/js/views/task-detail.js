// One task: every field, live status and heartbeat, error and exception text, the history
// timeline, the attachments editor, and the actions the task's status allows (admin tokens only).
import { api } from '../api.js';
import { auth } from '../auth.js';
import { confirmDialog, failure, h, loading, nodeLink, refreshTimes, relativeTime, replace, statusBadges, throttle,
  toast } from '../dom.js';
import { live } from '../live.js';
import { appliedView, attachmentsEditor, followUpdate } from './attachments-editor.js';
import { currentRunTime, historyItems, traceback } from './task-history.js';
import { logTail } from './task-logs.js';
import { limitText, usageText } from './resources.js';
import { progressPanel } from './task-progress.js';

const LIVE = ['Created', 'Assigning', 'Running', 'Paused'];
const ACTIONS = [
  { key: 'pause', label: 'Pause', when: ['Created', 'Assigning', 'Running'],
    confirm: 'Pause this task? A running worker is suspended (it keeps its memory and node).' },
  { key: 'resume', label: 'Resume', when: ['Paused'] },
  { key: 'cancel', label: 'Cancel task', when: LIVE, danger: true,
    confirm: 'Cancel this task? The worker is asked to stop, then terminated.' },
  { key: 'retry', label: 'Retry', when: ['Failed', 'Cancelled'] },
  // not destructive: the task runs again (a new attempt); only Cancel is shown as dangerous
  { key: 'restart', label: 'Restart', when: ['Created', 'Assigning', 'Running', 'Paused', 'Finished', 'Failed',
    'Cancelled'], confirm: 'Restart this task from the beginning on a node (a new attempt)?' },
];

export function mount(container, route) {
  const taskId = route.id;
  const head = h('div', { class: 'view-head' }, h('h2', {}, 'Task ', h('span', { class: 'mono', text: taskId })));
  const status = h('div', { class: 'task-status', 'aria-live': 'polite' });
  const actions = h('div', { class: 'actions', role: 'group', 'aria-label': 'Task actions' });
  const fields = h('dl', { class: 'fields' });
  const problems = h('div', { class: 'problems' });
  const timeline = h('ol', { class: 'attempts', 'aria-label': 'History' });
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
  const openState = new Map(); // which tracebacks the user opened or closed, kept across re-renders
  const logs = logTail(taskId);
  const progress = progressPanel(taskId);

  body.append(h('div', { class: 'status-row' }, status, actions), problems, progress.element,
    h('div', { class: 'columns' },
      h('section', { class: 'panel', 'aria-labelledby': 'fields-title' }, h('h3', { id: 'fields-title', text: 'Fields' }),
        fields),
      editorBox),
    h('section', { class: 'panel', 'aria-labelledby': 'history-title' },
      h('h3', { id: 'history-title', text: 'History' }), timeline), logs.element);
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
      ...field('Executor', task.executor ? nodeLink(task.executor) : null),
      ...field('Attempt', String(task.attempt), { dataset: { field: 'attempt' } }), ...field('Priority', String(task.priority)),
      ...field('Retries', `${task.retryCount} of ${task.maxRetries}`),
      ...field('Heartbeat', String(task.heartbeat), { class: 'mono', dataset: { field: 'heartbeat' } }),
      ...field('Exit code', task.exitCode === null ? null : String(task.exitCode)),
      ...field('Resources', usageText(task.resources), { dataset: { field: 'resources' } }),
      ...field('Memory limit', limitText(task), { dataset: { field: 'memory-limit' } }),
      ...field('Attachments', attachmentState(), { dataset: { field: 'attachments-state' } }),
      ...field('Run time', currentRunTime(entries, task), { dataset: { field: 'duration' } }),
      ...field('Created', relativeTime(task.createDateTime), { dataset: { field: 'created' } }),
      ...field('Updated', relativeTime(task.updateDateTime), { dataset: { field: 'updated' } }),
      ...field('Checkpoint', checkpointState(), { dataset: { field: 'checkpoint' } }));
  }

  function checkpointState() { // the state itself: GET /api/tasks/{id}/checkpoint
    const saved = task.checkpoint;
    if (!saved) return null;
    const size = saved.sizeBytes < 1024 ? `${saved.sizeBytes} B` : `${(saved.sizeBytes / 1024).toFixed(1)} KiB`;
    return h('span', {}, 'saved ', relativeTime(saved.savedAt), ` by attempt ${saved.attempt} (${size})`);
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

  // The task's error, and the worker's exception line only when the error does not already say it.
  function renderProblems(shown) {
    const blocks = [];
    const error = task.error ? String(task.error) : '';
    const exception = task.exception && !error.includes(String(task.exception).trim()) ? task.exception : null;
    for (const [title, text] of [['Error', error], ['Exception', exception]]) {
      if (!text || shown.has(String(text))) continue;
      blocks.push(h('div', { class: 'problem', dataset: { problem: title.toLowerCase() } }, h('h3', { text: title }),
        traceback(String(text), { shown, open: true, key: title, openState })));
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
      replace(editorBox, h('h3', { id: 'attachments-title', text: 'Attachments' }), editor.element,
        auth.isAdmin ? h('div', { class: 'actions' }, save, revert) : null, appliedBox);
    } else if (!editing) {
      editor.set(task.attachments);
    }
    appliedBox.replaceChildren(...[appliedView(task)].filter(Boolean));
    awaiting = followUpdate(task, awaiting, toast);
  }

  async function act(action, button) {
    if (action.confirm && !(await confirmDialog(action.confirm, action.label, { danger: Boolean(action.danger) }))) {
      return;
    }
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
      const shown = new Set();
      renderProblems(shown);
      renderEditor();
      timeline.replaceChildren(...historyItems(entries, task, { shown, openState }));
      progress.start();
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
  const clock = setInterval(() => refreshTimes(body), 5000);
  const usage = setInterval(async () => { // CPU and RSS change every heartbeat: only that cell is refreshed
    if (!task || !LIVE.includes(task.lifecycleStatus) || document.hidden) return;
    try {
      const next = await api(`api/tasks/${encodeURIComponent(taskId)}`);
      const cell = fields.querySelector('[data-field="resources"]');
      if (stopped || !cell) return;
      task.resources = next.resources;
      cell.replaceChildren(usageText(next.resources) ?? h('span', { class: 'muted', text: '—' }));
    } catch { /* the next load shows the failure */ }
  }, 2000);
  load();
  return () => {
    stopped = true;
    logs.close();
    progress.close();
    clearInterval(clock);
    clearInterval(usage);
    soon.cancel();
    offTask();
    offResync();
  };
}
