"""Writes of the notifications app: <entity>_<action>(*, tenant, ...) functions that own their transaction."""
