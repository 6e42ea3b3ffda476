"""Writes of the subscriptions app: <entity>_<action>(*, tenant, ...) functions that own their transaction.

Split by sub-domain, in layers (a module imports only from the layers before it):

1. common (the dj-stripe mirror, idempotency keys), state (a Stripe subscription -> BillingAccount),
   catalog (plans -> Stripe products and prices), customers (one Stripe customer per tenant);
2. subscriptions (subscribe, change, cancel), payment_methods (the tenant's cards);
3. sync (pull a tenant's state from Stripe: `tenant_resync`), clocks (test clock advance);
4. webhooks (Stripe events -> the above).
"""
