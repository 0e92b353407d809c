// Secrets encrypted in the browser (PRODUCT.md §2.7), page by page: the create form
// encrypts before it sends, the created page shows the link with its key, the recipient
// page checks the key before anything is consumed, the revealed page decrypts. The key
// travels only in fragments ("#…"), which browsers never send; a passphrase never leaves
// the page, only the proof derived from it. Each page's markup says what happens without
// this script (or without WebCrypto); the script shows its [data-zk-state] that applies.
import * as zk from "./zk.js";

// The passphrase stretched on the recipient page, for the revealed page to decrypt with:
// in this tab's sessionStorage, removed as soon as it is read, and by any other page of the
// site (fields.js).
const stretchedItem = (id) => `onetime-zk-stretched:${id}`;

// Show the [data-zk-state] elements of `state`, hide the others. Their words are in
// data-text until shown, so that browsers which ignore `hidden` (text browsers, without
// this script) do not show what does not apply.
function show(root, state) {
  root.querySelectorAll("[data-zk-state]").forEach((element) => {
    element.hidden = element.dataset.zkState !== state;
    if (element.hidden) return;
    [element, ...element.querySelectorAll("[data-text]")].forEach((part) => {
      if (part.dataset.text) part.textContent = part.dataset.text;
    });
  });
}

// Drop the fragment from the address bar and the history; the page keeps the key.
function forgetFragment() {
  if (location.hash) history.replaceState(history.state, "", location.pathname + location.search);
}

// The key in this page's address, if it is the one whose check the server gave.
async function checkedKey(root) {
  const key = zk.keyFromFragment(location.hash);
  if (!key) return null;
  const check = await zk.keyCheck(key, zk.uuidBytes(root.dataset.zkSecret));
  return zk.equal(check, zk.b64decode(root.dataset.zkKeyCheck)) ? key : null;
}

// Send `form` with `extra` hidden fields, without the `withheld` ones, to `action`.
// Coming back to the page from the history restores it as it was.
function send(form, { action, extra = {}, withheld = [] }) {
  const original = form.getAttribute("action");
  const added = Object.entries(extra).map(([name, value]) => {
    const input = document.createElement("input");
    Object.assign(input, { type: "hidden", name, value });
    form.append(input);
    return input;
  });
  withhold(withheld);
  window.addEventListener("pageshow", () => {
    added.forEach((input) => input.remove());
    if (original === null) form.removeAttribute("action"); else form.setAttribute("action", original);
    delete form.dataset.zkBusy;
  }, { once: true });
  form.action = action;
  form.submit();
}

// Leave `fields` out of the form's next request (a disabled field is not sent), until the
// page is shown again from the history.
function withhold(fields) {
  fields.forEach((field) => { field.disabled = true; });
  window.addEventListener("pageshow", () => {
    fields.forEach((field) => { field.disabled = false; });
  }, { once: true });
}

// Run `encrypt` in place of the form's own submission, once at a time (PBKDF2 takes a
// moment); the `failed` message shows when it throws, and nothing is sent.
function encryptOnSubmit(form, encrypt, failed) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (form.dataset.zkBusy) return;
    form.dataset.zkBusy = "1";
    encrypt().catch((error) => {
      delete form.dataset.zkBusy;
      failed.hidden = false;
      console.error(error);
    });
  });
}

function createForm(form) {
  const root = form.closest("section");
  // Sent back with an error, the form was answered at "/#key": that key is spent.
  forgetFragment();
  if (!zk.available()) {
    show(root, "insecure");
    return;
  }
  show(root, "browser");
  const { secret, passphrase } = form.elements;
  form.addEventListener("submit", (event) => {
    // The generator's own request (its options need the server's word) replaces the
    // secret: it goes as it is, without the secret and the passphrase.
    if (event.submitter && event.submitter.name === "generate") {
      withhold([secret, passphrase]);
      event.stopImmediatePropagation();  // sent natively, not encrypted
    }
  });
  const tooLarge = form.querySelector("[data-zk-too-large]");
  encryptOnSubmit(form, async () => {
    // The server cannot give an encrypted secret back with its error: say it here, with the
    // text still in the field.
    tooLarge.hidden = new TextEncoder().encode(secret.value).length <= Number(form.dataset.maxBytes);
    if (!tooLarge.hidden) {
      tooLarge.textContent = tooLarge.dataset.text;
      delete form.dataset.zkBusy;
      return;
    }
    const key = zk.newKey();
    const sealed = await zk.seal(secret.value, { key, passphrase: passphrase.value });
    const extra = { ciphertext: zk.b64encode(sealed.envelope) };
    if (sealed.proof) extra.passphrase_proof = zk.b64encode(sealed.proof);
    const action = `${form.getAttribute("action")}#${zk.b64encode(key)}`;
    send(form, { action, extra, withheld: [secret, passphrase] });
  }, form.querySelector("[data-zk-failed]"));
}

