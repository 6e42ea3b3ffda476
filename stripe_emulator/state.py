"""In-memory store of every Stripe object, guarded by one global lock."""

from __future__ import annotations

import copy
import json
import os
import secrets
import string
import threading
import time
from collections.abc import Callable

from .encoding import strip_private
from .errors import not_found

API_VERSION = "2026-05-27.dahlia"

# id prefix -> object type, so a bare id can be resolved for expand[] and lookups.
PREFIXES = {
    "acct": "account",
    "cus": "customer",
    "pm": "payment_method",
    "seti": "setup_intent",
    "pi": "payment_intent",
    "prod": "product",
    "price": "price",
    "promo": "promotion_code",
    "sub": "subscription",
    "si": "subscription_item",
    "in": "invoice",
    "ii": "invoiceitem",
    "inpay": "invoice_payment",
    "ch": "charge",
    "re": "refund",
    "cn": "credit_note",
    "evt": "event",
    "we": "webhook_endpoint",
    "clock": "test_helpers.test_clock",
    "mtr": "billing.meter",
    "txn": "balance_transaction",
    "cbtxn": "customer_balance_transaction",
    "di": "discount",
}
# Human names used in "No such ..." messages.
KIND_NAMES = {
    "test_helpers.test_clock": "test clock",
    "billing.meter": "billing meter",
    "invoiceitem": "invoice item",
    "customer_balance_transaction": "customer balance transaction",
}

DEFAULT_SETTINGS = {
    # Off by default: the product runs its own dunning through POST /v1/invoices/:id/pay.
    "automatic_retries": False,
    "retry_days": [3, 5, 7],  # offsets from the first failure, like Smart Retries' spread
    "after_retries": "canceled",  # or "unpaid" (Stripe's subscription setting)
    "upcoming_days": 3,  # invoice.upcoming this many days before a renewal
    "settlement_seconds": 180,  # a SEPA debit settles this long after it was submitted
}

_ALPHABET = string.ascii_letters + string.digits

# Filled by resource modules: object type -> fn(state, rendered_copy) adding dynamic fields,
# and (object type, field) -> fn(state, stored_obj) for includable fields (expand only).
RENDERERS: dict[str, Callable[..., object]] = {}
INCLUDES: dict[tuple[str, str], Callable[..., object]] = {}


def new_id(prefix, length=24):
    """A Stripe-looking id such as ``cus_Qx...``."""
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(length))


class State:
    """All objects plus emulator bookkeeping; callers hold ``lock`` while touching it."""

    def __init__(self):
        self.lock = threading.RLock()
        self._file_lock = threading.Lock()  # the debounced saver and stop() may save at once
        self.current_request = None  # {"id", "idempotency_key"} while serving an API request
        self.listeners = []  # callables(event, endpoints) run for each new event (webhook dispatch)
        # Set by the server to the dispatcher's wait: clocks report ready after first deliveries.
        self.wait_for_deliveries = lambda event_ids: True
        # (thread id, callable(event)) while a test clock advances: called after a renewal's
        # `invoice.created`, before the draft is finalized (clock.advance).
        self.draft_review = None
        # Where a browser reaches this emulator (set by the server when it binds): the 3-D Secure
        # page's address in PaymentIntents' next_action.
        self.public_url = "http://127.0.0.1:12111"
        self.reset()

    def reset(self):
        """Forget every object, event, setting and idempotency record."""
        with self.lock:
            self.tables = {}
            self.idempotency = {}
            self.settings = copy.deepcopy(DEFAULT_SETTINGS)
            self.meter_events = []
            self.faults = []
            self.account = {"id": new_id("acct", 16), "created": int(time.time())}
            self.dirty = True

    # ---- objects -------------------------------------------------------------------------
    def table(self, obj_type):
        """The insertion-ordered dict of one object type."""
        return self.tables.setdefault(obj_type, {})

    def add(self, obj):
        """Store a new object (dict with ``id`` and ``object``)."""
        self.table(obj["object"])[obj["id"]] = obj
        self.dirty = True
        return obj

    def find(self, obj_id, obj_type=None):
        """Stored object by id, or None."""
        if not isinstance(obj_id, str):
            return None
        obj_type = obj_type or PREFIXES.get(obj_id.split("_")[0])
        if obj_type is None:
            for table in self.tables.values():
                if obj_id in table:
                    return table[obj_id]
            return None
        return self.tables.get(obj_type, {}).get(obj_id)

    def get(self, obj_type, obj_id, param="id"):
        """Stored object or a Stripe 404 (deleted objects count as missing)."""
        obj = self.find(obj_id, obj_type)
        if obj is None or obj.get("_deleted"):
            raise not_found(
                KIND_NAMES.get(obj_type, obj_type.split(".")[-1].replace("_", " ")),
                obj_id,
                param=param,
            )
        return obj

    def all(self, obj_type, newest_first=True):
        """Live objects of a type, newest first like every Stripe list."""
        objs = [o for o in self.table(obj_type).values() if not o.get("_deleted")]
        return objs[::-1] if newest_first else objs

    def render(self, obj):
        """Public JSON of a stored object (private keys dropped, dynamic fields filled)."""
        out = strip_private(obj)
        hook = RENDERERS.get(obj.get("object"))
        return hook(self, obj, out) if hook else out

    def resolve(self, obj_id):
        """Rendered object for an id, for expand[]; None when unknown."""
        obj = self.find(obj_id)
        return self.render(obj) if obj is not None else None

    def include(self, rendered, field):
        """Includable field value for expand[] (e.g. ``invoice.payments``), or None."""
        hook = INCLUDES.get((rendered.get("object"), field))
        stored = self.find(rendered.get("id"), rendered.get("object"))
        return hook(self, stored) if hook and stored is not None else None

    # ---- time ----------------------------------------------------------------------------
    def clock_of(self, customer_id):
        """The test clock a customer is attached to, or None."""
        customer = self.find(customer_id, "customer") if customer_id else None
        clock_id = customer and customer.get("test_clock")
        return self.find(clock_id, "test_helpers.test_clock") if clock_id else None

    def now(self, customer_id=None):
        """Unix time, or the frozen time of the customer's test clock."""
        clock = self.clock_of(customer_id)
        return clock["frozen_time"] if clock else int(time.time())

    # ---- persistence ---------------------------------------------------------------------
    def dump(self):
        """JSON-able snapshot of everything worth keeping across restarts."""
        return {
            "version": 1,
            "tables": self.tables,
            "idempotency": self.idempotency,
            "settings": self.settings,
            "meter_events": self.meter_events,
            "account": self.account,
        }

    def load(self, data):
        """Replace the state with a snapshot from ``dump``."""
        with self.lock:
            self.tables = data.get("tables", {})
            self.idempotency = data.get("idempotency", {})
            self.settings = {**DEFAULT_SETTINGS, **data.get("settings", {})}
            self.meter_events = data.get("meter_events", [])
            self.account = data.get("account", self.account)
            self.dirty = False

    def save_file(self, path):
        """Write the snapshot atomically (temp file + rename) so a crash never truncates it."""
        with self._file_lock:
            with self.lock:
                text = json.dumps(self.dump(), separators=(",", ":"))
                self.dirty = False
            tmp = f"{path}.tmp"
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, path)

    def load_file(self, path):
        """Load a snapshot file if it exists."""
        if path and os.path.exists(path):
            with open(path, encoding="utf-8") as fh:
                self.load(json.load(fh))
