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
what keeps texts without a secret cheap. Every match of a form holds its longest
letter-and-digit run, in order and whole once lowercased and stripped of line breaks;
a piece of that run is the form's key. A text holding no key is left at once (one small
regex over its folded copy), and a form's own regex runs only on a text holding its key.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

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
# Past this many characters a text is searched for each first character of the keys apart.
_LONG_TEXT = 1024


@dataclass(frozen=True)
class SecretMatcher:
    """The forms of a set of secrets, each behind the key that must be present for it."""

    # Longest first, so a form holding another is masked whole.
    forms: tuple[str, ...]
    # Form -> its key (a lowercased piece of a letter-and-digit run); "" when it has none.
    keys: dict[str, str]
    # Any key: the one test a text without a secret has to pass. None: some form has no
    # key, so every text is searched.
    quick: re.Pattern[str] | None
    # The same keys, one regex per first character, for long texts: a regex that starts
    # with one literal character scans for it fast, one with a choice of first characters
    # does not. On a short text the fixed cost of several searches is what counts.
    quick_long: tuple[re.Pattern[str], ...]
    # Each form's regex, compiled the first time a text may hold it: one regex for all
    # forms is slow to compile and slow to run, and most forms never show up.
    compiled: dict[str, re.Pattern[str]] = field(default_factory=dict, compare=False)

    def found_in(self, text: str) -> tuple[str, ...]:
        """The forms whose key `text` holds: none means it holds no secret at all."""
        if self.quick is None:
            return self.forms
        folded = text.lower()
        if "\\" in folded or "\n" in folded:
            folded = _unbroken(folded)
        if len(folded) > _LONG_TEXT:
            if not any(key.search(folded) for key in self.quick_long):
                return ()
        elif self.quick.search(folded) is None:
            return ()
        return tuple(form for form in self.forms if self.keys[form] in folded)

    def sub(self, mask: str, text: str) -> str:
        """`text` with every form of every secret replaced by `mask`."""
        if len(text) < MIN_FORM_LENGTH:
            return text
        for form in self.found_in(text):
            pattern = self.compiled.get(form)
            if pattern is None:
                pattern = self.compiled.setdefault(form, _compile(form))
            text = pattern.sub(mask, text)
        return text


def _unbroken(folded: str) -> str:
    """`folded` with line breaks (real, or escaped as in raw JSON) and the spaces and
    tabs around them removed, so a run split across lines is whole again."""
    if "\\" in folded:
        # This can eat the first character of a run right after a backslash: no key
        # starts a run with n or r.
        folded = folded.replace("\\n", "\n").replace("\\r", "\r")
    if "\n" in folded:
        folded = folded.translate(_LINE_SPACE)
    return folded


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


def compile_matcher(forms: Iterable[str], reuse: SecretMatcher | None = None) -> SecretMatcher:
    """The matcher for `forms`; the regexes `reuse` already compiled are kept."""
    ordered = tuple(sorted(set(forms), key=lambda form: (-len(form), form)))
    keys = {form: _key(form) for form in ordered}
    quick: re.Pattern[str] | None = None
    quick_long: tuple[re.Pattern[str], ...] = ()
    if "" not in keys.values():
        quick = re.compile(_trie(keys.values()))
        by_first: dict[str, list[str]] = {}
        for key in sorted(set(keys.values())):
            by_first.setdefault(key[0], []).append(key)
        quick_long = tuple(re.compile(_trie(group)) for group in by_first.values())
    kept = {f: p for f, p in reuse.compiled.items() if f in keys} if reuse is not None else {}
    return SecretMatcher(ordered, keys, quick, quick_long, kept)


def _trie(words: Iterable[str]) -> str:
    """A regex matching any of `words`, branching one character at a time: at each
    position the engine then tries one branch, not one per word."""
    tree: dict[str, Any] = {}
    for word in words:
        node = tree
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def emit(node: dict[str, Any]) -> str:
        if "" in node:
            return ""  # a word ends here: a longer one adds nothing to "any word"
        branches = [re.escape(char) + emit(child) for char, child in sorted(node.items())]
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    return emit(tree)


def _compile(form: str) -> re.Pattern[str]:
    return re.compile(_BREAK.join(_char(c) for c in form), re.IGNORECASE | re.ASCII)


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
        "".join(f"\\u{unit:04x}" for unit in _utf16_units(char)),
        *(f"&{name}" for name in _entity_names().get(char, ())),
    }
    if char == " ":
        literal |= {"+", "%2b"}
    if char in '/"\\':
        literal.add("\\" + char)  # JSON's short escapes: \/ \" \\
    parts = [re.escape(form) for form in sorted(literal, key=lambda f: (-len(f), f))]
    parts += [f"&#0*{ord(char)};", f"&#x0*{ord(char):x};"]
    return "(?:" + "|".join(parts) + ")"


def _utf16_units(char: str) -> list[int]:
    data = char.encode("utf-16-be")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


@cache
def _entity_names() -> dict[str, tuple[str, ...]]:
    """HTML5 entity names by the character they stand for (`+` -> `plus;`)."""
    import html.entities  # a large table, needed only once a secret has to be masked

    names: dict[str, list[str]] = {}
    for name, text in html.entities.html5.items():
        if len(text) == 1:
            names.setdefault(text, []).append(name)
    return {text: tuple(found) for text, found in names.items()}
