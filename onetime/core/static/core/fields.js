// Passphrase show/hide and the revealed secret's wrap and download buttons: progressive
// enhancement. Without JavaScript the buttons stay hidden, the passphrase a plain password
// field and the secret a selectable text box. Nothing here talks to the server.
document.querySelectorAll("[data-toggle-password]").forEach((button) => {
  const field = document.getElementById(button.dataset.togglePassword);
  if (!field) return;
  button.hidden = false;
  button.addEventListener("click", () => {
    const show = field.type === "password";
    field.type = show ? "text" : "password";
    button.textContent = show ? button.dataset.hide : button.dataset.show;
    button.setAttribute("aria-pressed", String(show));
    field.focus();
  });
});

document.querySelectorAll("[data-wrap]").forEach((button) => {
  const box = document.getElementById(button.dataset.wrap);
  if (!box) return;
  button.hidden = false;
  button.addEventListener("click", () => {
    const wrap = box.getAttribute("wrap") === "off";
    box.setAttribute("wrap", wrap ? "soft" : "off");
    button.setAttribute("aria-pressed", String(wrap));
    fit(box);
  });
  // Filled by a script (a secret decrypted in the browser): fitted again.
  box.addEventListener("input", () => fit(box));
  fit(box);
});

document.querySelectorAll("[data-download]").forEach((button) => {
  const box = document.getElementById(button.dataset.download);
  if (!box) return;
  button.hidden = false;
  button.addEventListener("click", () => {
    // A Blob in this page: the secret is never sent to the server again.
    const blob = new Blob([box.value], { type: "text/plain;charset=utf-8" });
    const url = URL.createObjectURL(blob);
    const link = document.createElement("a");
    link.href = url;
    link.download = button.dataset.filename || "secret.txt";
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  });
});

// Size the box to its content (CSS caps it at most of the screen, then it scrolls).
function fit(box) {
  box.style.height = "auto";
  box.style.height = `${box.scrollHeight + box.offsetHeight - box.clientHeight}px`;
}

// A recipient's passphrase, stretched, waits in this tab's sessionStorage only for the
// revealed page that follows the reveal (zk-pages.js); any other page of the site, an
// error page included, drops it, so that it never outlives the next page.
if (!document.querySelector("[data-zk-revealed]")) {
  try {
    Object.keys(sessionStorage)
      .filter((name) => name.startsWith("onetime-zk-stretched:"))
      .forEach((name) => sessionStorage.removeItem(name));
  } catch {
    // No sessionStorage here (a privacy setting): then nothing was kept either.
  }
}
