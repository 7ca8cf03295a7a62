// The form to create a task (POST /api/tasks). The class list offers what nodes registered and
// what tasks already use; any name can be typed, since a node may register it later.
import { api } from '../api.js';
import { auth } from '../auth.js';
import { h, toast } from '../dom.js';
import { attachmentsEditor } from './attachments-editor.js';

function field(label, control, hint) {
  const hintId = hint ? `${control.id}-hint` : undefined;
  if (hintId) control.setAttribute('aria-describedby', hintId);
  return h('div', { class: 'field' }, h('label', { for: control.id, text: label }), control,
    hint ? h('small', { id: hintId, class: 'muted', text: hint }) : null);
}

export function mount(container) {
  container.append(h('h2', { text: 'New task' }));
  if (!auth.isAdmin) {
    container.append(h('p', { class: 'state', text: 'Your token is read-only: creating tasks needs an admin token.' }));
    return null;
  }
  let stopped = false;
  const className = h('input', { id: 'create-class', name: 'className', required: true, maxlength: 200,
    list: 'create-class-list', autocomplete: 'off' });
  const classList = h('datalist', { id: 'create-class-list' });
  const taskId = h('input', { id: 'create-id', name: 'id', maxlength: 200, pattern: '[A-Za-z0-9._:@\\-]+',
    autocomplete: 'off' });
  const name = h('input', { id: 'create-name', name: 'name', maxlength: 500 });
  const description = h('textarea', { id: 'create-description', name: 'description', rows: 2, maxlength: 5000 });
  const priority = h('input', { id: 'create-priority', name: 'priority', type: 'number', min: 0, max: 10, value: '0',
    required: true });
  const retries = h('input', { id: 'create-retries', name: 'maxRetries', type: 'number', min: 0, max: 100, value: '0',
    required: true });
  const editor = attachmentsEditor({ value: {}, label: 'Attachments (JSON object)' });
  const submit = h('button', { type: 'submit', class: 'button primary', text: 'Create task' });
  const problem = h('div', { class: 'field-errors', role: 'alert', hidden: true });

  const form = h('form', { class: 'panel form', novalidate: false, 'aria-label': 'New task' },
    field('Worker class', className, 'The TaskWorker class name a node registered.'), classList,
    field('Task id', taskId, 'Optional; letters, digits and . _ : @ -. A random id is made when empty.'),
    field('Name', name), field('Description', description),
    h('div', { class: 'row' }, field('Priority (0-10)', priority), field('Retries after a failure', retries)),
    editor.element, problem, h('div', { class: 'actions' }, submit,
      h('a', { href: '#/tasks', class: 'button ghost', text: 'Cancel' })));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    problem.hidden = true;
    const attachments = editor.read();
    if (attachments === null) return;
    const body = { className: className.value.trim(), attachments, priority: Number(priority.value),
      maxRetries: Number(retries.value) };
    if (taskId.value.trim()) body.id = taskId.value.trim();
    if (name.value.trim()) body.name = name.value.trim();
    if (description.value.trim()) body.description = description.value.trim();
    submit.disabled = true;
    submit.textContent = 'Creating…';
    try {
      const task = await api('api/tasks', { method: 'POST', body });
      toast(`Task ${task.id} created`, 'success');
      location.hash = `#/tasks/${encodeURIComponent(task.id)}`;
    } catch (error) {
      if (stopped) return;
      problem.hidden = false;
      problem.replaceChildren(h('p', { text: error.message }),
        error.details?.length ? h('ul', {}, error.details.map((line) => h('li', { class: 'mono', text: line }))) : null);
    } finally {
      submit.disabled = false;
      submit.textContent = 'Create task';
    }
  });
  container.append(form);
  className.focus();

  Promise.all([api('api/tasks/classnames'), api('api/skalds')]).then(([classes, nodes]) => {
    if (stopped) return;
    const known = new Set(classes);
    for (const node of nodes.items) for (const item of node.supportedTasks) known.add(item);
    classList.replaceChildren(...[...known].sort().map((item) => h('option', { value: item })));
  }).catch(() => { /* the field still takes any name */ });
  return () => { stopped = true; };
}
