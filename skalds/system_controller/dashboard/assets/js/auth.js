// The API token: kept for this tab (sessionStorage), or across restarts when the user asks (localStorage).
// The role comes from /api/dashboard/session, which answers without a 401 for a missing or wrong token.

const KEY = 'skalds.dashboard.token';

class Auth extends EventTarget {
  constructor() {
    super();
    this.role = null;
    this.authRequired = false;
    this.info = {};
  }

  token() {
    return sessionStorage.getItem(KEY) || localStorage.getItem(KEY) || '';
  }

  save(token, remember) {
    this.forget();
    (remember ? localStorage : sessionStorage).setItem(KEY, token);
  }

  forget() {
    sessionStorage.removeItem(KEY);
    localStorage.removeItem(KEY);
    this.role = null;
  }

  get isAdmin() {
    return this.role === 'admin';
  }

  // An API call answered 401: the token was revoked or changed on the controller.
  expired(message) {
    this.role = null;
    this.dispatchEvent(new CustomEvent('expired', { detail: message }));
  }
}

export const auth = new Auth();
