// The form to create a task (POST /api/tasks). The class list offers what nodes registered and
// what tasks already use. For a class whose nodes published an attachments schema, the form shows
// one field per attachment (its type, default and description) and checks them before sending; a
// class no node runs yet is refused by the controller unless "Wait for a node" is ticked.
import { api } from '../api.js';
import { auth } from '../auth.js';
import { h, replace, toast } from '../dom.js';
import { classSchema, fieldsOf } from '../schema.js';
import { attachmentsEditor } from './attachments-editor.js';

function field(label, control, hint) {
  const hintId = hint ? `${control.id}-hint` : undefined;
  if (hintId) control.setAttribute('aria-describedby', hintId);
  return h('div', { class: 'field' }, h('label', { for: control.id, text: label }), control,
    hint ? h('small', { id: hintId, class: 'muted', text: hint }) : null);
}

// One input per top-level attachment; `onChange` gets the attachments they make.
function schemaFields(schema, onChange) {
  const inputs = [];
  const rows = fieldsOf(schema).map(({ name, field: spec, kind, required, description, title }) => {
    const id = `create-att-${name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
    let control;
    if (kind === 'boolean') control = h('input', { id, type: 'checkbox' });
    else if (kind === 'enum') {
      control = h('select', { id }, ...(required ? [] : [h('option', { value: '', text: '—' })]),
        ...spec.enum.map((item) => h('option', { value: JSON.stringify(item), text: String(item) })));
    } else if (kind === 'integer' || kind === 'number') {
      control = h('input', { id, type: 'number', step: kind === 'integer' ? '1' : 'any' });
      if (spec.minimum !== undefined) control.min = String(spec.minimum);
      if (spec.maximum !== undefined) control.max = String(spec.maximum);
    } else if (kind === 'string') {
      control = h('input', { id, type: 'text', autocomplete: 'off' });
      if (spec.maxLength !== undefined) control.maxLength = spec.maxLength;
    } else control = h('textarea', { id, class: 'code', rows: 2, spellcheck: 'false', placeholder: 'JSON' });
    const fallback = spec.default;
    if (fallback !== undefined && fallback !== null) {
      if (kind === 'boolean') control.checked = Boolean(fallback);
      else if (kind === 'enum') control.value = JSON.stringify(fallback);
      else control.value = kind === 'json' ? JSON.stringify(fallback) : String(fallback);
    }
    control.dataset.attachment = name;
    control.addEventListener(kind === 'boolean' || kind === 'enum' ? 'change' : 'input', () => onChange(collect()));
    inputs.push({ name, kind, control });
    const type = kind === 'json' ? (spec.type || 'JSON') : kind;
    const hint = [description, `${type}${required ? ', required' : ''}`].filter(Boolean).join(' — ');
    return field(`${title}`, control, hint);
  });
  function collect() {
    const value = {};
    for (const { name, kind, control } of inputs) {
      const text = control.value;
      if (kind === 'boolean') value[name] = control.checked;
      else if (text === '') continue; // left empty: the model's default
      else if (kind === 'integer' || kind === 'number') value[name] = Number(text);
      else if (kind === 'enum') value[name] = JSON.parse(text);
      else if (kind === 'string') value[name] = text;
      else {
        try { value[name] = JSON.parse(text); } catch { value[name] = text; } // the check says what is wrong
      }
    }
    return value;
  }
  return { element: h('fieldset', { class: 'schema-form', 'aria-label': 'Attachments' },
    h('legend', { text: 'Attachments' }), ...rows), collect };
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
  const waitForClass = h('input', { id: 'create-wait', name: 'waitForClass', type: 'checkbox' });
  const schemaBox = h('div', { class: 'schema-box' });
  let shownFor = null;
  let typed = false; // the JSON was edited by hand since the fields last wrote it
  editor.textarea.addEventListener('input', () => { typed = true; });
  async function showSchema() {
    const wanted = className.value.trim();
    if (wanted === shownFor) return;
    shownFor = wanted;
    const schema = await classSchema(wanted);
    if (stopped || className.value.trim() !== wanted) return;
    editor.setSchema(schema);
    if (!schema) {
      schemaBox.replaceChildren();
      return;
    }
    const fields = schemaFields(schema, (value) => { typed = false; editor.set(value); });
    schemaBox.replaceChildren(fields.element);
    if (!typed) editor.set(fields.collect()); // never over JSON the user typed
  }
  className.addEventListener('change', showSchema);
  className.addEventListener('input', () => { clearTimeout(showSchema.timer); showSchema.timer = setTimeout(showSchema, 300); });
  const submit = h('button', { type: 'submit', class: 'button primary', text: 'Create task' });
  const problem = h('div', { class: 'field-errors', role: 'alert', hidden: true });

  const form = h('form', { class: 'panel form', novalidate: false, 'aria-label': 'New task' },
    field('Worker class', className, 'The TaskWorker class name a node registered.'), classList,
    field('Task id', taskId, 'Optional; letters, digits and . _ : @ -. A random id is made when empty.'),
    field('Name', name), field('Description', description),
    h('div', { class: 'row' }, field('Priority (0-10)', priority), field('Retries after a failure', retries)),
    h('div', { class: 'field check' }, waitForClass, h('label', { for: 'create-wait',
      text: 'Wait for a node that runs this class (else a class no node runs is refused)' })),
    schemaBox, editor.element, problem, h('div', { class: 'actions' }, submit,
      h('a', { href: '#/tasks', class: 'button ghost', text: 'Cancel' })));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    problem.hidden = true;
    const attachments = editor.read();
    if (attachments === null) return;
    const body = { className: className.value.trim(), attachments, priority: Number(priority.value),
      maxRetries: Number(retries.value) };
    if (waitForClass.checked) body.waitForClass = true;
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
      if (error.details?.length && error.details.every((line) => line.startsWith('attachments'))) {
        editor.showError(error); // field errors of the attachments: under the editor
        return;
      }
      problem.hidden = false;
      replace(problem, h('p', { text: error.message }),
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
