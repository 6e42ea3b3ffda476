"""Writes of the coupons app: <entity>_<action>(*, tenant, ...) functions that own their transaction."""
