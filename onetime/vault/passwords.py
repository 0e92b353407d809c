"""
Random passwords for the create form's generator (the no-JavaScript path; generator.js
does the same in the browser with crypto.getRandomValues).
"""

import secrets
import string
from collections.abc import Collection

# Symbols that survive being pasted into shells, URLs and config files without quoting
# surprises (no quotes, backslash, backtick or space).
SYMBOLS = "!#$%&()*+,-./:;<=>?@[]^_{|}~"
CLASSES = {
    "lower": string.ascii_lowercase,
    "upper": string.ascii_uppercase,
    "digits": string.digits,
    "symbols": SYMBOLS,
}
MIN_LENGTH, MAX_LENGTH, DEFAULT_LENGTH = 8, 128, 20


def generate_password(*, length: int, classes: Collection[str]) -> str:
    """
    Return a password of ``length`` characters drawn uniformly (``secrets``) from the
    chosen ``classes``, with at least one character of each.
    """
    if not MIN_LENGTH <= length <= MAX_LENGTH:
        raise ValueError(f"length must be {MIN_LENGTH}-{MAX_LENGTH}")
    chosen = [CLASSES[name] for name in CLASSES if name in classes]
    if not chosen:
        raise ValueError("choose at least one character class")
    alphabet = "".join(chosen)
    characters = [secrets.choice(group) for group in chosen]
    characters += [secrets.choice(alphabet) for _ in range(length - len(chosen))]
    secrets.SystemRandom().shuffle(characters)
    return "".join(characters)
