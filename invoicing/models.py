"""Invoice documents (branded PDFs), payment retries, refunds and credit notes. Tenant schema."""
