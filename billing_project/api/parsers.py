"""The API's one body parser: JSON that the service can store, refused with a 400 otherwise.

DRF's JSONParser hands on whatever `json` decodes: NUL characters and lone surrogates (fine in JSON,
refused by PostgreSQL and by UTF-8) and any nesting depth (5,000 levels overflow the decoder's
recursion: a RecursionError, not a ValueError, so a 500). Checked once here for every endpoint.
"""

from rest_framework import exceptions
from rest_framework.parsers import JSONParser

from billing_project.api.fields import json_problem

# Deep enough for every body of the API (usage `properties` are capped lower, at 32, by usage.validation).
MAX_JSON_DEPTH = 64


class StorableJSONParser(JSONParser):
    """application/json, strict (no NaN/Infinity), at most MAX_JSON_DEPTH levels, storable text."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(
                f"JSON parse error - nested more than {MAX_JSON_DEPTH} levels deep."
            ) from None
        problem = json_problem(data, max_depth=MAX_JSON_DEPTH)
        if problem is not None:
            path, message = problem
            raise exceptions.ValidationError({path: [message]})
        return data
