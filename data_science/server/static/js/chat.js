// The conversation: messages, the streamed reply (ADK /run_sse), tool lines, metrics cards,
// charts and downloads. Agent text goes through renderMarkdown(); everything else is textContent.

import { APP, els, state } from "./state.js";
import { adkSessionUrl, errorDetail, errorText, fetchJson, readable, request } from "./api.js";
import { el, errorLine, noticeLine, scrollDown, setBusy } from "./dom.js";
import { renderMarkdown } from "./markdown.js";
import { watchJobs } from "./jobs.js";
import { showImage } from "./dialogs.js";
import { addShowCode } from "./notebook.js";

const IMAGE_TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp"];

const view = {
  turn: null,        // the agent message element replies are added to
  partial: null,     // {text, node} while partial text chunks stream in
  charts: new Set(), // "filename@version" already shown
  blobUrls: [],
  toolCalls: new Map(), // call id → its tool line, which the answer completes
};

/** Called after every delivered turn with the session id and the message (main.js sets it). */
export const chatHooks = { turnEnded: async () => {} };

export function resetChat() {
  view.blobUrls.forEach((url) => URL.revokeObjectURL(url));
  Object.assign(view, {
    turn: null, partial: null, charts: new Set(), blobUrls: [], toolCalls: new Map(),
  });
  els.messages.replaceChildren();
}

export function renderHistory(events) {
  for (const event of events) renderEvent(event, false);
  view.partial = null;
  view.turn = null;
}

/** Put a node in the conversation outside any agent turn (upload chips, errors). */
export function addLine(node) {
  view.turn = null;
  els.messages.append(node);
  scrollDown();
  return node;
}

export const addError = (message, onRetry) => addLine(errorLine(message, onRetry));

function addUserMessage(text) {
  const msg = el("div", "msg user");
  msg.append(el("div", "bubble", text));
  return addLine(msg);
}

function addToTurn(node) {
  if (!view.turn) {
    view.turn = el("div", "msg agent");
    els.messages.append(view.turn);
  }
  view.turn.append(node);
  scrollDown();
  return node;
}

function renderText(text, partial) {
  if (partial) {
    if (!view.partial) view.partial = { text: "", node: addToTurn(el("div", "bubble")) };
    view.partial.text += text;
    view.partial.node.innerHTML = renderMarkdown(view.partial.text);
  } else {
    // The final event repeats the whole text: it replaces the streamed bubble.
    const node = view.partial ? view.partial.node : addToTurn(el("div", "bubble"));
    view.partial = null;
    node.innerHTML = renderMarkdown(text);
  }
  scrollDown();
}

const formatMetric = (value) => (typeof value === "number" ? value.toFixed(3) : String(value));

// Any tool that reports held-out metrics (train, tune_model, automl, …) gets the compact card.
function metricsCard(name, result) {
  const report = result.test_metrics ? result : result.strong_model || {};
  const card = el("section", "metrics-card");
  const model = report.model || name;
  const target = result.target ? ` → ${result.target}` : "";
  card.setAttribute("aria-label", `Test metrics of ${model}`);
  card.append(el("div", "metrics-title", `${model}${target}`));
  const list = el("dl");
  for (const [metric, value] of Object.entries(report.test_metrics)) {
    list.append(el("dt", null, metric.replace(/_/g, " ")), el("dd", null, formatMetric(value)));
  }
  const task = report.task ? ` · ${report.task}` : "";
  card.append(list, el("div", "metrics-foot", `test split: n_train ${report.n_train} / n_test ${report.n_test}${task}`));
  return card;
}

// A tool line opens to show what the tool was asked, and once it answers, what it found.
function toolLine({ id, name, args }) {
  const line = el("details", "tool-call");
  line.append(el("summary", "tool", `⚙ ${name}`));
  line.append(el("pre", "tool-args", JSON.stringify(args || {}, null, 2)));
  if (id) view.toolCalls.set(id, line);
  return line;
}

const SUMMARY_FIELDS = 4;
const SUMMARY_CHARACTERS = 240;

/** One line for a tool's answer: its own sentence when it has one, else its first few values. */
function resultSummary(result) {
  let text;
  if (result.status === "error") text = `error (${result.error}): ${result.message}`;
  else if (typeof result.action === "string") text = result.action;
  else {
    text = Object.entries(result)
      .filter(([key, value]) => key !== "status" && value !== null && typeof value !== "object")
      .slice(0, SUMMARY_FIELDS).map(([key, value]) => `${key}: ${value}`).join(" · ") || "done";
  }
  return text.length > SUMMARY_CHARACTERS ? `${text.slice(0, SUMMARY_CHARACTERS - 1)}…` : text;
}

function renderToolResult({ id, name, response }) {
  const result = response || {};
  const line = id && view.toolCalls.get(id);
  if (line) line.append(el("div", "tool-outcome", `→ ${resultSummary(result)}`));
  if (line && result.status === "ok") addShowCode(line, id, name);
  if (result.status === "error") {
    addToTurn(errorLine(`${name}: ${result.message || "the tool failed."}`));
  } else if (result.status === "ok" && (result.test_metrics || result.strong_model?.test_metrics)) {
    addToTurn(metricsCard(name, result));
  }
}

// Artifacts come back as a genai Part; bytes may be URL-safe base64 without padding.
function toStandardBase64(data) {
  const b64 = data.replace(/-/g, "+").replace(/_/g, "/");
  return b64 + "=".repeat((4 - (b64.length % 4)) % 4);
}

