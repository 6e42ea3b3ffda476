"""Writes of the usage app: <entity>_<action>(*, tenant, ...) functions that own their transaction."""
