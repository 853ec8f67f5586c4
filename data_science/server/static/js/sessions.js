// The side list of the person's chats: new, switch, rename (ADK PATCH of state "title") and
// delete (DELETE /api/users/{u}/sessions/{s}: history, files and charts). The current chat is
// kept in the URL (#session=…) and in localStorage, so a reload opens it again.

import { els, state } from "./state.js";
import { adkSessionUrl, adkSessionsUrl, apiSessionUrl, fetchJson, jsonBody, readable } from "./api.js";
import { button, el, iconButton, setBusy } from "./dom.js";
import { addError, renderHistory, resetChat } from "./chat.js";
import { clearSuggestions, showUploadedFiles, startWaitingUploads } from "./upload.js";
import { stopWatchingJobs, watchJobs } from "./jobs.js";
import { showUsage } from "./status.js";
import { confirmAction } from "./dialogs.js";

const SESSION_KEY = "ds.sessionId";
const TITLE_LENGTH = 60;

const titleOf = (session) => (session.state && typeof session.state.title === "string" && session.state.title) || "New chat";

function whenText(seconds) {
  if (!seconds) return "";
  const date = new Date(seconds * 1000);
  const today = new Date().toDateString() === date.toDateString();
  return today
    ? date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" })
    : date.toLocaleDateString(undefined, { day: "numeric", month: "short", year: "numeric" });
}

/** The session id a reload should reopen: the URL's, else the last one opened here. */
export function savedSessionId() {
  const match = /^#session=([^&]+)$/.exec(location.hash);
  return match ? decodeURIComponent(match[1]) : localStorage.getItem(SESSION_KEY);
}

function remember(sessionId) {
  localStorage.setItem(SESSION_KEY, sessionId);
  history.replaceState(null, "", `#session=${encodeURIComponent(sessionId)}`);
}

// ---------- the list

function renderList() {
  els.sessionList.replaceChildren(...state.sessions.map(sessionItem));
}

function sessionItem(session) {
  const title = titleOf(session);
  const item = el("li", "session");
  item.dataset.sessionId = session.id;
  const open = button("", "session-open", () => switchTo(session.id));
  open.append(el("span", "session-title", title), el("span", "session-when", whenText(session.lastUpdateTime)));
  if (session.id === state.sessionId) {
    item.classList.add("current");
    open.setAttribute("aria-current", "page");
  }
  const rename = iconButton("edit", `Rename “${title}”`, "rename", () => startRename(item, session));
  const remove = iconButton("delete", `Delete “${title}”`, "delete", () => deleteSession(session));
  for (const node of [open, rename, remove]) {
    node.dataset.idleOnly = "";
    node.disabled = state.busy;
  }
  item.append(open, rename, remove);
  return item;
}

/** Reload the list from the server (after a turn: new titles, order, and this chat's cost). */
export async function refreshSessions() {
  const sessions = await fetchJson(adkSessionsUrl());
  state.sessions = sessions.sort((a, b) => (b.lastUpdateTime || 0) - (a.lastUpdateTime || 0));
  renderList();
  const current = state.sessions.find((s) => s.id === state.sessionId);
  showUsage(current && current.state && current.state.llm_usage);
}

// The list is refreshed again after every turn: a failed refresh must not bury the
// conversation under error lines (the action that led here reports its own failure).
async function refreshQuietly() {
  try {
    await refreshSessions();
  } catch { /* keep the list as it is */ }
}

// ---------- open, new, switch

function show(session) {
  state.sessionId = session.id;
  state.opening = false;
  remember(session.id);
  stopWatchingJobs();
  clearSuggestions();
  resetChat();
  renderHistory(session.events || []);
  setBusy(false);
  // Files chosen while the chat opened start after its file list, so none is listed twice.
  showUploadedFiles(session.id).then(startWaitingUploads);
  watchJobs(); // a job may still run from before a reload
  renderList();
  showUsage(session.state && session.state.llm_usage);
  els.sessions.classList.remove("open");
  els.toggleSessions.setAttribute("aria-expanded", "false");
}

// A chat that did not open leaves the one that was open, if any: waiting uploads go there; with
// none, they keep waiting, their lines shown under the error that says why.
function openingFailed() {
  state.opening = false;
  setBusy(false);
  startWaitingUploads();
}

