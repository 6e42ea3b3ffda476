"""Reads of the coupons app: <entity>_list / <entity>_get(*, tenant, ...)."""
