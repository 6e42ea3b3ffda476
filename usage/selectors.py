"""Reads of the usage app: <entity>_list / <entity>_get(*, tenant, ...)."""
