"""Writes of the subscriptions app: <entity>_<action>(*, tenant, ...) functions that own their transaction."""
