"""The type its callers give a Stripe object they read by key."""

from typing import Any

# Stripe's JSON as the apps read it: a delivered dict, a mirrored `stripe_data`, or a StripeObject
# (which dj-stripe's compat module gives dict's methods under stripe 15, unknown to stripe's types).
# Read by key (`data["status"]`, `data.get("customer")`), so its values are Any.
StripeData = Any
