"""Writes of the invoicing app: <entity>_<action>(*, tenant, ...) functions that own their transaction."""
