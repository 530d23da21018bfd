"""The orjson renderer gives what REST framework's JSON renderer gives."""

from __future__ import annotations

import datetime
import decimal
import json
import uuid
from typing import Any

from django.utils.translation import gettext_lazy
from hypothesis import given
from hypothesis import strategies as st
from rest_framework.renderers import JSONRenderer

from skips.renderers import SkipsJSONRenderer


class Reference(JSONRenderer):
    ensure_ascii = False
    compact = True


def both(data: Any, context: dict[str, Any] | None = None) -> tuple[bytes, bytes]:
    return (
        SkipsJSONRenderer().render(data, "application/json", context or {}),
        Reference().render(data, "application/json", context or {}),
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_same_bytes_as_rest_framework(data: Any) -> None:
    ours, theirs = both(data)
    assert ours == theirs


def test_line_separators_are_escaped() -> None:
    ours, theirs = both({"reason": "a\u2028b\u2029c"})
    assert ours == theirs == b'{"reason":"a\\u2028b\\u2029c"}'


def test_values_of_other_types() -> None:
    data = {
        "when": datetime.datetime(2015, 9, 30, 21, 44, 3, tzinfo=datetime.timezone.utc),
        "day": datetime.date(2015, 9, 30),
        "amount": decimal.Decimal("12.50"),
        "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "lazy": gettext_lazy("skip"),
        "tuple": (1, 2),
        3: "integer key",
    }
    ours, theirs = both(data)
    assert ours == theirs


def test_huge_integers_and_indent_fall_back() -> None:
    ours, theirs = both({"n": 2**70})
    assert ours == theirs
    ours, theirs = both({"a": [1]}, {"indent": 4})
    assert ours == theirs
    assert b"\n    " in ours


def test_none_is_empty() -> None:
    assert SkipsJSONRenderer().render(None) == b""


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_mean_the_same(value: float) -> None:
    ours, theirs = both({"x": value})
    assert json.loads(ours) == json.loads(theirs)
