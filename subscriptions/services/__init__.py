"""Writes of the subscriptions app: <entity>_<action>(*, tenant, ...) functions that own their transaction.

Split by sub-domain: catalog (plans -> Stripe), customers (customer per tenant, test clocks),
subscriptions, payment_methods, webhooks (events -> mirror and entitlements), sync (resync).
"""
