// Server-Sent Events from /api/events/{tasks,skalds}, with a visible connection state.
//
// EventSource retries by itself after a dropped connection (sending Last-Event-ID, so nothing is
// missed). When the browser gives up (the controller answered an error or was down at connect
// time), we reconnect with a growing delay and tell the views to re-read ("resync"), since events
// sent meanwhile may be gone. EventSource cannot send headers, so the token goes as ?token=.
import { auth } from './auth.js';
import { api, url } from './api.js';

const TASK_EVENTS = ['task_created', 'task_assigned', 'task_status', 'task_heartbeat', 'task_attachments',
  'task_lost', 'task_exception', 'task_error'];
const SKALD_EVENTS = ['skald_status', 'skald_heartbeat'];
const MAX_DELAY_MS = 30000;

class Stream {
  constructor(feed, name, events) {
    this.feed = feed;
    this.name = name;
    this.events = events;
    this.source = null;
    this.state = 'idle';
    this.delay = 1000;
    this.timer = null;
    this.everOpen = false;
  }

  open() {
    this.close();
    const token = auth.token();
    this.source = new EventSource(url(`api/events/${this.name}`, { token }));
    this.setState('connecting');
    this.source.addEventListener('open', () => {
      const reconnected = this.everOpen;
      this.everOpen = true;
      this.delay = 1000;
      this.setState('live');
      if (reconnected) this.feed.emit('resync', { stream: this.name });
    });
    this.source.addEventListener('error', () => this.onError());
    for (const name of this.events) {
      this.source.addEventListener(name, (message) => this.onMessage(name, message));
    }
  }

  onMessage(name, message) {
    let envelope;
    try {
      envelope = JSON.parse(message.data);
    } catch {
      return; // not ours; the controller only sends JSON
    }
    this.feed.lastEventAt = Date.now();
    this.feed.emit(this.name === 'tasks' ? 'task' : 'skald', { name, ...envelope });
  }

  onError() {
    if (!this.source) return;
    if (this.source.readyState === EventSource.CONNECTING) {
      this.setState('reconnecting'); // the browser retries by itself
      return;
    }
    this.source.close();
    this.source = null;
    this.setState('reconnecting');
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.retry(), this.delay);
    this.delay = Math.min(this.delay * 2, MAX_DELAY_MS);
  }

  async retry() {
    // Ask first whether the token still works: reconnecting with a revoked one would only fail again.
    try {
      const session = await api('api/dashboard/session');
      if (session.authRequired && !session.role) {
        this.setState('offline');
        auth.expired(session.error || 'the token is no longer accepted');
        return;
      }
    } catch {
      this.setState('reconnecting');
      this.timer = setTimeout(() => this.retry(), this.delay);
      this.delay = Math.min(this.delay * 2, MAX_DELAY_MS);
      return;
    }
    this.open();
    this.everOpen = true; // the next 'open' is a reconnection: views re-read what they show
  }

  close() {
    clearTimeout(this.timer);
    if (this.source) this.source.close();
    this.source = null;
    this.setState('idle');
  }

  setState(state) {
    this.state = state;
    this.feed.updateState();
  }
}

class LiveFeed extends EventTarget {
  constructor() {
    super();
    this.streams = [new Stream(this, 'tasks', TASK_EVENTS), new Stream(this, 'skalds', SKALD_EVENTS)];
    this.state = 'idle';
    this.lastEventAt = null;
  }

  start() {
    for (const stream of this.streams) stream.open();
  }

  stop() {
    for (const stream of this.streams) stream.close();
  }

  on(name, handler) {
    const listener = (event) => handler(event.detail);
    this.addEventListener(name, listener);
    return () => this.removeEventListener(name, listener);
  }

  emit(name, detail) {
    this.dispatchEvent(new CustomEvent(name, { detail }));
  }

  // One state for both streams: the worst of the two.
  updateState() {
    const order = ['offline', 'reconnecting', 'connecting', 'live', 'idle'];
    const states = this.streams.map((stream) => stream.state);
    const worst = order.find((state) => states.includes(state)) || 'idle';
    if (worst !== this.state) {
      this.state = worst;
      this.emit('state', worst);
    }
  }
}

export const live = new LiveFeed();
