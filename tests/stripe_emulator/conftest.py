"""Loads the emulator's pytest plugin unless the root conftest (or ``-p``) already did."""


def pytest_configure(config):
    if not config.pluginmanager.has_plugin("stripe_emulator.pytest_plugin"):
        config.pluginmanager.import_plugin("stripe_emulator.pytest_plugin")
