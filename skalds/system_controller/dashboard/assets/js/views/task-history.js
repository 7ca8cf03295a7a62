// A task's history, grouped by attempt: each attempt says where it ran, how it ended and for how long,
// then its entries. A traceback appears once on the page (collapsible); where the same text comes
// back (the Error block above, or an earlier entry) only its summary line is shown.
import { errorSummary, formatDuration, formatTime, h, nodeLink, relativeTime, statusBadge } from '../dom.js';

const ENDED = ['Finished', 'Failed', 'Cancelled'];
const TITLES = { created: 'Created', assigned: 'Assigned', status: 'Status', attachments_updated: 'Attachments updated',
  attachments_applied: 'Attachments applied by the worker', attachments_rejected: 'Attachments rejected by the worker',
  lost: 'Lost', released: 'Released by its node', retry: 'Retry', desired: 'Requested',
  checkpoint_restored: 'Started from a checkpoint' };

function describeEntry(entry) {
  const parts = [];
  if (entry.status) parts.push(entry.status);
  if (entry.desiredStatus) parts.push(entry.desiredStatus);
  if (entry.executor) parts.push(`node ${entry.executor}`);
  if (entry.version !== undefined) parts.push(`version ${entry.version}`);
  if (entry.exitCode !== undefined && entry.exitCode !== null) parts.push(`exit code ${entry.exitCode}`);
  if (entry.reason) parts.push(entry.reason);
  if (entry.by) parts.push(`by ${entry.by}`);
  if (entry.retry !== undefined) parts.push(`retry ${entry.retry}`);
  if (entry.className) parts.push(entry.className);
  if (entry.source) parts.push(`from ${entry.source}`);
  if (entry.checkpoint) parts.push(`saved by attempt ${entry.checkpoint.attempt}`);
  return parts.join(' · ');
}

/** Entries in order, split where the attempt changes; entries without an attempt join the current one. */
export function groupByAttempt(entries) {
  const groups = [];
  let current = null;
  for (const entry of entries) {
    const attempt = Number.isInteger(entry.attempt) ? entry.attempt : (current ? current.attempt : 0);
    if (!current || attempt !== current.attempt) {
      current = groups.find((group) => group.attempt === attempt) || null;
      if (!current) {
        current = { attempt, entries: [] };
        groups.push(current);
      }
    }
    current.entries.push(entry);
  }
  return groups;
}

/** When the attempt started and ended (null while it runs), its node and how it ended (else its last status). */
export function attemptSummary(group) {
  const assigned = group.entries.find((entry) => entry.type === 'assigned');
  const statuses = group.entries.filter((entry) => entry.type === 'status' && entry.status);
  const last = statuses[statuses.length - 1];
  const end = group.entries.findLast((entry) => (entry.type === 'status' && ENDED.includes(entry.status))
    || entry.type === 'lost' || entry.type === 'released');
  const start = assigned || group.entries[0];
  return { start: start?.ts, end: end ? end.ts : null, executor: assigned?.executor || last?.executor || null,
    status: end?.status || (end?.type === 'lost' ? 'Lost' : last?.status) || null };
}

/** A traceback shown once per page: `shown` holds the texts already on it. */
export function traceback(text, { shown, open = false, key, openState }) {
  const summary = errorSummary(text);
  if (shown.has(text)) {
    return h('p', { class: 'entry-error same-error', text: `${summary} (traceback shown above)` });
  }
  shown.add(text);
  const isOpen = openState && openState.has(key) ? openState.get(key) : open;
  return h('details', { class: 'traceback', open: isOpen, dataset: { key },
    ontoggle: (event) => openState && openState.set(key, event.currentTarget.open) },
  h('summary', { class: 'entry-error', text: summary }), h('pre', { text }));
}

function entryItem(entry, index, context) {
  return h('li', { class: `entry type-${entry.type}`, dataset: { type: entry.type, status: entry.status || '' } },
    h('time', { datetime: new Date(entry.ts).toISOString(), title: formatTime(entry.ts), text: formatTime(entry.ts) }),
    h('strong', { text: TITLES[entry.type] || entry.type }), ' ', h('span', { text: describeEntry(entry) }),
    entry.error ? traceback(String(entry.error), { ...context, key: `entry-${index}` }) : null);
}

function durationOf(summary, running) {
  if (!summary.start) return null;
  if (summary.end) return h('span', { class: 'duration', text: `ran ${formatDuration(summary.end - summary.start)}` });
  if (!running) return null;
  return h('span', { class: 'duration' }, 'running for ',
    h('span', { dataset: { since: String(summary.start) }, text: formatDuration(Date.now() - summary.start) }));
}

function groupHeader(group, summary, running) {
  if (group.attempt === 0) return h('h4', { class: 'attempt-title', text: 'Before the first attempt' });
  const parts = [h('span', { text: `Attempt ${group.attempt}` })];
  if (summary.executor) parts.push(h('span', {}, 'on ', nodeLink(summary.executor)));
  if (summary.status) parts.push(statusBadge(summary.status));
  if (summary.start) parts.push(h('span', {}, 'started ', relativeTime(summary.start)));
  const duration = durationOf(summary, running);
  if (duration) parts.push(duration);
  return h('h4', { class: 'attempt-title' }, parts.flatMap((part, index) => (index ? [' · ', part] : [part])));
}

/** The grouped history as list items for the History list; `task` tells which attempt still runs. */
export function historyItems(entries, task, context) {
  if (!entries.length) return [h('li', { class: 'muted', text: 'No history recorded.' })];
  let index = 0;
  return groupByAttempt(entries).map((group) => {
    const summary = attemptSummary(group);
    const running = group.attempt === task.attempt && !ENDED.includes(task.lifecycleStatus);
    return h('li', { class: 'attempt', dataset: { attempt: String(group.attempt) } },
      groupHeader(group, summary, running),
      h('ol', { class: 'timeline' }, group.entries.map((entry) => entryItem(entry, index++, context))));
  });
}

/** How long the task's current attempt has run (or ran), for the Fields list. */
export function currentRunTime(entries, task) {
  const group = groupByAttempt(entries).find((item) => item.attempt === task.attempt && item.attempt > 0);
  return group ? durationOf(attemptSummary(group), !ENDED.includes(task.lifecycleStatus)) : null;
}
