// The admin API, with the key kept in this tab's sessionStorage and sent as a bearer (docs/security.md).
const STORE = 'keyproxy.key';

export const session = { key: sessionStorage.getItem(STORE) || '' };

export function remember(key) {
  session.key = key;
  if (key) sessionStorage.setItem(STORE, key);
  else sessionStorage.removeItem(STORE);
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export async function api(method, path, body, key = session.key) {
  const headers = { Accept: 'application/json' };
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method, headers, cache: 'no-store', credentials: 'omit',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'keyproxy is not answering');
  }
  let data = null;
  try { data = await response.json(); } catch { data = null; }
  if (!response.ok) {
    const message = data && data.error && data.error.message;
    throw new ApiError(response.status, message || `${response.status} ${response.statusText}`);
  }
  return data;
}
