"""The long commands' progress (billing_project/progress.py): plain lines with counts when the output is
not a terminal (logs, CI), a tqdm bar when it is."""

import io

from billing_project.progress import Progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_off_a_terminal_plain_lines_every_tenth_with_counts_and_status():
    out = io.StringIO()
    with Progress(total=20, unit="rendered", stream=out) as progress:
        for done in range(1, 21):
            progress.advance(status=f"{done // 10} failed")
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert len(lines) == 11  # the first item, then one line per tenth up to 20/20
    assert lines[0] == "[##......................................] 1/20 rendered, 0 failed"
    assert lines[1] == "[####....................................] 2/20 rendered, 0 failed"
    assert lines[-1] == "[########################################] 20/20 rendered, 2 failed"


def test_off_a_terminal_notes_are_one_counted_line_per_item():
    out = io.StringIO()
    with Progress(total=2, unit="tenants", stream=out) as progress:
        progress.advance(note="acme: trialing")
        progress.advance(note="globex: no Stripe customer")
    assert out.getvalue().splitlines() == [
        "[1/2] acme: trialing",
        "[2/2] globex: no Stripe customer",
    ]


def test_nothing_to_do_still_says_so():
    out = io.StringIO()
    Progress(total=0, unit="events", stream=out).close()
    assert out.getvalue() == "[########################################] 0/0 events\n"


def test_on_a_terminal_a_tqdm_bar_with_notes_above_it():
    out = Terminal()
    with Progress(total=4, unit="plans", stream=out) as progress:
        for code in ("free", "starter", "pro", "enterprise"):
            progress.advance(note=f"{code}: up to date")
    text = out.getvalue()
    assert "\r" in text and "4/4" in text and "100%" in text  # tqdm's redrawn line
    assert (
        "pro: up to date\n" in text and "[3/4]" not in text
    )  # notes printed as they are, above the bar
