"""Email, Slack and in-app notifications of billing events. Tenant schema."""