/** Open a session by id; false when it does not exist (for this user). */
export async function openSession(sessionId) {
  setBusy(true, "Loading the conversation…");
  state.opening = true;
  try {
    show(await fetchJson(adkSessionUrl(sessionId)));
    return true;
  } catch (error) {
    openingFailed();
    if (error.status === 404) return false;
    addError(`Could not load the conversation: ${readable(error)}`, () => openSession(sessionId));
    return true;
  }
}

export async function newSession() {
  // An untouched chat is reused rather than piling up empty ones.
  if (state.sessionId && !els.messages.childElementCount) {
    els.input.focus();
    return;
  }
  setBusy(true, "Starting a new chat…");
  state.opening = true;
  try {
    show(await fetchJson(adkSessionsUrl(), jsonBody("POST", {})));
    await refreshSessions();
    els.input.focus();
  } catch (error) {
    if (state.opening) openingFailed();
    else setBusy(false);
    addError(`Could not start a chat: ${readable(error)}`, newSession);
  }
}

async function switchTo(sessionId) {
  if (state.busy || sessionId === state.sessionId) return;
  if (!(await openSession(sessionId))) {
    addError("That chat no longer exists.");
    await refreshQuietly();
  }
}

/** At start: the saved chat, else the most recent one, else a new one. */
export async function restoreSession() {
  await refreshSessions();
  const saved = savedSessionId();
  if (saved && (await openSession(saved))) return;
  if (state.sessions.length && (await openSession(state.sessions[0].id))) return;
  state.sessionId = "";
  await newSession();
}

// ---------- rename

async function setTitle(sessionId, title) {
  await fetchJson(adkSessionUrl(sessionId), jsonBody("PATCH", { stateDelta: { title } }));
}

function startRename(item, session) {
  const form = el("form", "rename-form");
  const input = Object.assign(el("input"), { value: session.state?.title || "", maxLength: 120 });
  input.setAttribute("aria-label", "New name for this chat");
  input.placeholder = "Name this chat";
  form.append(input);
  let done = false;
  const finish = async (save) => {
    if (done) return;
    done = true;
    const title = input.value.trim();
    try {
      if (save && title && title !== titleOf(session)) await setTitle(session.id, title);
    } catch (error) {
      addError(`Could not rename the chat: ${readable(error)}`);
    }
    await refreshQuietly();
    els.sessionList.querySelector(`[data-session-id="${CSS.escape(session.id)}"] .rename`)?.focus();
  };
  form.addEventListener("submit", (e) => { e.preventDefault(); finish(true); });
  input.addEventListener("keydown", (e) => { if (e.key === "Escape") { e.preventDefault(); finish(false); } });
  input.addEventListener("blur", () => finish(true));
  item.replaceChildren(form);
  input.focus();
  input.select();
}

/** After a turn: name an untitled chat after its first message, then refresh the list and cost. */
export async function afterTurn(sessionId, text) {
  const session = state.sessions.find((s) => s.id === sessionId);
  if (session && !(session.state && session.state.title) && text.trim()) {
    const words = text.trim().replace(/\s+/g, " ");
    const title = words.length > TITLE_LENGTH ? `${words.slice(0, TITLE_LENGTH).replace(/\s\S*$/, "")}…` : words;
    try { await setTitle(sessionId, title); } catch { /* the chat keeps "New chat" */ }
  }
  await refreshQuietly();
}

// ---------- delete

async function deleteSession(session) {
  if (state.busy) return;
  const title = titleOf(session);
  const sure = await confirmAction(`Delete “${title}”?`,
    "Its messages, uploaded files, charts and models are removed for good.", "Delete chat");
  if (!sure) return;
  try {
    await fetchJson(apiSessionUrl(session.id), { method: "DELETE" });
  } catch (error) {
    addError(`Could not delete “${title}”: ${readable(error)}`, () => deleteSession(session));
    return;
  }
  await refreshQuietly();
  if (session.id !== state.sessionId) return;
  state.sessionId = "";
  if (!state.sessions.length || !(await openSession(state.sessions[0].id))) await newSession();
}
