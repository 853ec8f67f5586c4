// Uploads: one progress bar per file, a chip per accepted file (name, size, rows × columns),
// the server's reason for a refused one, and one-click next steps that fit the data.

import { els, state } from "./state.js";
import { apiSessionUrl, asksForToken, authHeaders, fetchJson, obtainToken, readable } from "./api.js";
import { button, el, errorLine, formatBytes, keepingBottom, noticeLine, plural } from "./dom.js";
import { addError, addLine, send } from "./chat.js";

function shape(rows, columns) {
  return rows != null && Array.isArray(columns) ? `${plural(rows, "row")} × ${plural(columns.length, "column")}` : "";
}

/** A chip for an accepted file: from an upload answer, or from the session's file list. */
export function chip({ filename, size_bytes: size, summary = {} }) {
  const bits = [filename, formatBytes(size), shape(summary.rows, summary.columns)];
  const extracted = summary.extracted || [];
  if (summary.extracted) bits.push(`${plural(extracted.length, "file")} extracted`);
  const node = el("div", "chip", bits.filter(Boolean).join(" · "));
  const details = Array.isArray(summary.columns)
    ? summary.columns.map((c) => `${c.name} (${c.type})`)
    : extracted.map((m) => [m.filename, shape(m.rows, m.columns)].filter(Boolean).join(": "));
  for (const skipped of summary.skipped || []) details.push(`skipped ${skipped.name}: ${skipped.reason}`);
  if (summary.encoding) details.push(`read as ${summary.encoding} text`);
  if (details.length) node.title = details.join("\n");
  return node;
}

// The table the suggestions are about: the file itself, or the first table a ZIP held.
function tableOf(body) {
  if (body.kind === "table") return body.file_id;
  const member = (body.summary?.extracted || []).find((m) => m.kind === "table");
  return member ? member.file_id : null;
}

export function clearSuggestions() {
  els.suggestions.replaceChildren();
  els.suggestions.hidden = true;
}

/** Offer the server's next steps for a table as buttons that send the request. */
export async function showSuggestions(fileId) {
  const sessionId = state.sessionId;
  let answer;
  try {
    answer = await fetchJson(`${apiSessionUrl()}/files/${encodeURIComponent(fileId)}/suggestions`);
  } catch {
    return; // suggestions are a shortcut: without them the person types the request
  }
  if (sessionId !== state.sessionId || !answer.suggestions.length) return;
  const buttons = answer.suggestions.map((s) => {
    const node = button(s.label, "suggestion secondary", () => send(s.message));
    node.title = `Sends: “${s.message}”`;
    node.dataset.idleOnly = "";
    node.disabled = state.busy;
    return node;
  });
  const hide = button("×", "suggestions-close", clearSuggestions);
  hide.setAttribute("aria-label", "Hide suggestions");
  keepingBottom(() => {
    els.suggestions.replaceChildren(el("span", "suggestions-label", "Try:"), ...buttons, hide);
    els.suggestions.hidden = false;
  });
}

function uploadFile(file, sessionId) {
  const item = el("div", "upload");
  const bar = Object.assign(el("progress"), { max: 100, value: 0 });
  bar.setAttribute("aria-label", `Uploading ${file.name}`);
  item.append(el("span", "upload-name", file.name), bar);
  addLine(item);
  const fail = (message) => item.replaceWith(errorLine(`${file.name}: ${message}`, () => {
    addLine(item);
    start();
  }));

  function start() {
    bar.value = 0;
    const form = new FormData();
    form.append("user_id", state.userId);
    form.append("session_id", sessionId);
    form.append("file", file);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/uploads");
    for (const [header, value] of Object.entries(authHeaders())) xhr.setRequestHeader(header, value);
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) bar.value = (100 * e.loaded) / e.total;
    });
    xhr.addEventListener("load", async () => {
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (asksForToken(xhr.status, xhr.getResponseHeader("WWW-Authenticate")) && (await obtainToken())) return start();
      const reason = body.message || `the upload failed (HTTP ${xhr.status}).`;
      // A refusal (wrong type, too large, unreadable) will not change on retry; a server error may.
      if (xhr.status >= 500) return fail(reason);
      if (xhr.status < 200 || xhr.status >= 300) return item.replaceWith(errorLine(`${file.name}: ${reason}`));
      item.replaceWith(chip(body));
      const table = tableOf(body);
      if (table && sessionId === state.sessionId) showSuggestions(table);
    });
    xhr.addEventListener("error", () => fail("the upload failed (network error)."));
    xhr.send(form);
  }
  start();
}

// Files chosen while no chat is open (the page is starting, or opening another chat): each
// waits, with a line saying so, and goes to the chat that opens.
const waiting = [];

export function uploadFiles(files) {
  for (const file of files) {
    if (state.sessionId && !state.opening) uploadFile(file, state.sessionId);
    else waiting.push({ file, line: addLine(noticeLine(`${file.name}: waiting for the chat to open…`)) });
  }
}

/** Start the uploads that waited, once a chat is open (sessions.js calls it). */
export function startWaitingUploads() {
  if (!state.sessionId || state.opening) return;
  for (const { file, line } of waiting.splice(0)) {
    line.remove();
    uploadFile(file, state.sessionId);
  }
}

/** Uploads are not chat events: after a reload their chips come from the files route. */
export async function showUploadedFiles(sessionId) {
  try {
    const { files } = await fetchJson(`${apiSessionUrl(sessionId)}/files`);
    if (sessionId !== state.sessionId) return;
    const uploaded = files.filter((f) => !f.parent_id && f.kind !== "model");
    els.messages.prepend(...uploaded.map((f) =>
      chip({ filename: f.name, size_bytes: f.size_bytes, summary: { rows: f.rows, columns: f.columns } })));
    const latest = uploaded.filter((f) => f.kind === "table").pop();
    if (latest) showSuggestions(latest.id);
  } catch (error) {
    if (sessionId === state.sessionId) addError(`Could not list this chat's files: ${readable(error)}`);
  }
}
