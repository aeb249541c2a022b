"""Every form in which a secret may come back, as one regex, and a cheap test that rules
out most texts before that regex runs.

A vendor that echoes a credential rarely echoes it as sent. The forms seen in error
bodies, logs and proxies' pages, all matched here:

- the whole secret transformed: as written, hex, and base64 (standard and URL-safe, whole,
  and at each of the three byte alignments, so it is found inside the base64 of a longer
  text such as `user:secret` in HTTP basic credentials);
- any character other than a letter or digit escaped, alone or mixed with others: URL
  (`%2B`, `+` for a space), double URL (`%252B`), HTML (`&#43;`, `&#x2B;`, `&#043;`,
  `&plus;`, `&amp;`) and JSON (`\\u002b`, `\\/`);
- in any letter case (a lowercased or uppercased echo), ASCII letters only;
- split across a line break at any position: `\\r?\\n` (or an escaped `\\n` in raw JSON)
  with spaces or tabs around it, as a wrapped message or a MIME-wrapped base64 leaves it.

Letters and digits are matched only as themselves: no encoder escapes them, and that is
what the quick test relies on. Every match holds the longest letter-and-digit run of its
form, in order and whole once line-break whitespace is removed, so a text whose lowercased
copy holds none of those runs cannot hold a secret, and the regex does not run on it.
"""

from __future__ import annotations

import base64
import html.entities
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

# Shorter forms would mask ordinary words; no real token is this short.
MIN_FORM_LENGTH = 6

# Optional line breaks (one or more, spaces and tabs around them) between any two
# characters of a form. Spaces after a break are the next break's or the last one's,
# never both, so a failed match backtracks in linear time.
_BREAK = r"(?:(?:[ \t]*(?:\r?\n|(?:\\r)?\\n))+[ \t]*)?"
_RUN = re.compile(r"[A-Za-z0-9]+")
_LINE_SPACE = str.maketrans("", "", " \t\r\n")
# Letters and digits, rarest first in log lines and JSON (English text, ids, timestamps).
# The quick test starts each of its keys at the rarest character of a run: the regex
# engine skips to the keys' first characters, so rare ones keep it skipping.
_RARITY = {c: i for i, c in enumerate("qjzxkvwybfgpmhduclsnrtioae9876543210")}
_KEY_LENGTH = 8


@dataclass(frozen=True)
class SecretMatcher:
    """The compiled forms of a set of secrets."""

    pattern: re.Pattern[str]
    # Lowercased letter-and-digit runs, one of which every match holds; None when some
    # form has no such run (then every text is searched).
    quick: re.Pattern[str] | None

    def may_hold(self, text: str) -> bool:
        """False only when `text` certainly holds no form of any secret."""
        if self.quick is None:
            return True
        folded = text.lower()
        if "\\" in folded:
            # Escaped line breaks (raw JSON) as real ones. This can eat the first
            # character of a run right after a backslash: no key starts a run with n or r.
            folded = folded.replace("\\n", "\n").replace("\\r", "\r")
        if "\n" in folded:
            folded = folded.translate(_LINE_SPACE)
        return self.quick.search(folded) is not None

    def sub(self, mask: str, text: str) -> str:
        """`text` with every form of every secret replaced by `mask`."""
        if len(text) < MIN_FORM_LENGTH or not self.may_hold(text):
            return text
        return self.pattern.sub(mask, text)


def whole_forms(secret: str) -> set[str]:
    """The secret transformed as a whole: as written, hex, and base64 at each alignment."""
    raw = secret.encode()
    forms = {secret, raw.hex()}
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        forms.add(encode(raw).decode().rstrip("="))
        for pad in range(3):
            text = encode(b"\0" * pad + raw).decode()
            # Only the characters made of the secret's bits alone: the rest mix in
            # whatever precedes or follows it.
            forms.add(text[-(-8 * pad // 6) : 8 * (pad + len(raw)) // 6])
    return {form for form in forms if len(form) >= MIN_FORM_LENGTH}


def compile_matcher(forms: Iterable[str]) -> SecretMatcher:
    """One regex for all `forms` (longest first, so a form holding another is masked whole)."""
    ordered = sorted(set(forms), key=lambda form: (-len(form), form))
    # Grouped by first character: the engine tries each group at each position, so
    # fewer groups is what keeps a text that holds a secret quick to mask.
    groups: dict[str, list[str]] = {}
    for form in ordered:
        groups.setdefault(form[0].lower(), []).append(form[1:])
    pattern = re.compile(
        "|".join(
            _char(first) + _BREAK + "(?:" + "|".join(_join(rest) for rest in rests) + ")"
            for first, rests in groups.items()
        ),
        re.IGNORECASE | re.ASCII,
    )
    keys = {_key(form) for form in ordered}
    quick = None
    if "" not in keys:
        quick = re.compile("|".join(sorted(keys, key=lambda k: (-len(k), k))))
    return SecretMatcher(pattern, quick)


def _join(chars: str) -> str:
    return _BREAK.join(_char(c) for c in chars)


def _key(form: str) -> str:
    """A piece of the form's longest letter-and-digit run that every match holds whole
    (lowercased, line breaks removed), starting at its rarest character."""
    run = max(_RUN.findall(form), key=len, default="").lower()
    starts = [i for i in range(len(run) - min(4, len(run)) + 1) if i or run[0] not in "nr"]
    if not starts:
        return ""
    best = min(starts, key=lambda i: (_RARITY[run[i]], i))
    return run[best : best + _KEY_LENGTH]


@cache
def _char(char: str) -> str:
    """A regex for one character of a form and every escape of it."""
    if char.isascii() and char.isalnum():
        return char
    utf8 = char.encode()
    literal = {
        char,
        "".join(f"%{b:02x}" for b in utf8),
        "".join(f"%25{b:02x}" for b in utf8),
        json.dumps(char)[1:-1],
        "".join(f"\\u{unit:04x}" for unit in _utf16_units(char)),
        *(f"&{name}" for name in _entity_names().get(char, ())),
    }
    if char == " ":
        literal |= {"+", "%2b"}
    if char == "/":
        literal.add("\\/")
    parts = [re.escape(form) for form in sorted(literal, key=lambda f: (-len(f), f))]
    parts += [f"&#0*{ord(char)};", f"&#x0*{ord(char):x};"]
    return "(?:" + "|".join(parts) + ")"


def _utf16_units(char: str) -> list[int]:
    data = char.encode("utf-16-be")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


@cache
def _entity_names() -> dict[str, tuple[str, ...]]:
    """HTML5 entity names by the character they stand for (`+` -> `plus;`)."""
    names: dict[str, list[str]] = {}
    for name, text in html.entities.html5.items():
        if len(text) == 1:
            names.setdefault(text, []).append(name)
    return {text: tuple(found) for text, found in names.items()}