function chartFigure(filename) {
  const figure = el("figure", "chart-figure");
  const img = Object.assign(el("img", "chart"), { alt: `Chart ${filename}` });
  img.addEventListener("load", scrollDown);
  const open = el("button", "chart-open");
  open.type = "button";
  open.setAttribute("aria-label", `Enlarge chart ${filename}`);
  open.append(img);
  const download = Object.assign(el("a", "download", "Download PNG"), { download: filename });
  const caption = el("figcaption");
  caption.append(download);
  figure.append(open, caption);
  open.addEventListener("click", () => showImage(img.src, img.alt, download.href, filename));
  return { figure, img, download };
}

// Charts show inline; any other file the agent made (CSV, workbook, model) gets a download link.
async function addArtifact(filename, version) {
  const key = `${filename}@${version}`;
  if (view.charts.has(key)) return;
  view.charts.add(key);
  const isImage = /\.(png|jpe?g|gif|webp)$/i.test(filename);
  const chart = isImage ? chartFigure(filename) : null;
  const link = chart ? chart.download : Object.assign(el("a", "download", `Download ${filename}`), { download: filename });
  const node = addToTurn(chart ? chart.figure : link);
  const sessionId = state.sessionId;
  try {
    const part = await fetchJson(`${adkSessionUrl()}/artifacts/${encodeURIComponent(filename)}?version=${encodeURIComponent(version)}`);
    const data = part.inlineData || part.inline_data || {};
    const mime = data.mimeType || data.mime_type || "application/octet-stream";
    if (!data.data) throw new Error("the file is empty");
    if (isImage && !IMAGE_TYPES.includes(mime)) throw new Error("it is not a PNG, JPEG, GIF or WebP image");
    if (sessionId !== state.sessionId) return; // the chat changed meanwhile
    const b64 = toStandardBase64(data.data);
    if (chart) chart.img.src = `data:${mime};base64,${b64}`;
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    // Downloads are served as opaque bytes so the browser never renders them on this origin.
    const type = isImage ? mime : "application/octet-stream";
    link.href = URL.createObjectURL(new Blob([bytes], { type }));
    view.blobUrls.push(link.href);
  } catch (error) {
    node.replaceWith(errorLine(`Could not show the file ${filename}: ${readable(error)}`));
  }
}

// ---------- events (from history or from the live stream)

function renderEvent(event, live, retry) {
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
      if (event.partial) continue; // streamed pieces of the call; the final event has it whole
      addToTurn(toolLine(part.functionCall));
      if (live) {
        els.status.textContent = `Running ${part.functionCall.name}…`;
        watchJobs();
      }
    } else if (part.functionResponse) {
      renderToolResult(part.functionResponse);
      if (live) els.status.textContent = "Working…";
    }
  }
  if (event.errorMessage) addToTurn(errorLine(`The model failed: ${event.errorMessage}`, retry));
  const delta = (event.actions && event.actions.artifactDelta) || {};
  for (const [filename, version] of Object.entries(delta)) addArtifact(filename, version);
}

function handleSseBlock(block, retry) {
  const data = block.split("\n").filter((line) => line.startsWith("data:"))
    .map((line) => line.slice(5).replace(/^ /, "")).join("\n");
  if (!data) return;
  let event;
  try {
    event = JSON.parse(data);
  } catch {
    addToTurn(errorLine("The server sent a reply this page could not read.", retry));
    return;
  }
  if (event.error) addToTurn(errorLine(`The reply failed: ${event.error}`, retry));
  else renderEvent(event, true, retry);
}

async function readStream(res, retry) {
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    buffer += decoder.decode(value || new Uint8Array(), { stream: !done });
    buffer = buffer.replace(/\r\n/g, "\n");
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      handleSseBlock(buffer.slice(0, cut), retry);
      buffer = buffer.slice(cut + 2);
    }
    if (done) {
      if (buffer.trim()) handleSseBlock(buffer, retry);
      return;
    }
  }
}

// ---------- sending

/** Send a message and stream the reply. The typed text is cleared only once the server has it. */
export async function send(text, retrying = false) {
  if (state.busy || !state.sessionId || !text.trim()) return;
  const sessionId = state.sessionId;
  setBusy(true, "Working…");
  if (!retrying) addUserMessage(text);
  view.turn = null;
  view.partial = null;
  const retry = () => send(text, true);
  let delivered = false;
  try {
    let res;
    try {
      res = await request("/run_sse", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
        body: JSON.stringify({
          appName: APP, userId: state.userId, sessionId, streaming: true,
          newMessage: { role: "user", parts: [{ text }] },
        }),
      });
      if (res.status === 409) { // a turn started in another tab or by another client still runs
        addLine(noticeLine(await errorDetail(res) || "This chat is busy; try again shortly.", retry));
        return;
      }
      if (!res.ok) throw new Error(await errorText(res));
    } catch (error) {
      addError(`Could not send the message: ${readable(error)}`, retry);
      return;
    }
    delivered = true;
    if (els.input.value === text) els.input.value = ""; // the request started: now it is safe
    try {
      await readStream(res, retry);
    } catch (error) {
      addError(`The reply was interrupted: ${readable(error)}`, retry);
    }
  } finally {
    view.partial = null;
    view.turn = null;
    els.status.textContent = "";
    // Still busy while the chat is named and the list refreshed: a new turn must not race
    // that update of the same session.
    if (delivered) await chatHooks.turnEnded(sessionId, text);
    setBusy(false);
  }
}

