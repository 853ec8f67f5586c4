// The header's model status: which model answers, and with a hosted model what this chat has
// cost so far (ADK session state "llm_usage", refreshed after every turn).

import { els, state } from "./state.js";
import { el } from "./dom.js";
import { fetchJson } from "./api.js";

const name = el("span", "model-name");
const cost = el("span", "model-cost");

/** Load GET /api/status and show the model; returns the status (auth_mode tells how to sign in). */
export async function loadStatus() {
  const status = await fetchJson("/api/status");
  state.modelKind = status.model.kind;
  state.authMode = status.auth_mode || "none";
  const hosted = status.model.kind === "hosted";
  name.textContent = hosted ? status.model.name : "Offline model";
  name.title = hosted
    ? `Answers come from the hosted model ${status.model.name}.`
    : "The built-in offline model answers: no API key, nothing leaves this machine.";
  name.classList.toggle("hosted", hosted);
  cost.hidden = !hosted;
  els.model.replaceChildren(el("span", "model-label", "Model"), name, cost);
  return status;
}

const compact = (n) => (n >= 10000 ? `${(n / 1000).toFixed(0)}k` : n >= 1000 ? `${(n / 1000).toFixed(1)}k` : String(n));

/** Show this chat's usage ({calls, input_tokens, output_tokens, cost_usd}); hosted models only. */
export function showUsage(usage) {
  if (state.modelKind !== "hosted") return;
  const u = usage || {};
  const tokens = (u.input_tokens || 0) + (u.output_tokens || 0);
  const dollars = Number(u.cost_usd || 0);
  cost.textContent = `$${dollars.toFixed(dollars && dollars < 0.01 ? 4 : 2)} · ${compact(tokens)} tokens`;
  cost.title = `This chat so far: ${u.calls || 0} model calls, ${u.input_tokens || 0} input and ` +
    `${u.output_tokens || 0} output tokens, about $${dollars.toFixed(4)}.`;
}
