// Chat page for the Data Science Agent: sessions, uploads, streaming replies and charts.
// Plain ES2020, no dependencies. All agent text goes through renderMarkdown(), which escapes
// every HTML character first; everything else is put on the page with textContent.
"use strict";

const APP = "data_science";
const IMAGE_TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp"];

const $ = (selector) => document.querySelector(selector);
const els = {
  chat: $("#chat"), messages: $("#messages"), status: $("#status"), form: $("#composer"),
  input: $("#message-input"), send: $("#send-button"), file: $("#file-input"), newChat: $("#new-chat"),
};

const state = {
  userId: "", sessionId: "", busy: false,
  turn: null,        // the agent message element replies are added to
  partial: null,     // {text, node} while partial text chunks stream in
  charts: new Set(), // "filename@version" already shown
  blobUrls: [],
};

// ---------- small helpers

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

const scrollDown = () => { els.messages.scrollTop = els.messages.scrollHeight; };

function randomHex(bytes) {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");
}

function formatBytes(n) {
  if (!Number.isFinite(n)) return "";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

const sessionsUrl = () => `/apps/${APP}/users/${encodeURIComponent(state.userId)}/sessions`;
const sessionUrl = () => `${sessionsUrl()}/${encodeURIComponent(state.sessionId)}`;

async function errorText(res) {
  let detail = "";
  try {
    const body = await res.json();
    detail = body.message || body.detail || body.error || "";
  } catch { /* not JSON */ }
  if (typeof detail !== "string") detail = JSON.stringify(detail);
  return `The server answered ${res.status}${detail ? `: ${detail}` : "."}`;
}

async function fetchJson(url, options) {
  const res = await fetch(url, options);
  if (!res.ok) throw Object.assign(new Error(await errorText(res)), { status: res.status });
  return res.json();
}

function setBusy(busy, status = "") {
  state.busy = busy;
  els.send.disabled = busy || !state.sessionId;
  els.newChat.disabled = busy;
  els.status.textContent = status;
}

// ---------- safe minimal markdown

const escapeHtml = (s) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

// Works on already-escaped text: `code` spans first, then **bold** outside them.
function inline(escaped) {
  return escaped
    .split(/(`[^`\n]+`)/)
    .map((seg, i) => (i % 2 ? `<code>${seg.slice(1, -1)}</code>` : seg.replace(/\*\*(.+?)\*\*/g, "<strong>$1</strong>")))
    .join("");
}

const isRow = (line) => /^\s*\|.*\|\s*$/.test(line);
const isSeparator = (line) => /^\s*\|(\s*:?-+:?\s*\|)+\s*$/.test(line);
const isBullet = (line) => /^\s*- /.test(line);
const cells = (line, tag) =>
  line.trim().slice(1, -1).split("|").map((c) => `<${tag}>${inline(c.trim())}</${tag}>`).join("");

function renderMarkdown(text) {
  const lines = escapeHtml(text).split("\n");
  const out = [];
  let para = [];
  const flush = () => {
    if (para.length) out.push(`<p>${para.map(inline).join("<br>")}</p>`);
    para = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (/^\s*```/.test(line)) {
      flush();
      const code = [];
      for (i++; i < lines.length && !/^\s*```/.test(lines[i]); i++) code.push(lines[i]);
      out.push(`<pre><code>${code.join("\n")}</code></pre>`);
    } else if (isRow(line) && isSeparator(lines[i + 1] || "")) {
      flush();
      const rows = [];
      for (i += 2; i < lines.length && isRow(lines[i]); i++) rows.push(`<tr>${cells(lines[i], "td")}</tr>`);
      i--;
      out.push(`<div class="table-wrap"><table><thead><tr>${cells(line, "th")}</tr></thead>` +
        `<tbody>${rows.join("")}</tbody></table></div>`);
    } else if (isBullet(line)) {
      flush();
      const items = [];
      for (; i < lines.length && isBullet(lines[i]); i++) items.push(`<li>${inline(lines[i].replace(/^\s*- /, ""))}</li>`);
      i--;
      out.push(`<ul>${items.join("")}</ul>`);
    } else if (line.trim() === "") {
      flush();
    } else {
      para.push(line);
    }
  }
  flush();
  return out.join("");
}

// ---------- message elements

function addUserMessage(text) {
  state.turn = null;
  const msg = el("div", "msg user");
  msg.append(el("div", "bubble", text));
  els.messages.append(msg);
  scrollDown();
  return msg;
}

function addToTurn(node) {
  if (!state.turn) {
    state.turn = el("div", "msg agent");
    els.messages.append(state.turn);
  }
  state.turn.append(node);
  scrollDown();
  return node;
}

function errorLine(message, onRetry) {
  const line = el("div", "error", message);
  line.setAttribute("role", "alert");
  if (onRetry) {
    const button = el("button", "retry secondary", "Retry");
    button.type = "button";
    button.addEventListener("click", () => {
      if (state.busy) return;
      line.remove();
      onRetry();
    });
    line.append(" ", button);
  }
  return line;
}

function addError(message, onRetry) {
  state.turn = null;
  els.messages.append(errorLine(message, onRetry));
  scrollDown();
}

function renderText(text, partial) {
  if (partial) {
    if (!state.partial) state.partial = { text: "", node: addToTurn(el("div", "bubble")) };
    state.partial.text += text;
    state.partial.node.innerHTML = renderMarkdown(state.partial.text);
  } else {
    // The final event repeats the whole text: it replaces the streamed bubble.
    const node = state.partial ? state.partial.node : addToTurn(el("div", "bubble"));
    state.partial = null;
    node.innerHTML = renderMarkdown(text);
  }
  scrollDown();
}

function metricsCard(result) {
  const card = el("div", "metrics-card");
  card.append(el("div", "metrics-title", `Model: ${result.model} → ${result.target}`));
  const list = el("dl");
  for (const [name, value] of Object.entries(result.test_metrics || {})) {
    list.append(el("dt", null, name), el("dd", null, typeof value === "number" ? value.toFixed(3) : String(value)));
  }
  const task = result.task ? ` · ${result.task}` : "";
  card.append(list, el("div", "metrics-foot", `n_train ${result.n_train} / n_test ${result.n_test}${task}`));
  return card;
}

function renderToolResult({ name, response }) {
  const result = response || {};
  if (result.status === "error") addToTurn(errorLine(`${name}: ${result.message || "the tool failed."}`));
  else if (name === "train" && result.status === "ok") addToTurn(metricsCard(result));
}

// Artifacts come back as a genai Part; bytes may be URL-safe base64 without padding.
function toStandardBase64(data) {
  const b64 = data.replace(/-/g, "+").replace(/_/g, "/");
  return b64 + "=".repeat((4 - (b64.length % 4)) % 4);
}

// Charts show inline; any other file the agent made (CSV, workbook, model) gets a download link.
async function addChart(filename, version) {
  const key = `${filename}@${version}`;
  if (state.charts.has(key)) return;
  state.charts.add(key);
  const isImage = /\.(png|jpe?g|gif|webp)$/i.test(filename);
  const link = addToTurn(isImage
    ? Object.assign(el("a", "chart-link"), { target: "_blank", rel: "noopener", title: "Open full size" })
    : Object.assign(el("a", "download", `Download ${filename}`), { download: filename }));
  const img = Object.assign(el("img", "chart"), { alt: filename });
  if (isImage) {
    img.addEventListener("load", scrollDown);
    link.append(img);
  }
  const sessionId = state.sessionId;
  try {
    const part = await fetchJson(`${sessionUrl()}/artifacts/${encodeURIComponent(filename)}?version=${encodeURIComponent(version)}`);
    const data = part.inlineData || part.inline_data || {};
    const mime = data.mimeType || data.mime_type || "application/octet-stream";
    if (!data.data) throw new Error("the file is empty");
    if (isImage && !IMAGE_TYPES.includes(mime)) throw new Error("it is not a PNG, JPEG, GIF or WebP image");
    if (sessionId !== state.sessionId) return; // the chat changed meanwhile
    const b64 = toStandardBase64(data.data);
    if (isImage) img.src = `data:${mime};base64,${b64}`;
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    // Downloads are served as opaque bytes so the browser never renders them on this origin.
    const type = isImage ? mime : "application/octet-stream";
    link.href = URL.createObjectURL(new Blob([bytes], { type }));
    state.blobUrls.push(link.href);
  } catch (error) {
    link.replaceWith(errorLine(`Could not show the file ${filename}: ${error.message}`));
  }
}

// ---------- events (from history or from the live stream)

function renderEvent(event, live) {
  const parts = (event.content && event.content.parts) || [];
  if (event.author === "user") {
    const text = parts.filter((p) => p.text).map((p) => p.text).join("\n");
    if (!live && text) addUserMessage(text); // live: already shown when sent
    return;
  }
  for (const part of parts) {
    if (part.thought) continue;
    if (typeof part.text === "string" && part.text !== "") {
      renderText(part.text, event.partial === true);
    } else if (part.functionCall) {
      addToTurn(el("div", "tool", `⚙ ${part.functionCall.name}`));
      if (live) els.status.textContent = `Running ${part.functionCall.name}…`;
    } else if (part.functionResponse) {
      renderToolResult(part.functionResponse);
      if (live) els.status.textContent = "Working…";
    }
  }
  if (event.errorMessage) addToTurn(errorLine(event.errorMessage));
  const delta = (event.actions && event.actions.artifactDelta) || {};
  for (const [filename, version] of Object.entries(delta)) addChart(filename, version);
}

function handleSseBlock(block) {
  const data = block.split("\n").filter((line) => line.startsWith("data:"))
    .map((line) => line.slice(5).replace(/^ /, "")).join("\n");
  if (!data) return;
  let event;
  try {
    event = JSON.parse(data);
  } catch {
    addToTurn(errorLine("The server sent a reply this page could not read."));
    return;
  }
  if (event.error) addToTurn(errorLine(String(event.error)));
  else renderEvent(event, true);
}

async function readStream(res) {
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    buffer += decoder.decode(value || new Uint8Array(), { stream: !done });
    buffer = buffer.replace(/\r\n/g, "\n");
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      handleSseBlock(buffer.slice(0, cut));
      buffer = buffer.slice(cut + 2);
    }
    if (done) {
      if (buffer.trim()) handleSseBlock(buffer);
      return;
    }
  }
}

// ---------- sending

async function send(text, retrying = false) {
  if (state.busy || !state.sessionId || !text.trim()) return;
  setBusy(true, "Working…");
  if (!retrying) addUserMessage(text);
  state.turn = null;
  state.partial = null;
  const retry = () => send(text, true);
  try {
    let res;
    try {
      res = await fetch("/run_sse", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
        body: JSON.stringify({
          appName: APP, userId: state.userId, sessionId: state.sessionId, streaming: true,
          newMessage: { role: "user", parts: [{ text }] },
        }),
      });
      if (!res.ok) throw new Error(await errorText(res));
    } catch (error) {
      addError(`Could not send the message: ${readable(error)}`, retry);
      return;
    }
    if (els.input.value === text) els.input.value = ""; // the request started: now it is safe
    try {
      await readStream(res);
    } catch (error) {
      addError(`The reply was interrupted: ${readable(error)}`, retry);
    }
  } finally {
    state.partial = null;
    setBusy(false);
  }
}

function readable(error) {
  return error instanceof TypeError ? "the server cannot be reached (network error)." : error.message;
}

// ---------- uploads

function chip(body, file) {
  const summary = body.summary || {};
  const bits = [body.filename || file.name, formatBytes(body.size_bytes ?? file.size)];
  const columns = Array.isArray(summary.columns) ? summary.columns : null;
  const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
  if (summary.rows != null && columns) bits.push(`${plural(summary.rows, "row")} × ${plural(columns.length, "column")}`);
  const node = el("div", "chip", bits.join(" · "));
  if (columns) node.title = columns.map((c) => `${c.name} (${c.type})`).join(", ");
  return node;
}

function uploadFile(file) {
  if (!state.sessionId) return addError(`${file.name}: there is no chat session yet; reload the page.`);
  const item = el("div", "upload");
  const bar = Object.assign(el("progress"), { max: 100, value: 0 });
  bar.setAttribute("aria-label", `Uploading ${file.name}`);
  item.append(el("span", "upload-name", file.name), bar);
  state.turn = null;
  els.messages.append(item);
  scrollDown();

  const form = new FormData();
  form.append("user_id", state.userId);
  form.append("session_id", state.sessionId);
  form.append("file", file);
  const xhr = new XMLHttpRequest();
  xhr.open("POST", "/api/uploads");
  xhr.upload.addEventListener("progress", (e) => {
    if (e.lengthComputable) bar.value = (100 * e.loaded) / e.total;
  });
  xhr.addEventListener("load", () => {
    let body = {};
    try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
    if (xhr.status >= 200 && xhr.status < 300) item.replaceWith(chip(body, file));
    else item.replaceWith(errorLine(`${file.name}: ${body.message || `the upload failed (HTTP ${xhr.status}).`}`));
  });
  xhr.addEventListener("error", () => item.replaceWith(errorLine(`${file.name}: the upload failed (network error).`)));
  xhr.send(form);
}

const uploadFiles = (files) => Array.from(files).forEach(uploadFile);

// ---------- sessions

function showSession(session) {
  state.sessionId = session.id;
  localStorage.setItem("ds.sessionId", session.id);
  state.blobUrls.forEach((url) => URL.revokeObjectURL(url));
  Object.assign(state, { turn: null, partial: null, charts: new Set(), blobUrls: [] });
  els.messages.replaceChildren();
  for (const event of session.events || []) renderEvent(event, false);
  state.partial = null;
  setBusy(false);
  showUploadedFiles(session.id);
}

// Uploads are not chat events, so after a reload their chips come from the files route.
async function showUploadedFiles(sessionId) {
  try {
    const url = `/api/users/${encodeURIComponent(state.userId)}/sessions/${encodeURIComponent(sessionId)}/files`;
    const { files } = await fetchJson(url);
    const uploaded = files.filter((f) => !f.parent_id && f.kind !== "model");
    const chips = uploaded.map((f) => chip({ filename: f.name, size_bytes: f.size_bytes,
                                             summary: { rows: f.rows, columns: f.columns } }, {}));
    if (sessionId === state.sessionId) els.messages.prepend(...chips);
  } catch (error) {
    addError(`Could not list this chat's files: ${readable(error)}`);
  }
}

async function newSession() {
  setBusy(true, "Starting a new chat…");
  try {
    const init = { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" };
    showSession(await fetchJson(sessionsUrl(), init));
  } catch (error) {
    setBusy(false);
    addError(`Could not start a chat: ${readable(error)}`, newSession);
  }
}

async function boot() {
  state.userId = localStorage.getItem("ds.userId") || `user-${randomHex(8)}`;
  localStorage.setItem("ds.userId", state.userId);
  const saved = localStorage.getItem("ds.sessionId");
  if (!saved) return newSession();
  setBusy(true, "Loading the conversation…");
  try {
    showSession(await fetchJson(`${sessionsUrl()}/${encodeURIComponent(saved)}`));
  } catch (error) {
    setBusy(false);
    if (error.status === 404) return newSession();
    addError(`Could not load the conversation: ${readable(error)}`, boot);
  }
}

// ---------- wiring

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

setBusy(false);
boot();
