"""Reads of the notifications app: <entity>_list / <entity>_get(*, tenant, ...)."""
