"""Finance back-office for the invoicing app."""
