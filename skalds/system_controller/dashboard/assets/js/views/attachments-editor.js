// A JSON editor for attachments: checks the syntax locally (with the position of the mistake),
// and shows the controller's own refusal (422 field errors, 413 size, 409 conflicts) under it.
import { ApiError } from '../api.js';
import { h, replace } from '../dom.js';

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

export function attachmentsEditor({ value, readOnly = false, label = 'Attachments (JSON)', rows = 10 }) {
  counter += 1;
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
    // The parsed value, or null after showing why it cannot be sent.
    read() {
      const parsed = parseObject(textarea.value);
      if (parsed.error) {
        show(parsed.error);
        textarea.focus();
        return null;
      }
      show(null);
      return parsed.value;
    },
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
