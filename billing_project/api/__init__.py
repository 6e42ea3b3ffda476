"""The conventions of the API (../shared/API.md) in one place: errors, paging, money, auth, roles,
idempotency. Every endpoint builds on these modules."""
