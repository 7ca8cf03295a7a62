// fetch() wrapper: adds the token, parses JSON, and turns error bodies into readable messages.
import { auth } from './auth.js';

// The dashboard lives at <root>/dashboard/; the API at <root>/api/ (works behind a path prefix too).
export const ROOT = new URL('../', document.baseURI);

export class ApiError extends Error {
  constructor(status, body, message) {
    super(message);
    this.status = status;
    this.body = body;
  }

  // FastAPI's 422 body: [{loc, msg}] -> readable lines.
  get details() {
    const detail = this.body && this.body.detail;
    if (!Array.isArray(detail)) return [];
    return detail.map((item) => {
      const where = (item.loc || []).filter((part) => part !== 'body').join('.');
      return where ? `${where}: ${item.msg}` : String(item.msg);
    });
  }
}

function describe(status, body) {
  if (status === 0) return 'The controller cannot be reached. Is it running?';
  if (body && typeof body === 'object') {
    if (Array.isArray(body.detail)) return 'The controller refused the request:';
    const text = body.message && body.error !== body.message && typeof body.error === 'string'
      && body.error !== 'Not Found' ? `${body.error}: ${body.message}` : (body.message || body.error);
    if (text) return String(text);
  }
  return `The controller answered ${status}.`;
}

export function url(path, query = {}) {
  const target = new URL(path.replace(/^\//, ''), ROOT);
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') target.searchParams.set(key, value);
  }
  return target;
}

export async function api(path, { method = 'GET', body, query, signal } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const token = auth.token();
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(url(path, query), {
      method, headers, signal, body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError(0, null, describe(0));
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (!response.ok) {
    const error = new ApiError(response.status, data, describe(response.status, data));
    if (response.status === 401) auth.expired(error.message);
    throw error;
  }
  return data;
}
