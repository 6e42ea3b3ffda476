"""Usage metering: events, rollups, limits and alerts. Tenant schema."""
