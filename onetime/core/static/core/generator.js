// The create form's password generator, in the browser: crypto.getRandomValues, so the
// password never travels until the form is sent. Without JavaScript the button posts the
// form and the server generates one (vault/passwords.py, same rules).
(() => {
  const CLASSES = {
    lower: "abcdefghijklmnopqrstuvwxyz",
    upper: "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    digits: "0123456789",
    symbols: "!#$%&()*+,-./:;<=>?@[]^_{|}~",
  };

  // A uniform index below n: reject the values that would make some indexes likelier.
  function below(n) {
    const limit = Math.floor(0x100000000 / n) * n;
    const word = new Uint32Array(1);
    do {
      crypto.getRandomValues(word);
    } while (word[0] >= limit);
    return word[0] % n;
  }

  function generate(length, names) {
    const groups = names.map((name) => CLASSES[name]);
    const alphabet = groups.join("");
    const characters = groups.map((group) => group[below(group.length)]);
    while (characters.length < length) characters.push(alphabet[below(alphabet.length)]);
    for (let i = characters.length - 1; i > 0; i--) {  // Fisher-Yates
      const j = below(i + 1);
      [characters[i], characters[j]] = [characters[j], characters[i]];
    }
    return characters.join("");
  }

  document.querySelectorAll("[data-generate]").forEach((button) => {
    const field = document.getElementById(button.dataset.generate);
    const options = button.closest(".generator-options");
    if (!field || !options || !window.crypto || !crypto.getRandomValues) return;
    const length = options.querySelector("input[type=number]");
    const note = options.querySelector("[data-generated]");
    button.addEventListener("click", (event) => {
      const names = [...options.querySelectorAll("input[type=checkbox]:checked")].map(
        (box) => box.value,
      );
      const size = Number(length.value);
      // Out of range or no class: let the server answer with the form's own errors.
      if (!names.length || !(size >= Number(length.min) && size <= Number(length.max))) return;
      event.preventDefault();
      field.value = generate(size, names);
      if (note) {
        // Its words wait in data-text: a text browser, which ignores `hidden`, must not say it.
        note.textContent = note.dataset.text;
        note.hidden = false;
      }
    });
  });
})();
