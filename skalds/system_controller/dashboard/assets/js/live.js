// Server-Sent Events from /api/events/{tasks,skalds}, with a visible connection state.
//
// EventSource retries by itself after a dropped connection (sending Last-Event-ID, so nothing is
// missed). When the browser gives up (the controller answered an error or was down at connect
// time), we reconnect with a growing delay and tell the views to re-read ("resync"), since events
// sent meanwhile may be gone. EventSource cannot send headers, so the token goes as ?token=.
//
// Messages are unnamed, as 0.3.8 sent them: all arrive as 'message' and the envelope's `type`
// (task_status, skald_heartbeat, …) says what happened. Views get the envelope with that type also
// as `name`. The first messages of a connection are 0.3.8's greeting (skipped) and its snapshot.
import { auth } from './auth.js';
import { api, url } from './api.js';

const MAX_DELAY_MS = 30000;

class Stream {
  constructor(feed, name) {
    this.feed = feed;
    this.name = name;
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
    this.source.addEventListener('message', (message) => this.onMessage(message));
  }

  onMessage(message) {
    let envelope;
    try {
      envelope = JSON.parse(message.data);
    } catch {
      return; // not ours; the controller only sends JSON
    }
    if (!envelope || typeof envelope.type !== 'string' || envelope.type === 'connection') return;
    this.feed.lastEventAt = Date.now();
    this.feed.emit(this.name === 'tasks' ? 'task' : 'skald', { ...envelope, name: envelope.type });
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
    this.streams = [new Stream(this, 'tasks'), new Stream(this, 'skalds')];
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
