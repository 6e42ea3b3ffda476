"""The API's one body parser: JSON that the service can store, refused with a 400 otherwise.

DRF's JSONParser hands on whatever `json` decodes: NUL characters and lone surrogates (fine in JSON,
refused by PostgreSQL and by UTF-8) and any nesting depth (5,000 levels overflow the decoder's
recursion: a RecursionError, not a ValueError, so a 500). Checked once here for every endpoint.
"""

import codecs
import io
import re

import orjson
from rest_framework import exceptions
from rest_framework.parsers import JSONParser, get_encoding  # type: ignore[attr-defined]  # DRF 3.16+ has it; the stubs lag

from billing_project.api.fields import json_problem

# Deep enough for every body of the API (usage `properties` are capped lower, at 32, by usage.validation).
MAX_JSON_DEPTH = 64
# In a UTF-8 body a decoded string can only hold a NUL or a lone surrogate through one of these
# escapes (strict JSON refuses a raw control character; UTF-8 cannot encode a surrogate). A body
# without any (nearly all: a 1,000-event usage batch has 16,000 strings) skips the per-string check,
# which cost more than parsing it. A match (even an escaped backslash before "u0000") only means
# every string is checked, as before.
_UNSTORABLE_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")


# orjson reads strict UTF-8 JSON into what json reads from it, about twice as fast, but for
# integers beyond 64 bits, which it reads as floats: a body with 19 digits in a row (an integer that
# long, or a long fraction or string) is read by DRF's parser, as is anything orjson refuses
# (NaN, lone surrogates, invalid UTF-8, nesting beyond 1,024 levels...): errors are DRF's own.
# (Digits as "0", anything else as " ", then a substring search: a regex took 1.5 ms on a batch.)
_DIGITS = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_LONG_DIGITS = b"0" * 19
_UNREAD = object()


def _utf8(parser_context) -> bool:
    return codecs.lookup(get_encoding(parser_context or {})).name == "utf-8"


class StorableJSONParser(JSONParser):
    """application/json, strict (no NaN/Infinity), at most MAX_JSON_DEPTH levels, storable text."""

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read()
        utf8 = _utf8(parser_context)
        data = _UNREAD
        if utf8 and _LONG_DIGITS not in raw.translate(_DIGITS):
            try:
                data = orjson.loads(raw)
            except orjson.JSONDecodeError:
                pass
        if data is _UNREAD:
            try:
                data = super().parse(io.BytesIO(raw), media_type, parser_context)
            except RecursionError:
                raise exceptions.ParseError(
                    f"JSON parse error - nested more than {MAX_JSON_DEPTH} levels deep."
                ) from None
        texts = not utf8 or _UNSTORABLE_ESCAPE.search(raw) is not None
        problem = json_problem(data, max_depth=MAX_JSON_DEPTH, texts=texts)
        if problem is not None:
            path, message = problem
            raise exceptions.ValidationError({path: [message]})
        return data
