"""Everything that talks to Stripe, in one package; no other module imports `stripe`.

- `client`: the configured StripeClient (STRIPE_API_KEY, STRIPE_API_BASE, STRIPE_TIMEOUT_SECONDS,
  network retries), dj-stripe's global configuration, the /health account check.
- `errors`: the one translator from Stripe's errors to the service's domain errors (402
  card_declined / authentication_required, 404, 409, 503 payment_provider_unavailable).
- `keys`: the one Idempotency-Key helper (`op_key`) and the request options carrying it.
- one module per resource: `customers`, `payment_methods`, `catalog` (products and prices),
  `coupons`, `subscriptions`, `invoices`, `payment_intents` (a payment waiting for 3-D
  Secure), `refunds` (credit notes, which refund), `meters`, `clocks`
  (test clocks).
- `webhooks`: signature verification, the registry of handlers keyed by event type
  (`@stripe_webhook("invoice.payment_failed")` in each app's `handlers.py`, imported by its
  AppConfig.ready()) and the one re-fetch of an event's object. The endpoint that records events
  (received / processed / failed) is `subscriptions.services.webhooks`.

Nothing here is emulator-specific: STRIPE_API_BASE / STRIPE_API_KEY decide where the calls go.
"""
