"""Finance back-office for the notifications app."""
