"""Splitting the hub's single `name` into Norce's FirstName, MiddleName and LastName.

Seed 000 gives one full name per user; Norce wants its parts. The rules, in order:

1. Whitespace is collapsed. A name that is an e-mail address (the ERP had
   nothing better) is read from its local part: `jane.smith@x` is "Jane Smith",
   separators `. _ - +` becoming spaces and each part capitalised.
2. "Last, First" (one comma) is taken as written: LastName before the comma.
3. Names in scripts that put the family name first (Han, Hiragana, Katakana,
   Hangul) keep that order: `山田 太郎` is LastName 山田, FirstName 太郎. Written
   without a space it is one word (rule 4): nothing reliable splits it.
4. One word is the FirstName; LastName stays empty (Norce requires neither).
5. A surname particle (van, von, der, de, da, di, du, la, le, ten, ter, bin,
   al, …) after the first word starts the LastName with every word after it:
   `Ludwig van der Rohe` is Ludwig / van der Rohe, `Daan de Vries` is Daan / de Vries.
6. Otherwise the first word is the FirstName, the last word the LastName and
   any words between the MiddleName (`Mary Ann Smith`: Mary / Ann / Smith).

Joining FirstName, MiddleName and LastName with spaces gives the collapsed name
back, except for rules 1-3, which reorder or rewrite it on purpose.
"""

from __future__ import annotations

import re
import unicodedata

import pandas as pd

PARTICLES = frozenset({
    "van", "von", "der", "den", "de", "del", "della", "di", "da", "das", "do", "dos", "du", "la", "le",
    "ten", "ter", "bin", "ibn", "al", "el", "st.", "zu", "af", "av",
})
FAMILY_NAME_FIRST_SCRIPTS = ("CJK UNIFIED", "HIRAGANA", "KATAKANA", "HANGUL")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_EMAIL_SEPARATORS = re.compile(r"[._\-+]+")


def split_name(name: str | None) -> tuple[str | None, str | None, str | None]:
    """(FirstName, MiddleName, LastName) of one full name; parts that do not exist are None."""
    text = " ".join((name or "").split())
    if not text:
        return None, None, None
    if _EMAIL.match(text):
        text = " ".join(part.capitalize() for part in _EMAIL_SEPARATORS.split(text.split("@")[0]) if part)
        if not text:
            return None, None, None
    if text.count(",") == 1:
        last, first = (part.strip() for part in text.split(","))
        if first and last:
            return first, None, last
    words = text.split(" ")
    if len(words) == 1:
        return words[0], None, None
    if _family_name_first(words[0]):
        return " ".join(words[1:]), None, words[0]
    for position in range(1, len(words) - 1):
        if words[position].lower() in PARTICLES:
            return _none_if_empty(" ".join(words[:position])), None, " ".join(words[position:])
    return words[0], _none_if_empty(" ".join(words[1:-1])), words[-1]


def split_names(names: pd.Series) -> pd.DataFrame:
    """FirstName, MiddleName, LastName columns for a column of full names, split once per distinct name."""
    columns = ["FirstName", "MiddleName", "LastName"]
    distinct = names.dropna().unique()
    table = pd.DataFrame([split_name(name) for name in distinct], index=distinct, columns=columns)
    parts = table.reindex(names.to_numpy()).set_axis(names.index)
    return parts.astype("string[pyarrow]")


def _family_name_first(word: str) -> bool:
    return any(unicodedata.name(char, "").startswith(FAMILY_NAME_FIRST_SCRIPTS) for char in word)


def _none_if_empty(text: str) -> str | None:
    return text or None
