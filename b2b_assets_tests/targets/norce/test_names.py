"""How a single full name becomes Norce's FirstName / MiddleName / LastName (rules in targets/norce/names.py)."""

from __future__ import annotations

import pandas as pd
import pytest

from b2b_assets.targets.norce.names import split_name, split_names


@pytest.mark.parametrize("name, parts", [
    ("Jane Smith", ("Jane", None, "Smith")),
    ("Cher", ("Cher", None, None)),                                   # one word: a first name only
    ("Mary Ann Smith", ("Mary", "Ann", "Smith")),                      # three words: the middle one is a middle name
    ("Daan de Vries", ("Daan", None, "de Vries")),                     # a particle starts the surname
    ("Ludwig van der Rohe", ("Ludwig", None, "van der Rohe")),
    ("Jan van der Berg Smit", ("Jan", None, "van der Berg Smit")),
    ("山田 太郎", ("太郎", None, "山田")),                               # family name first in CJK scripts
    ("김 민준", ("민준", None, "김")),
    ("山田太郎", ("山田太郎", None, None)),                             # unspaced CJK: one word, not guessed at
    ("Владимир Петров", ("Владимир", None, "Петров")),                 # other scripts follow the general rule
    ("Smith, Jane", ("Jane", None, "Smith")),
    ("jane.smith@example.com", ("Jane", None, "Smith")),               # an e-mail only: read from its local part
    ("info@example.com", ("Info", None, None)),
    ("  Søren   Ørsted ", ("Søren", None, "Ørsted")),
    ("", (None, None, None)),
])
def test_split_name(name: str, parts: tuple) -> None:
    assert split_name(name) == parts


def test_split_names_is_the_same_rule_over_a_column() -> None:
    names = pd.Series(["Daan de Vries", None, "Cher", "Daan de Vries"], dtype="string[pyarrow]", index=[5, 6, 7, 8])
    parts = split_names(names)
    assert list(parts.index) == [5, 6, 7, 8]
    assert parts.loc[8, "FirstName"] == "Daan" and pd.isna(parts.loc[8, "MiddleName"]) and parts.loc[8, "LastName"] == "de Vries"
    assert parts.loc[6].isna().all() and parts.loc[7, "FirstName"] == "Cher" and pd.isna(parts.loc[7, "LastName"])
