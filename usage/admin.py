"""Finance back-office for the usage app."""
