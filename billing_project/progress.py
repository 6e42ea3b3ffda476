"""Progress of the long management commands: a tqdm bar on a terminal, plain lines elsewhere.

A bar redraws one line with carriage returns, which in a log file or a CI transcript becomes one
unreadable line; tqdm's `disable=None` turns the bar off when the stream is not a terminal, and this
helper then writes plain lines instead, each with the counts:
- `note=` lines (one per item, e.g. "[3/12] acme: trialing") when the command has something to say
  about each item: printed above the bar on a terminal, as they are elsewhere;
- otherwise one line every tenth of the way and at the end, e.g.
  "[####################....................] 50/100 rendered, 2 failed".

    with Progress(total=len(work), unit="rendered", stream=command.stdout) as progress:
        for item in work:
            ...
            progress.advance(status=f"{failed} failed")
"""

from __future__ import annotations

import sys
from typing import TextIO

from tqdm import tqdm

PLAIN_WIDTH = 40


def raw_stream(stream) -> TextIO:
    """The file under Django's OutputWrapper, which ends every write with a newline (a bar must not)."""
    return getattr(stream, "_out", stream) if stream is not None else sys.stderr


def is_terminal(stream) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


class Progress:
    """Counts done items of a known total; see the module docstring."""

    def __init__(self, *, total: int, unit: str, stream=None, desc: str = ""):
        self.stream = raw_stream(stream)
        self.total, self.unit, self.done = max(total, 0), unit, 0
        self.tty = is_terminal(self.stream)
        self._last_tenth = -1
        self._printed: int | None = None  # the count of the last plain line
        self._noted, self._status = False, ""
        # disable=None: tqdm itself turns the bar off when the stream is not a terminal.
        self.bar = (
            tqdm(
                total=self.total,
                unit=f" {unit}",
                desc=desc or None,
                file=self.stream,
                disable=None,
                dynamic_ncols=True,
                leave=True,
            )
            if self.tty
            else None
        )

    def advance(self, n: int = 1, *, note: str = "", status: str = "") -> None:
        """`n` more items done. `note` says something about the item (a line of its own); `status` is
        shown beside the counts (e.g. "2 failed")."""
        self.done += n
        self._status = status or self._status
        if self.bar is not None:
            if note:
                self.bar.write(note, file=self.stream)
            if status:
                self.bar.set_postfix_str(status, refresh=False)
            self.bar.update(n)
            return
        if note:
            self._noted = True
            self._line(f"[{self.done}/{self.total}] {note}")
            return
        tenth = self.done * 10 // max(self.total, 1)
        if tenth != self._last_tenth or self.done >= self.total:
            self._last_tenth = tenth
            self._line(self.plain_bar(self._status))
            self._printed = self.done

    def plain_bar(self, status: str = "") -> str:
        filled = (
            PLAIN_WIDTH * min(self.done, self.total) // max(self.total, 1)
            if self.total
            else PLAIN_WIDTH
        )
        line = f"[{'#' * filled}{'.' * (PLAIN_WIDTH - filled)}] {self.done:,}/{max(self.total, self.done):,} {self.unit}"
        return f"{line}, {status}" if status else line

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif not self._noted and self._printed != self.done:  # e.g. nothing to do: still say 0/0
            self._line(self.plain_bar(self._status))

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
