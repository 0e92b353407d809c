// Copy buttons: progressive enhancement. Without JavaScript the fields stay selectable.
// The button says "Copied" (its data-copied) in place of its label for a moment; both words
// share one grid cell, so the button keeps the width of the longer and nothing moves. A
// polite live region says it to screen readers.
const status = document.createElement("div");
status.className = "visually-hidden";
status.setAttribute("role", "status");
document.body.append(status);

// Select the whole of a shown link at a click or tap (CSS user-select: all does it only on
// desktop browsers).
function selectAll(element) {
  const range = document.createRange();
  range.selectNodeContents(element);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
}

document.querySelectorAll("code.link").forEach((link) => {
  link.addEventListener("click", () => selectAll(link));
});

document.querySelectorAll("[data-copy]").forEach((button) => {
  const field = document.getElementById(button.dataset.copy);
  if (!field) return;
  const label = document.createElement("span");
  label.textContent = button.textContent;
  const done = document.createElement("span");
  done.className = "copy-done";
  done.textContent = button.dataset.copied || "✓";
  button.replaceChildren(label, done);
  button.classList.add("copy");
  button.hidden = false;
  let timer;
  button.addEventListener("click", async () => {
    const text = field.value ?? field.textContent;
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      if (field.select) field.select(); else selectAll(field);
      if (!document.execCommand("copy")) return;
    }
    button.classList.add("copied");
    // Emptied first, so that a second copy is announced again.
    status.textContent = "";
    setTimeout(() => { status.textContent = done.textContent; }, 50);
    clearTimeout(timer);
    timer = setTimeout(() => { button.classList.remove("copied"); }, 2000);
  });
});
