"""Writes of the invoicing app, split by sub-domain: documents (PDFs), payments (invoice state,
dunning, pay now, overdue), finance (refunds with maker-checker, credit notes, adjustments, void,
uncollectible). Each function takes the tenant and owns its transaction."""
