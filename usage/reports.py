"""CSV rendering of usage events, shared by the streamed API report and `manage.py usage_report`."""

import csv
from collections.abc import Iterable, Iterator
from datetime import datetime

from billing_project.api.fields import QuantityField
from billing_project.timestamps import iso_utc
from usage.selectors import REPORT_COLUMNS

_quantity = QuantityField()


class _Line:
    """csv.writer target that hands back the line it was given."""

    def write(self, value: str) -> str:
        return value


# A spreadsheet runs a cell that starts with one of these as a formula (=HYPERLINK(...) sends the
# reader's data elsewhere); OWASP's advice: make it text with a leading apostrophe.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(text: str) -> str:
    """Text a spreadsheet shows as text (CSV injection), for every cell of client-supplied text."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return iso_utc(value)
    if hasattr(value, "isoformat"):  # a date
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return csv_safe(str(value))


def csv_lines(rows: Iterable[tuple]) -> Iterator[str]:
    """The header, then one CSV line per report row (quantities as decimal strings)."""
    writer = csv.writer(_Line())
    yield writer.writerow(REPORT_COLUMNS)
    quantity_at = REPORT_COLUMNS.index("quantity")
    for row in rows:
        cells = [_cell(v) for v in row]
        cells[quantity_at] = _quantity.to_representation(row[quantity_at])
        yield writer.writerow(cells)
