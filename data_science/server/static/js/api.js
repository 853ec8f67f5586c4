// Talking to the server: one fetch wrapper that adds the access token (AUTH_MODE=token) and,
// when the server answers 401, asks the person for a token once and tries again.

import { APP, state } from "./state.js";

const TOKEN_KEY = "ds.token";
const enc = encodeURIComponent;

export const adkSessionsUrl = () => `/apps/${APP}/users/${enc(state.userId)}/sessions`;
export const adkSessionUrl = (id = state.sessionId) => `${adkSessionsUrl()}/${enc(id)}`;
export const apiSessionUrl = (id = state.sessionId) => `/api/users/${enc(state.userId)}/sessions/${enc(id)}`;

export function authHeaders() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { Authorization: `Bearer ${token}` } : {};
}

let askToken = async () => null;
let pendingToken = null;

/** Set the function that asks the person for a token: (rejected: boolean) => Promise<string|null>. */
export function onTokenNeeded(ask) { askToken = ask; }

/** After a 401: get a token from the person (one prompt for all requests waiting). True if one was given. */
export async function obtainToken() {
  const rejected = sessionStorage.getItem(TOKEN_KEY) !== null;
  pendingToken ??= askToken(rejected).finally(() => { pendingToken = null; });
  const token = await pendingToken;
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  return Boolean(token);
}

/** A 401 whose challenge asks for a bearer token (AUTH_MODE=token; a proxy's sign-in is not ours). */
export const asksForToken = (status, challenge) => status === 401 && /^bearer/i.test(challenge || "");

export async function request(url, options = {}) {
  for (;;) {
    const res = await fetch(url, { ...options, headers: { ...options.headers, ...authHeaders() } });
    if (!asksForToken(res.status, res.headers.get("WWW-Authenticate")) || !(await obtainToken())) return res;
  }
}

/** The server's own sentence for a refusal ("" when the body has none). */
export async function errorDetail(res) {
  let detail = "";
  try {
    const body = await res.json();
    detail = body.message || body.detail || body.error || "";
  } catch { /* not JSON */ }
  return typeof detail === "string" ? detail : JSON.stringify(detail);
}

export async function errorText(res) {
  const detail = await errorDetail(res);
  return `The server answered ${res.status}${detail ? `: ${detail}` : "."}`;
}

export async function fetchJson(url, options) {
  const res = await request(url, options);
  if (!res.ok) throw Object.assign(new Error(await errorText(res)), { status: res.status });
  return res.status === 204 ? null : res.json();
}

export const jsonBody = (method, body) =>
  ({ method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });

export function readable(error) {
  return error instanceof TypeError ? "the server cannot be reached (network error)." : error.message;
}
