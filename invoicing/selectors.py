"""Reads of the invoicing app: <entity>_list / <entity>_get(*, tenant, ...)."""
