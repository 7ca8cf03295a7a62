// Nodes: every Skald the controller sees, live (online state, classes, running tasks, capacity,
// heartbeat age). The list is small and kept in the controller's memory, so it is simply re-read
// on each node event (at most once a second); the age ticks locally in between. #/nodes?node=<id>
// (where a task's executor links to) shows that one node.
import { api } from '../api.js';
import { auth } from '../auth.js';
import { append, confirmDialog, empty, failure, formatAge, h, loading, onlineBadge, taskLink, throttle } from '../dom.js';
import { live } from '../live.js';
import { machineText, usageText } from './resources.js';

function cell(label, ...content) {
  return h('td', { 'data-label': label }, ...content);
}

export function mount(container, route = { query: {} }) {
  const only = String(route.query?.node || '').slice(0, 200); // one node, when a task's executor links here
  const body = h('div', { class: 'panel' }, loading());
  append(container, [only ? h('p', { class: 'crumbs' }, h('a', { href: '#/nodes', text: '← All nodes' })) : null,
    h('h2', {}, only ? ['Node ', h('span', { class: 'mono', text: only })] : 'Nodes'), body]);
  let nodes = null;
  let fetchedAt = 0;
  let stopped = false;
  const ages = new Map();

  function row(node) {
    const age = h('span', { class: 'age', text: formatAge(node.heartbeatAgeMs) });
    ages.set(node.id, { element: age, base: node.heartbeatAgeMs });
    const running = node.currentTasks.length
      ? h('span', { class: 'task-list' }, node.currentTasks.slice(0, 3).map((id) => [taskLink(id), ' ']),
        node.currentTasks.length > 3 ? h('a', { href: `#/tasks?executor=${encodeURIComponent(node.id)}`,
          text: `+${node.currentTasks.length - 3} more` }) : null)
      : h('span', { class: 'muted', text: 'none' });
    return h('tr', { dataset: { node: node.id, status: node.status } },
      cell('Node', h('a', { href: `#/tasks?executor=${encodeURIComponent(node.id)}`, class: 'mono', text: node.id,
        title: 'tasks of this node' })),
      cell('Mode', node.type),
      cell('State', onlineBadge(node.status === 'online'), node.drainState
        ? [' ', h('span', { class: 'badge drain', dataset: { field: 'drain' }, text: node.drainState,
          title: node.drainDeadline ? `moves what is left by ${new Date(node.drainDeadline).toLocaleString()}` : '' })]
        : null),
      cell('Classes', node.supportedTasks.length
        ? h('span', { class: 'chips' }, node.supportedTasks.map((name) => h('span', { class: 'chip', text: name })))
        : h('span', { class: 'muted', text: 'none' })),
      cell('Running', h('span', { class: 'count', text: String(node.taskCount) }), ' ', running),
      cell('Capacity', node.capacity ? `${node.taskCount} / ${node.capacity}` : 'no limit'),
      cell('Resources', node.resources ? h('span', { dataset: { field: 'resources' } }, usageText(node.resources),
        h('br'), h('span', { class: 'muted', text: machineText(node.resources) })) : h('span', { class: 'muted', text: '—' })),
      cell('Heartbeat age', age));
  }

  function render() {
    ages.clear();
    if (only) {
      const shown = nodes.filter((node) => node.id === only);
      if (!shown.length) {
        body.replaceChildren(empty(`No node ${only} is registered now.`,
          h('p', {}, 'It may have stopped long ago. ', h('a', { href: `#/tasks?executor=${encodeURIComponent(only)}`,
            text: 'Its tasks' }), ' · ', h('a', { href: '#/nodes', text: 'All nodes' }))));
        return;
      }
      body.replaceChildren(table(shown), auth.isAdmin ? nodeActions(shown[0]) : '');
      return;
    }
    if (!nodes.length) {
      const monitoring = auth.info.monitoring !== false;
      body.replaceChildren(empty(monitoring ? 'No Skald node has registered yet.'
        : 'This controller runs in CONTROLLER mode: it does not watch nodes.',
      monitoring ? h('p', { class: 'muted', text: 'Start one with `python your_node.py`; it appears here within seconds.' })
        : null));
      return;
    }
    const online = nodes.filter((node) => node.status === 'online').length;
    body.replaceChildren(h('p', { class: 'muted', text: `${online} of ${nodes.length} online` }), table(nodes));
  }

  // Cordon (no new tasks), drain (cordon, then move every task away) and uncordon, for an admin token.
  function nodeActions(node) {
    const note = h('p', { class: 'muted', role: 'status', dataset: { field: 'node-action' } });
    const act = async (action, button, body) => {
      if (action === 'drain' && !await confirmDialog(`Drain ${node.id}? Its tasks move to other nodes, a few at a `
        + 'time, and it gets no new task until uncordoned.', 'Drain')) return;
      button.disabled = true;
      try {
        const result = await api(`api/skalds/${encodeURIComponent(node.id)}/${action}`, { method: 'POST', body });
        note.textContent = `${node.id}: ${result.drainState || 'takes new tasks'}`;
        load();
      } catch (error) {
        note.textContent = `${action} refused: ${error.message}`;
      } finally {
        button.disabled = false;
      }
    };
    const button = (action, label, body) => h('button', { type: 'button', class: 'button', text: label,
      dataset: { action }, onclick: (event) => act(action, event.currentTarget, body) });
    return h('div', {}, h('div', { class: 'actions', role: 'group', 'aria-label': 'Node actions' },
      node.drainState ? button('uncordon', 'Uncordon') : button('cordon', 'Cordon'),
      node.drainState === 'draining' || node.drainState === 'drained' ? null
        : button('drain', 'Drain', { deadlineSeconds: 300 })), note);
  }

  function table(shown) {
    return h('div', { class: 'table-wrap' }, h('table', { class: 'table responsive' },
      h('caption', { class: 'visually-hidden', text: 'Skald nodes' }),
      h('thead', {}, h('tr', {}, ['Node', 'Mode', 'State', 'Classes', 'Running', 'Capacity', 'Resources',
        'Heartbeat age']
        .map((title) => h('th', { scope: 'col', text: title })))),
      h('tbody', {}, shown.map(row))));
  }

  async function load() {
    try {
      const page = await api('api/skalds');
      if (stopped) return;
      nodes = page.items;
      fetchedAt = Date.now();
      render();
    } catch (error) {
      if (!stopped) body.replaceChildren(failure(error, load));
    }
  }

  const tick = setInterval(() => {
    const elapsed = Date.now() - fetchedAt;
    for (const { element, base } of ages.values()) element.textContent = formatAge(base + elapsed);
  }, 1000);
  const soon = throttle(load, 1000);
  const offSkald = live.on('skald', soon);
  const offResync = live.on('resync', load);
  const poll = setInterval(load, 10000); // ages of nodes that went silent, even without events
  load();
  return () => {
    stopped = true;
    clearInterval(tick);
    clearInterval(poll);
    soon.cancel();
    offSkald();
    offResync();
  };
}