async function createdPage(root) {
  const key = await checkedKey(root);
  forgetFragment();
  if (!key) return;  // the page says the link cannot be shown
  const shown = document.getElementById("share-url");
  const link = `${shown.textContent}#${zk.b64encode(key)}`;
  shown.textContent = link;
  show(root, "link");
  await drawQr(root.querySelector(".qr-code"), link);
}

// The link's QR code, drawn here: the server never had the link with its key. Dark modules
// on white with a quiet zone of four, like the server's (core/qr.py).
async function drawQr(box, text) {
  const { encode } = await import("../vendor/uqr/index.mjs");
  const qr = encode(text, { ecc: "M", border: 4 });
  const svgNS = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(svgNS, "svg");
  svg.setAttribute("class", "qr");
  svg.setAttribute("viewBox", `0 0 ${qr.size} ${qr.size}`);
  const ground = document.createElementNS(svgNS, "path");
  ground.setAttribute("fill", "#fff");
  ground.setAttribute("d", `M0 0h${qr.size}v${qr.size}h-${qr.size}z`);
  const dark = document.createElementNS(svgNS, "path");
  dark.setAttribute("fill", "#000");
  let path = "";
  qr.data.forEach((row, y) => row.forEach((on, x) => { if (on) path += `M${x} ${y}h1v1h-1z`; }));
  dark.setAttribute("d", path);
  svg.append(ground, dark);
  box.replaceChildren(svg);
}

async function revealForm(root) {
  const id = root.dataset.zkSecret;
  // The language links ("?lang=en") keep the key, or the page in the other language would
  // find none.
  document.querySelectorAll("nav.lang a[href^='?']").forEach((link) => {
    link.hash = location.hash;
  });
  if (!zk.available()) {
    show(root, "insecure");
    return;
  }
  const key = await checkedKey(root);
  if (!key) {
    show(root, "bad-key");
    return;
  }
  show(root, "ready");
  const autofocus = root.querySelector("[autofocus]");
  if (autofocus) autofocus.focus();  // it was hidden when the page loaded
  const form = root.querySelector("form");
  encryptOnSubmit(form, async () => {
    // Unnamed, so never sent by the form itself (forms.UnsentPasswordInput).
    const passphrase = form.querySelector("[data-zk-passphrase]");
    const extra = { decrypt: "browser" };
    if (passphrase && passphrase.value) {
      const secretId = zk.uuidBytes(id);
      const stretched = await zk.stretch(passphrase.value, secretId);
      extra.passphrase_proof = zk.b64encode((await zk.derive(key, secretId, stretched)).proof);
      sessionStorage.setItem(stretchedItem(id), zk.b64encode(stretched));
    }
    // The fragment stays in the address the form is sent to, for the revealed page.
    const action = `${location.pathname}#${zk.b64encode(key)}`;
    send(form, { action, extra });
  }, form.querySelector("[data-zk-failed]"));
}

async function revealedPage(root) {
  const id = root.dataset.zkSecret;
  const key = zk.keyFromFragment(location.hash);
  forgetFragment();
  const stored = sessionStorage.getItem(stretchedItem(id));
  sessionStorage.removeItem(stretchedItem(id));
  const envelope = root.dataset.zkEnvelope;
  root.removeAttribute("data-zk-envelope");
  let plaintext;
  try {
    if (!key) throw new Error("no key in the address");
    plaintext = await zk.open(zk.b64decode(envelope), {
      key,
      id: zk.uuidBytes(id),
      stretched: stored && zk.b64decode(stored),
    });
  } catch {
    show(root, "failed");  // never what did not decrypt
    return;
  }
  show(root, "shown");
  const box = document.getElementById("secret");
  // As many rows as lines (long lines scroll sideways), within a screenful, as the server
  // does for the secrets it decrypts.
  box.rows = Math.min(Math.max(plaintext.split("\n").length, 2), 30);
  box.value = plaintext;
  box.dispatchEvent(new Event("input"));
}

document.querySelectorAll("form[data-zk-create]").forEach(createForm);
document.querySelectorAll("[data-zk-created]").forEach(createdPage);
document.querySelectorAll("[data-zk-reveal]").forEach(revealForm);
document.querySelectorAll("[data-zk-revealed]").forEach(revealedPage);
