// Showing the work: "show code" under a tool line (the step as Python, from the server's code
// route) and the "Export notebook" button (the chat as a Jupyter notebook in a ZIP with its data).

import { state } from "./state.js";
import { apiSessionUrl, errorText, fetchJson, readable, request } from "./api.js";
import { button, el, errorLine } from "./dom.js";

// Calls that describe the chat rather than work on its data have no code (tools/chat_steps.py).
const NO_CODE = new Set(["list_data_files", "export_notebook", "show_code"]);

/** A "show code" button for the successful tool call `id`, added to its tool line. */
export function addShowCode(line, id, name) {
  if (!id || NO_CODE.has(name) || line.querySelector(".show-code")) return;
  const sessionId = state.sessionId;
  const show = button("show code", "show-code secondary", async () => {
    const open = line.querySelector(".tool-code, .tool-code-error");
    if (open) {
      open.remove();
      show.setAttribute("aria-expanded", "false");
      return;
    }
    show.disabled = true;
    try {
      const step = await fetchJson(`${apiSessionUrl(sessionId)}/code/${encodeURIComponent(id)}`);
      const pre = el("pre", "tool-code");
      pre.append(el("code", "language-python", step.code || `# ${step.note}`));
      line.append(pre);
      show.setAttribute("aria-expanded", "true");
    } catch (error) {
      line.append(errorLine(`Could not show the code: ${readable(error)}`));
    } finally {
      show.disabled = false;
    }
  });
  show.setAttribute("aria-expanded", "false");
  line.append(show);
}

let exportUrl = null;

/** Download the open chat as a notebook ZIP (the server names the file). */
export async function exportNotebook(trigger) {
  if (!state.sessionId) return;
  trigger.disabled = true;
  try {
    const res = await request(`${apiSessionUrl()}/notebook`);
    if (!res.ok) throw new Error(await errorText(res));
    const blob = new Blob([await res.blob()], { type: "application/octet-stream" });
    if (exportUrl) URL.revokeObjectURL(exportUrl);
    exportUrl = URL.createObjectURL(blob);
    const link = Object.assign(el("a"), { href: exportUrl, download: "chat_notebook.zip" });
    document.body.append(link);
    link.click();
    link.remove();
  } catch (error) {
    document.querySelector("#messages").append(errorLine(`Could not export the notebook: ${readable(error)}`));
  } finally {
    trigger.disabled = state.busy;
  }
}
