"""Finance back-office for the coupons app."""
