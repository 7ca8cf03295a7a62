// A JSON editor for attachments: checks the syntax locally (with the position of the mistake) and,
// when the class's nodes published a schema, every field against it before anything is sent; and shows
// the controller's own refusal (422 field errors, 413 size, 409 conflicts) under it.
import { ApiError } from '../api.js';
import { h, replace } from '../dom.js';
import { classSchema, describeErrors, validate } from '../schema.js';

let counter = 0;

export function parseObject(text) {
  let value;
  try {
    value = JSON.parse(text.trim() === '' ? '{}' : text);
  } catch (error) {
    return { error: `Not valid JSON: ${error.message}` };
  }
  return { value };
}

export function attachmentsEditor({ value, readOnly = false, label = 'Attachments (JSON)', rows = 10,
  className = '' }) {
  counter += 1;
  let schema = null;
  if (className) classSchema(className).then((found) => { schema = found; });
  const id = `attachments-${counter}`;
  const errorsId = `${id}-errors`;
  const textarea = h('textarea', { id, class: 'code', rows, spellcheck: 'false', readOnly,
    'aria-describedby': errorsId, autocomplete: 'off' });
  textarea.value = JSON.stringify(value ?? {}, null, 2);
  const errors = h('div', { id: errorsId, class: 'field-errors', role: 'alert', hidden: true });
  const format = h('button', { type: 'button', class: 'button ghost', text: 'Format', hidden: readOnly,
    onclick: () => {
      const parsed = parseObject(textarea.value);
      if (parsed.error) show(parsed.error);
      else { textarea.value = JSON.stringify(parsed.value, null, 2); show(null); }
    } });

  function show(message, lines = []) {
    if (!message) {
      errors.hidden = true;
      errors.replaceChildren();
      textarea.removeAttribute('aria-invalid');
      return;
    }
    errors.hidden = false;
    textarea.setAttribute('aria-invalid', 'true');
    replace(errors, h('p', { text: message }), lines.length ? h('ul', {}, lines.map((line) =>
      h('li', { class: 'mono', text: line }))) : null);
  }

  return {
    element: h('div', { class: 'editor' }, h('label', { for: id, class: 'field-label', text: label }), textarea,
      errors, h('div', { class: 'editor-tools' }, format)),
    textarea,
    // The parsed value, or null after showing why it cannot be sent (its syntax, or each field the schema refuses).
    read() {
      const parsed = parseObject(textarea.value);
      if (parsed.error) {
        show(parsed.error);
        textarea.focus();
        return null;
      }
      const isObject = parsed.value !== null && typeof parsed.value === 'object' && !Array.isArray(parsed.value);
      const errors = isObject ? validate(parsed.value, schema) : []; // not an object: the controller says so
      if (errors.length) {
        show('These attachments do not fit the schema of the class:', describeErrors(errors));
        textarea.focus();
        return null;
      }
      show(null);
      return parsed.value;
    },
    setSchema(next) { schema = next || null; },
    set(next) {
      textarea.value = JSON.stringify(next ?? {}, null, 2);
      show(null);
    },
    showError(error) {
      if (error instanceof ApiError) show(error.message, error.details);
      else show(String(error?.message || error));
    },
    clearError() { show(null); },
  };
}

// What the task's worker last applied, beside the desired attachments: shown when they differ (an update
// it has not applied yet, or one it rejected: a retry then starts with these).
export function appliedView(task) {
  const applied = task.appliedAttachments;
  if (!applied || JSON.stringify(applied) === JSON.stringify(task.attachments)) return null;
  const rejected = task.rejectedAttachmentsVersion === task.attachmentsVersion && task.attachmentsVersion > 0;
  return h('div', { class: 'applied', dataset: { field: 'applied-attachments' } },
    h('p', { class: rejected ? 'warning' : 'muted', text: rejected
      ? `The worker rejected version ${task.attachmentsVersion}: it keeps version ${task.appliedAttachmentsVersion}, `
        + 'and a retry or new attempt starts with it.'
      : `The worker runs with version ${task.appliedAttachmentsVersion}:` }),
    h('pre', { class: 'code', text: JSON.stringify(applied, null, 2) }));
}

// After a save sent to a worker: tell once whether it applied or rejected that version; the version still
// awaited, or null.
export function followUpdate(task, awaiting, toast) {
  if (awaiting === null || awaiting === undefined) return null;
  if (task.rejectedAttachmentsVersion === awaiting) {
    toast(`The worker rejected attachments version ${awaiting}; it keeps version ${task.appliedAttachmentsVersion ?? 0}`,
      'error');
    return null;
  }
  if (task.appliedAttachmentsVersion === awaiting) {
    toast(`The worker applied attachments version ${awaiting}`, 'success');
    return null;
  }
  return task.attachmentsVersion === awaiting ? awaiting : null;
}
