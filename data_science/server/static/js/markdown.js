// A small, safe markdown renderer: every HTML character is escaped first, then only the tags
// made here (paragraphs, headings, lists, tables, code, bold) are added.

const escapeHtml = (s) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

// Works on already-escaped text: `code` spans first, then **bold** outside them.
function inline(escaped) {
  return escaped
    .split(/(`[^`\n]+`)/)
    .map((seg, i) => (i % 2 ? `<code>${seg.slice(1, -1)}</code>` : seg.replace(/\*\*(.+?)\*\*/g, "<strong>$1</strong>")))
    .join("");
}

const HEADING = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const BULLET = /^\s*[-*] /;
const ORDERED = /^\s*\d+[.)] /;
const isRow = (line) => /^\s*\|.*\|\s*$/.test(line);
const isSeparator = (line) => /^\s*\|(\s*:?-+:?\s*\|)+\s*$/.test(line);
const cells = (line, tag) =>
  line.trim().slice(1, -1).split("|").map((c) => `<${tag}>${inline(c.trim())}</${tag}>`).join("");

function list(lines, i, marker, tag) {
  const items = [];
  for (; i < lines.length && marker.test(lines[i]); i++) items.push(`<li>${inline(lines[i].replace(marker, ""))}</li>`);
  return [`<${tag}>${items.join("")}</${tag}>`, i - 1];
}

export function renderMarkdown(text) {
  const lines = escapeHtml(text).split("\n");
  const out = [];
  let para = [];
  const flush = () => {
    if (para.length) out.push(`<p>${para.map(inline).join("<br>")}</p>`);
    para = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const heading = HEADING.exec(line);
    if (/^\s*```/.test(line)) {
      flush();
      const code = [];
      for (i++; i < lines.length && !/^\s*```/.test(lines[i]); i++) code.push(lines[i]);
      out.push(`<pre><code>${code.join("\n")}</code></pre>`);
    } else if (heading) {
      flush();
      // Chat headings stay small: # and ## become h3, deeper levels h4.
      const tag = heading[1].length <= 2 ? "h3" : "h4";
      out.push(`<${tag}>${inline(heading[2])}</${tag}>`);
    } else if (isRow(line) && isSeparator(lines[i + 1] || "")) {
      flush();
      const rows = [];
      for (i += 2; i < lines.length && isRow(lines[i]); i++) rows.push(`<tr>${cells(lines[i], "td")}</tr>`);
      i--;
      out.push(`<div class="table-wrap" tabindex="0"><table><thead><tr>${cells(line, "th")}</tr></thead>` +
        `<tbody>${rows.join("")}</tbody></table></div>`);
    } else if (BULLET.test(line) || ORDERED.test(line)) {
      flush();
      const [html, last] = BULLET.test(line) ? list(lines, i, BULLET, "ul") : list(lines, i, ORDERED, "ol");
      out.push(html);
      i = last;
    } else if (line.trim() === "") {
      flush();
    } else {
      para.push(line);
    }
  }
  flush();
  return out.join("");
}
