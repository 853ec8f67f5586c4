// Modal dialogs built on <dialog>: focus stays inside, Escape cancels, focus returns after.

const $ = (selector) => document.querySelector(selector);

function closed(dialog) {
  return new Promise((resolve) => dialog.addEventListener("close", () => resolve(dialog.returnValue), { once: true }));
}

/** Ask to confirm something that cannot be undone; resolves true on confirm. */
export async function confirmAction(title, text, confirmLabel) {
  const dialog = $("#confirm-dialog");
  $("#confirm-title").textContent = title;
  $("#confirm-text").textContent = text;
  $("#confirm-button").textContent = confirmLabel;
  dialog.returnValue = "cancel";
  dialog.showModal();
  return (await closed(dialog)) === "confirm";
}

/** Ask for the access token; resolves to the token, or null when the person cancels. */
export async function askForToken(rejected) {
  const dialog = $("#token-dialog");
  const input = $("#token-input");
  $("#token-text").textContent = rejected
    ? "That token was not accepted. Check it and try again."
    : "This server needs an access token. Ask the person who runs it for one.";
  input.value = "";
  dialog.returnValue = "cancel";
  // Cancel is not a submit button, so Enter in the field submits "Continue".
  $("#token-cancel").onclick = () => dialog.close("cancel");
  dialog.showModal();
  input.focus();
  const answer = await closed(dialog);
  return answer === "ok" && input.value.trim() ? input.value.trim() : null;
}

/** Show a chart at full size, with its download link. */
export function showImage(src, alt, href, filename) {
  const dialog = $("#image-dialog");
  const img = $("#image-dialog-img");
  img.src = src;
  img.alt = alt;
  dialog.setAttribute("aria-label", alt);
  const download = $("#image-dialog-download");
  download.href = href;
  download.download = filename;
  dialog.showModal();
}
