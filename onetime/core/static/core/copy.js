// Copy buttons: progressive enhancement. Without JavaScript the fields stay selectable.
document.querySelectorAll("[data-copy]").forEach((button) => {
  const field = document.getElementById(button.dataset.copy);
  if (!field) return;
  button.hidden = false;
  const label = button.textContent;
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(field.value);
    } catch {
      field.select();
      document.execCommand("copy");
    }
    button.textContent = "✓";
    setTimeout(() => { button.textContent = label; }, 1500);
  });
});
