// Small DOM helpers. Text always goes in with textContent; only markdown.js makes HTML.

import { els, state } from "./state.js";

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

export function button(label, className, onClick) {
  const node = el("button", className, label);
  node.type = "button";
  node.addEventListener("click", onClick);
  return node;
}

export const scrollDown = () => { els.messages.scrollTop = els.messages.scrollHeight; };

/** Run `change` (which may shrink the conversation's box) and return its result; if the
 * conversation was scrolled to its end, it stays there. */
export function keepingBottom(change) {
  const box = els.messages;
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 8;
  const result = change();
  if (atBottom) scrollDown();
  return result;
}

export function formatBytes(n) {
  if (!Number.isFinite(n)) return "";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

// A readable error; with onRetry, a Retry button that runs it once the page is idle.
export function errorLine(message, onRetry) {
  const line = el("div", "error", message);
  line.setAttribute("role", "alert");
  if (onRetry) {
    const retry = button("Retry", "retry secondary", () => {
      if (state.busy) return;
      line.remove();
      onRetry();
    });
    retry.dataset.idleOnly = "";
    retry.disabled = state.busy;
    line.append(" ", retry);
  }
  return line;
}

// A note that is no failure (e.g. the chat is busy with a turn started elsewhere), with Retry.
export function noticeLine(message, onRetry) {
  const line = errorLine(message, onRetry);
  line.className = "notice";
  line.setAttribute("role", "status");
  return line;
}

// While a turn runs, every control marked data-idle-only waits (send, switch, delete, retry…).
export function setBusy(busy, status = "") {
  state.busy = busy;
  for (const node of document.querySelectorAll("[data-idle-only]")) node.disabled = busy;
  els.send.disabled = busy || !state.sessionId;
  els.status.textContent = status;
}

// Material Design icon paths (Apache-2.0), drawn inline so no font or file is needed.
const ICONS = {
  edit: "M3 17.25V21h3.75L17.81 9.94l-3.75-3.75L3 17.25zM20.71 7.04a1 1 0 0 0 0-1.41l-2.34-2.34a1 1 0 0 0-1.41 0l-1.83 1.83 3.75 3.75 1.83-1.83z",
  delete: "M6 19a2 2 0 0 0 2 2h8a2 2 0 0 0 2-2V7H6v12zM19 4h-3.5l-1-1h-5l-1 1H5v2h14V4z",
};

/** A button showing only an icon; `label` is its accessible name and tooltip. */
export function iconButton(icon, label, className, onClick) {
  const node = button("", `icon-button ${className}`, onClick);
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", ICONS[icon]);
  svg.append(path);
  node.append(svg);
  node.setAttribute("aria-label", label);
  node.title = label;
  return node;
}
