// Cancel or retry the tasks selected in the task list, one REST call per task (the same routes as a
// task's own buttons), and say what happened to each: accepted, pending on its node, or refused and why.
import { api } from '../api.js';
import { confirmDialog, h, statusBadge, taskLink } from '../dom.js';

const PARALLEL = 4; // requests in flight at once: a page of 100 tasks must not flood the controller
const ACTIONS = {
  cancel: { label: 'Cancel selected', verb: 'Cancel', danger: true,
    confirm: (count) => `Cancel ${count} task${count === 1 ? '' : 's'}? Running workers are asked to stop.` },
  retry: { label: 'Retry selected', verb: 'Retry', danger: false,
    confirm: (count) => `Retry ${count} task${count === 1 ? '' : 's'}? Each Failed or Cancelled one runs again.` },
};
const OUTCOME_TEXT = { accepted: 'accepted', pending: 'pending', refused: 'refused' };

async function runOne(id, action) {
  try {
    const result = await api(`api/tasks/${encodeURIComponent(id)}/${action}`, { method: 'POST' });
    return { id, outcome: result?.data?.pending ? 'pending' : 'accepted', message: result?.message || '',
      status: result?.data?.status };
  } catch (error) {
    return { id, outcome: 'refused', message: error.message };
  }
}

async function runAll(ids, action) {
  const results = new Array(ids.length);
  let next = 0;
  const worker = async () => {
    while (next < ids.length) {
      const index = next++;
      results[index] = await runOne(ids[index], action);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, ids.length) }, worker));
  return results;
}

function summary(verb, results) {
  const counts = Object.keys(OUTCOME_TEXT).map((outcome) => [outcome,
    results.filter((result) => result.outcome === outcome).length]).filter(([, count]) => count);
  return `${verb}: ${counts.map(([outcome, count]) => `${count} ${OUTCOME_TEXT[outcome]}`).join(', ')}`;
}

/** The selection, its toolbar and the results panel; `reload` re-reads the list once a batch is done. */
export function bulkActions({ reload }) {
  const selected = new Set();
  const boxes = new Map(); // id -> the row's checkbox
  let all = null;
  let busy = false;
  const count = h('span', { class: 'bulk-count', 'aria-live': 'polite', text: 'No task selected' });
  const buttons = Object.entries(ACTIONS).map(([key, action]) => h('button', { type: 'button',
    class: `button small${action.danger ? ' danger' : ''}`, text: action.label, disabled: true,
    dataset: { bulk: key }, onclick: () => run(key) }));
  const clearButton = h('button', { type: 'button', class: 'button ghost small', text: 'Clear selection',
    disabled: true, onclick: () => { selected.clear(); update(); } });
  const toolbar = h('div', { class: 'bulk actions', role: 'group', 'aria-label': 'Selected tasks' },
    count, ...buttons, clearButton);
  const results = h('section', { class: 'panel bulk-results', 'aria-label': 'Results', role: 'status',
    hidden: true });

  function update() {
    for (const [id, box] of boxes) box.checked = selected.has(id);
    if (all) {
      all.checked = boxes.size > 0 && selected.size === boxes.size;
      all.indeterminate = selected.size > 0 && selected.size < boxes.size;
    }
    count.textContent = selected.size ? `${selected.size} selected` : 'No task selected';
    for (const button of [...buttons, clearButton]) button.disabled = busy || !selected.size;
  }

  function rowBox(id) {
    const box = h('input', { type: 'checkbox', class: 'select', 'aria-label': `Select ${id}`, checked: selected.has(id),
      onchange: () => { if (box.checked) selected.add(id); else selected.delete(id); update(); } });
    boxes.set(id, box);
    return box;
  }

  function headBox() {
    all = h('input', { type: 'checkbox', class: 'select', 'aria-label': 'Select all tasks on this page',
      onchange: () => {
        for (const id of boxes.keys()) if (all.checked) selected.add(id); else selected.delete(id);
        update();
      } });
    return all;
  }

  // A new page of rows: forget boxes (and selections) of tasks no longer shown.
  function startRows() {
    boxes.clear();
    all = null;
  }
  function endRows() {
    for (const id of [...selected]) if (!boxes.has(id)) selected.delete(id);
    update();
  }

  function show(verb, list) {
    results.hidden = false;
    results.replaceChildren(h('h3', { text: summary(verb, list) }),
      h('ul', { class: 'bulk-list' }, list.map((result) => h('li', { dataset: { task: result.id,
        outcome: result.outcome } }, taskLink(result.id), ' ',
      h('span', { class: `outcome outcome-${result.outcome}`, text: OUTCOME_TEXT[result.outcome] }),
      result.status && result.outcome !== 'refused' ? [' ', statusBadge(result.status)] : null,
      result.message ? h('span', { class: 'muted', text: ` ${result.message}` }) : null))),
      h('button', { type: 'button', class: 'button ghost small', text: 'Dismiss',
        onclick: () => { results.hidden = true; } }));
  }

  async function run(key) {
    const action = ACTIONS[key];
    const ids = [...selected];
    if (!ids.length || busy) return;
    if (!(await confirmDialog(action.confirm(ids.length), action.verb, { danger: action.danger }))) return;
    busy = true;
    update();
    count.textContent = `${action.verb}: ${ids.length} request${ids.length === 1 ? '' : 's'}…`;
    const list = await runAll(ids, key);
    busy = false;
    selected.clear();
    show(action.verb, list);
    update();
    reload();
  }

  return { toolbar, results, rowBox, headBox, startRows, endRows };
}
