"""``python -m stripe_emulator --port 12111 [--state-file F] [--webhook-url U --webhook-secret S]``."""

from __future__ import annotations

import argparse
import logging
import signal

from .server import EmulatorServer


def main(argv=None):
    """Parse arguments, register the webhook endpoint if asked, and serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m stripe_emulator", description=__doc__)
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--state-file", help="JSON file to load at start and save after changes")
    parser.add_argument("--webhook-url", help="register a webhook endpoint for all events ('*')")
    parser.add_argument("--webhook-secret", help="signing secret (whsec_...) for --webhook-url")
    parser.add_argument(
        "--webhook-retry-base", type=float, default=5.0, help="seconds before the first retry"
    )
    parser.add_argument(
        "--automatic-retries", action="store_true", help="retry failed invoice payments"
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    if args.webhook_secret and not args.webhook_url:
        parser.error("--webhook-secret needs --webhook-url")
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(message)s"
    )
    server = EmulatorServer(
        port=args.port,
        host=args.host,
        state_file=args.state_file,
        webhook_retry_base=args.webhook_retry_base,
        settings={"automatic_retries": True} if args.automatic_retries else None,
    )
    if args.webhook_url:
        secret = server.add_webhook_endpoint(args.webhook_url, args.webhook_secret)
        logging.info("webhooks -> %s (secret %s)", args.webhook_url, secret)
    server.start()
    # SIGTERM (docker stop, process managers) stops cleanly so the state file is flushed.
    signal.signal(signal.SIGTERM, lambda *_: server.request_stop())
    logging.info("Stripe emulator listening on %s", server.url)
    server.serve_forever()


if __name__ == "__main__":
    main()
