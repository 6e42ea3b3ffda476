"""The API's one body parser: JSON that the service can store, refused with a 400 otherwise.

DRF's JSONParser hands on whatever `json` decodes: NUL characters and lone surrogates (fine in JSON,
refused by PostgreSQL and by UTF-8) and any nesting depth (5,000 levels overflow the decoder's
recursion: a RecursionError, not a ValueError, so a 500). Checked once here for every endpoint.
"""

import codecs
import io
import re

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


def _utf8(parser_context) -> bool:
    return codecs.lookup(get_encoding(parser_context or {})).name == "utf-8"


class StorableJSONParser(JSONParser):
    """application/json, strict (no NaN/Infinity), at most MAX_JSON_DEPTH levels, storable text."""

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read()
        try:
            data = super().parse(io.BytesIO(raw), media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(
                f"JSON parse error - nested more than {MAX_JSON_DEPTH} levels deep."
            ) from None
        texts = not _utf8(parser_context) or _UNSTORABLE_ESCAPE.search(raw) is not None
        problem = json_problem(data, max_depth=MAX_JSON_DEPTH, texts=texts)
        if problem is not None:
            path, message = problem
            raise exceptions.ValidationError({path: [message]})
        return data
