// Long jobs (AutoML, model search, forecasting): while a session has one running, poll
// GET .../jobs and show each as a progress bar with the time left against its budget and a
// Cancel button. Polling stops once no job runs and no turn is in progress.

import { els, state } from "./state.js";
import { apiSessionUrl, errorText, readable, request } from "./api.js";
import { button, el, keepingBottom } from "./dom.js";

const POLL_MS = 1000;
let watched = null; // the session being polled
let timer = 0;

export function watchJobs() {
  if (watched === state.sessionId) return;
  clearTimeout(timer);
  watched = state.sessionId;
  poll();
}

export function stopWatchingJobs() {
  clearTimeout(timer);
  watched = null;
  els.jobs.replaceChildren();
}

async function poll() {
  const sessionId = watched;
  let jobs = [];
  try {
    const res = await request(`${apiSessionUrl(sessionId)}/jobs`);
    if (res.ok) jobs = (await res.json()).jobs || [];
  } catch { /* the next poll, or the turn's own error, says what went wrong */ }
  if (sessionId !== watched) return;
  render(jobs);
  if (jobs.length || state.busy) timer = setTimeout(poll, POLL_MS);
  else watched = null;
}

function seconds(total) {
  const s = Math.round(total);
  if (s < 90) return `${s} s`;
  return s % 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s / 60} min`;
}

function timeText(job) {
  if (job.state === "cancelling") return "Stopping…";
  if (!job.budget_seconds) return `${seconds(job.elapsed_seconds)} so far`;
  const left = job.budget_seconds - job.elapsed_seconds;
  if (left <= 0) return `finishing (budget of ${seconds(job.budget_seconds)} used)`;
  return `about ${seconds(left)} left of ${seconds(job.budget_seconds)}`;
}

function jobNode(job) {
  const node = el("div", "job");
  node.dataset.jobId = job.job_id;
  const label = el("span", "job-label", job.label || job.tool);
  const bar = Object.assign(el("progress"), { max: 1 });
  bar.setAttribute("aria-label", `Progress of ${job.label || job.tool}`);
  const time = el("span", "job-time");
  const cancel = button("Cancel", "secondary job-cancel", () => cancelJob(node, job.job_id));
  cancel.setAttribute("aria-label", `Cancel ${job.label || job.tool}`);
  node.append(label, bar, time, cancel);
  return node;
}

function render(jobs) {
  const current = new Map(Array.from(els.jobs.children, (node) => [node.dataset.jobId, node]));
  for (const job of jobs) {
    const node = current.get(job.job_id) || keepingBottom(() => els.jobs.appendChild(jobNode(job)));
    current.delete(job.job_id);
    const bar = node.querySelector("progress");
    if (typeof job.progress === "number") bar.value = job.progress;
    else bar.removeAttribute("value"); // no budget: an indeterminate bar
    node.querySelector(".job-time").textContent = timeText(job);
    if (job.state === "cancelling") node.querySelector(".job-cancel").disabled = true;
  }
  for (const node of current.values()) node.remove();
}

async function cancelJob(node, jobId) {
  const cancel = node.querySelector(".job-cancel");
  cancel.disabled = true;
  node.querySelector(".job-time").textContent = "Stopping…";
  node.querySelector(".job-error")?.remove();
  try {
    const res = await request(`${apiSessionUrl()}/jobs/${encodeURIComponent(jobId)}/cancel`, { method: "POST" });
    if (res.status === 404) node.remove(); // it finished meanwhile
    else if (!res.ok) throw new Error(await errorText(res));
  } catch (error) {
    cancel.disabled = false;
    node.append(el("span", "job-error", `Could not cancel: ${readable(error)}`));
  }
}
