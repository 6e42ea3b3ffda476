"""Stripe emulator: the Stripe REST API (version 2026-05-27.dahlia) for tests and offline demos.

from stripe_emulator import EmulatorServer
srv = EmulatorServer(port=0).start()
stripe.api_base = srv.url
"""

from .server import EmulatorServer
from .state import API_VERSION
from .webhooks import sign

__all__ = ["API_VERSION", "EmulatorServer", "sign"]
