"""Revenue recognition, straight line (ASC 606 / IFRS 15 for a service delivered evenly over time).

A schedule is an amount (minor units) over a service period of N days [start, end): each day
recognises amount // N (toward zero), and the last day the rest, so the days always add up to the
amount exactly (290.00 over 365 days: 0.79 a day, 1.00 + the remainder on the last day... in total
290.00). A one-off line (no service period) is recognised on its issue day.

A reversal (credit note, refund) on day r takes back first what is still deferred that day (the
unrecognised part): the rest of the schedule is then recognised over the remaining days with the
same rule; a reversal larger than what is deferred reduces revenue already recognised, on day r.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta


def _daily(amount: int, days: int) -> int:
    """amount / days toward zero (negative schedules, e.g. proration credits, mirror positive ones)."""
    quotient = abs(amount) // days
    return quotient if amount >= 0 else -quotient


def straight_line_through(amount: int, start: date, days: int, day: date) -> int:
    """What a schedule of `amount` over `days` days from `start` has recognised by the end of `day`."""
    elapsed = (day - start).days + 1
    if elapsed <= 0:
        return 0
    if elapsed >= days:
        return amount
    return elapsed * _daily(amount, days)


@dataclass
class Schedule:
    amount: int
    start: date
    end: date  # exclusive; start + 1 day for a one-off line
    reversals: list = field(default_factory=list)  # (day, amount)

    @property
    def days(self) -> int:
        return max((self.end - self.start).days, 1)

    def _walk(self, day: date) -> tuple[int, int]:
        """(recognised, deferred reversed) by the end of `day`."""
        amount, start, days = self.amount, self.start, self.days
        recognised = reversed_deferred = 0
        for when, value in sorted(self.reversals):
            when = max(when, start)
            if when >= start + timedelta(days=days):
                if day >= when:
                    recognised -= value  # nothing deferred any more: it reduces revenue
                continue
            before = when - timedelta(days=1)
            recognised += straight_line_through(amount, start, days, min(day, before))
            done = straight_line_through(amount, start, days, before)
            deferred = amount - done
            taken = max(0, min(value, deferred)) if amount >= 0 else 0
            if day >= when:
                reversed_deferred += taken
                recognised -= value - taken
            days -= (when - start).days
            amount, start = deferred - taken, when
        recognised += straight_line_through(amount, start, days, day)
        return recognised, reversed_deferred

    def recognised_through(self, day: date) -> int:
        return self._walk(day)[0]

    def reversed_through(self, day: date) -> int:
        return self._walk(day)[1]

    def deferred_after(self, day: date) -> int:
        """Billed, less recognised and reversed, at the end of `day` (for a schedule issued by then)."""
        recognised, reversed_deferred = self._walk(day)
        return self.amount - recognised - reversed_deferred
