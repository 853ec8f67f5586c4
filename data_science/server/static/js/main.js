// Chat page for the Data Science Agent: wiring and start-up. Plain ES modules, no dependencies:
// api.js (requests, token), chat.js (conversation), upload.js, sessions.js, jobs.js, status.js.

import { els, state } from "./state.js";
import { fetchJson, onTokenNeeded, readable } from "./api.js";
import { setBusy } from "./dom.js";
import { addError, chatHooks, send } from "./chat.js";
import { uploadFiles } from "./upload.js";
import { afterTurn, newSession, restoreSession } from "./sessions.js";
import { loadStatus } from "./status.js";
import { askForToken } from "./dialogs.js";
import { exportNotebook } from "./notebook.js";

const USER_KEY = "ds.userId";

function randomHex(bytes) {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");
}

// Without sign-in the browser keeps its own user id; with a token the server says who we are.
async function identify(authMode) {
  if (authMode === "none") {
    state.userId = localStorage.getItem(USER_KEY) || `user-${randomHex(8)}`;
    localStorage.setItem(USER_KEY, state.userId);
    return;
  }
  const me = await fetchJson("/api/whoami");
  state.userId = me.user_id;
}

async function boot() {
  setBusy(true, "Starting…");
  try {
    const status = await loadStatus();
    await identify(status.auth_mode || "none");
    await restoreSession();
  } catch (error) {
    setBusy(false);
    addError(`Could not start: ${readable(error)}`, boot);
  }
}

// ---------- wiring

onTokenNeeded(askForToken);
chatHooks.turnEnded = afterTurn;

els.form.addEventListener("submit", (e) => {
  e.preventDefault();
  send(els.input.value);
});

els.input.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    send(els.input.value);
  }
});

els.newChat.addEventListener("click", () => state.busy || newSession());
els.exportNotebook.addEventListener("click", () => state.busy || exportNotebook(els.exportNotebook));

// The skip link moves focus without touching the URL, which holds the open chat.
document.querySelector(".skip-link").addEventListener("click", (e) => {
  e.preventDefault();
  els.input.focus();
});

function toggleSessions(open) {
  els.sessions.classList.toggle("open", open);
  els.toggleSessions.setAttribute("aria-expanded", String(open));
  if (open) els.newChat.focus();
}
els.toggleSessions.addEventListener("click", () => toggleSessions(!els.sessions.classList.contains("open")));
// On a phone the list is a drawer over the chat: a tap on the chat closes it.
els.chat.addEventListener("click", () => {
  if (els.sessions.classList.contains("open")) toggleSessions(false);
});
els.sessions.addEventListener("keydown", (e) => {
  if (e.key === "Escape" && els.sessions.classList.contains("open")) {
    toggleSessions(false);
    els.toggleSessions.focus();
  }
});

els.file.addEventListener("change", () => {
  uploadFiles(els.file.files);
  els.file.value = "";
});

els.chat.addEventListener("dragover", (e) => {
  if (!e.dataTransfer || !e.dataTransfer.types.includes("Files")) return;
  e.preventDefault();
  els.chat.classList.add("dragging");
});
els.chat.addEventListener("dragleave", (e) => {
  if (!els.chat.contains(e.relatedTarget)) els.chat.classList.remove("dragging");
});
els.chat.addEventListener("drop", (e) => {
  e.preventDefault();
  els.chat.classList.remove("dragging");
  if (e.dataTransfer && e.dataTransfer.files.length) uploadFiles(e.dataTransfer.files);
});
// A file dropped elsewhere must not make the browser navigate away from the chat.
window.addEventListener("dragover", (e) => e.preventDefault());
window.addEventListener("drop", (e) => e.preventDefault());

boot();
