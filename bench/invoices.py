#!/usr/bin/env python
"""Invoice PDF rendering: latency of one invoice and throughput over 1,000 tenants.

    python bench/invoices.py [--renders 40] [--tenants 1000] [--concurrency 2]

1. p50/p95 of rendering a one-page and a three-page invoice (WeasyPrint, the real template and
   formatting code, in this process, after one warm-up render).
2. The invoices of N tenants (one each, locales en/pt-br/es in turn, as the month-end run renders
   them) rendered by `concurrency` worker processes -- the worker concurrency of a Celery worker on
   this 2-core machine -- each PDF stored through Django's storage (a temporary MEDIA_ROOT) with its
   SHA-256, as the render task does. Database and Stripe reads are left out: they are a few
   milliseconds per invoice next to the render.
Goals (issue 7): one-page p95 < 300 ms; 1,000 tenants < 5 min. Prints the figures; asserts nothing.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing_project.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

LOCALES = ("en", "pt-br", "es")


def _setup(media_root: str | None = None) -> None:
    import logging

    import django

    if media_root:
        os.environ["MEDIA_ROOT"] = media_root
    django.setup()
    logging.getLogger("weasyprint").setLevel(logging.WARNING)
    logging.getLogger("fontTools").setLevel(logging.WARNING)


def _invoice(lines: int, number: str, currency: str = "usd"):
    from invoicing.selectors import invoice_view
    from tests.invoicing import payloads

    items = [
        payloads.line(2900 + 7 * i, f"Usage of service {i:03d}", currency=currency)
        for i in range(lines)
    ]
    return invoice_view(
        payloads.invoice(lines=items, currency=currency, number=number, discount=500, tax=1200),
        with_lines=True,
    )


def _tenant(i: int):
    from tenants.models import Tenant

    return Tenant(
        name=f"Tenant {i:04d}",
        slug=f"bench-{i:04d}",
        email=f"billing@t{i}.test",
        locale=LOCALES[i % 3],
        legal_name=f"Tenant {i:04d} Ltd.",
        address="1 Bench Road\nSpringfield",
        tax_id=f"TAX-{i:06d}",
    )


def _percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def latency(lines: int, renders: int) -> tuple[float, float, int]:
    from invoicing.documents import render_pdf

    invoice, tenant = _invoice(lines, "BENCH-0001"), _tenant(0)
    render_pdf(invoice=invoice, tenant=tenant)  # warm-up: fonts, template, CSS
    timings, pages = [], 0
    for _ in range(renders):
        started = time.perf_counter()
        _, pages = render_pdf(invoice=invoice, tenant=tenant)
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings), _percentile(timings, 0.95), pages


def _worker_init(media_root: str) -> None:
    _setup(media_root)


def _render_one(i: int) -> float:
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from invoicing.documents import checksum, render_pdf

    started = time.perf_counter()
    pdf, _ = render_pdf(
        invoice=_invoice(3 + i % 5, f"T{i:04d}-0001", "jpy" if i % 10 == 0 else "usd"),
        tenant=_tenant(i),
    )
    name = default_storage.save(f"invoices/bench-{i:04d}/in_{i:06d}.pdf", ContentFile(pdf))
    assert len(checksum(pdf)) == 64 and name
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=40, help="renders per latency figure")
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=2)
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-invoices-") as media_root:
        _setup(media_root)
        for lines, label in ((6, "one-page"), (45, "three-page")):
            p50, p95, pages = latency(lines, options.renders)
            print(
                f"{label} invoice ({lines} lines, {pages} pages): p50 {p50:.0f} ms, p95 {p95:.0f} ms "
                f"over {options.renders} renders" + ("  (goal p95 < 300 ms)" if lines == 6 else "")
            )

        started = time.perf_counter()
        with ProcessPoolExecutor(
            max_workers=options.concurrency, initializer=_worker_init, initargs=(media_root,)
        ) as pool:
            durations = list(pool.map(_render_one, range(options.tenants), chunksize=10))
        elapsed = time.perf_counter() - started
        stored = sum(1 for _ in Path(media_root, "invoices").rglob("*.pdf"))
        print(
            f"{options.tenants} tenants' invoices at concurrency {options.concurrency}: {elapsed:.1f} s "
            f"({options.tenants / max(elapsed, 1e-9):.1f} PDFs/s, per PDF p95 {_percentile(durations or [0], 0.95) * 1000:.0f} ms), "
            f"{stored} files stored  (goal < 300 s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
