"""The API's JSON parser (billing_project.api.parsers): orjson reads most bodies, DRF's parser the
others, and every body reads as DRF's parser alone would read it, errors included."""

import io
import json
import math
import random

import pytest
from rest_framework.exceptions import ParseError, ValidationError

from billing_project.api import parsers
from billing_project.api.fields import json_problem
from billing_project.api.parsers import StorableJSONParser


def _read(parser, raw: bytes, encoding: str = "utf-8"):
    try:
        return "ok", parser.parse(io.BytesIO(raw), parser_context={"encoding": encoding})
    except (ParseError, ValidationError) as exc:
        return "error", type(exc).__name__, str(exc.detail)


class _DRFOnly(StorableJSONParser):
    """The parser as it was: DRF's JSONParser for every body."""

    def parse(self, stream, media_type=None, parser_context=None):
        original = parsers.orjson.loads
        parsers.orjson.loads = _refuse  # type: ignore[assignment]
        try:
            return super().parse(stream, media_type, parser_context)
        finally:
            parsers.orjson.loads = original  # type: ignore[assignment]


def _refuse(raw):
    raise parsers.orjson.JSONDecodeError("refused", "", 0)


BODIES = [
    b'{"a": 1, "b": [1.5, -0, -0.0, 1e-400, 2.5e-3, true, null, "x"]}',
    b"123456789012345678901234567890",  # beyond 64 bits: orjson would read a float
    b'{"quantity": -9223372036854775809}',
    b"18446744073709551615",
    b"1e400",
    b"-1e400",
    b"1.00000000000000011102230246251565404236316680908203125",
    b'{"a": 1, "a": 2, "b": 3}',
    b'"\\ud800"',
    b'"\\ud83d\\ude00 \\u2028"',
    b'{"k\\u0000": 1}',
    b'"\\\\u0000"',
    b"\xef\xbb\xbf{}",
    b'"\xed\xa0\x80"',
    b"\xff",
    b" {} \n",
    b"\x0c{}",
    b"[1,]",
    b"NaN",
    b"[Infinity]",
    b'"\x01"',
    b"",
    b"{} x",
    b"[" * 65 + b"]" * 65,
    b"[" * 64 + b"]" * 64,
    b"[" * 5000 + b"]" * 5000,
    b"[" * 1100 + b"]" * 1100,
]


@pytest.mark.parametrize("raw", BODIES, ids=range(len(BODIES)))
def test_a_body_reads_as_drfs_parser_reads_it(raw):
    ours, theirs = _read(StorableJSONParser(), raw), _read(_DRFOnly(), raw)
    assert repr(ours) == repr(theirs)


def test_big_integers_stay_integers():
    assert _read(StorableJSONParser(), b'{"n": 123456789012345678901234567890}') == (
        "ok",
        {"n": 123456789012345678901234567890},
    )
    assert _read(StorableJSONParser(), b"[1e400]")[1][0] == math.inf


def test_random_numbers_read_as_json_reads_them():
    rng = random.Random(21)
    for _ in range(3000):
        text = rng.choice(
            [
                f"{rng.randint(-(10 ** rng.randint(1, 25)), 10 ** rng.randint(1, 25))}",
                f"{rng.random() * 10 ** rng.randint(-30, 30)!r}",
                f"{rng.randint(0, 999)}.{rng.randint(0, 10 ** rng.randint(1, 20))}e{rng.randint(-330, 310)}",
            ]
        )
        raw = f'{{"v": [{text}]}}'.encode()
        ours = _read(StorableJSONParser(), raw)
        assert repr(ours) == repr(_read(_DRFOnly(), raw)), text
        if ours[0] == "ok":
            assert repr(ours[1]) == repr(json.loads(raw)), text


def test_the_depth_only_walk_reports_what_the_full_walk_reports():
    rng = random.Random(7)

    def value(depth):
        kind = rng.random()
        if depth > 12 or kind < 0.3:
            return rng.choice([1, "s", None, 2.5, True])
        if kind < 0.65:
            return [value(depth + 1) for _ in range(rng.randint(0, 4))]
        return {f"{rng.choice('abc')}{i}": value(depth + 1) for i in range(rng.randint(0, 4))}

    reported = 0
    for _ in range(5000):
        data, limit = value(0), rng.randint(1, 8)
        found = json_problem(data, max_depth=limit, texts=False)
        assert found == json_problem(data, max_depth=limit), data
        reported += found is not None
    assert reported > 500
