"""Coupon definitions and redemptions. Public schema."""
