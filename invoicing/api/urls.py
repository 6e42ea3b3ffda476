"""API routes of the invoicing app, mounted under /api/v1/."""

from django.urls import path

from invoicing.api import views

urlpatterns = [
    path("invoices", views.InvoiceListApi.as_view()),
    path("invoices/<str:invoice_id>", views.InvoiceDetailApi.as_view()),
    path("invoices/<str:invoice_id>/pdf", views.InvoicePdfApi.as_view()),
    path("invoices/<str:invoice_id>/pay", views.InvoicePayApi.as_view()),
    path("invoices/<str:invoice_id>/refunds", views.RefundCreateApi.as_view()),
    path("invoices/<str:invoice_id>/credit-notes", views.CreditNoteCreateApi.as_view()),
    path("invoices/<str:invoice_id>/void", views.InvoiceCloseApi.as_view(action="void")),
    path(
        "invoices/<str:invoice_id>/mark-uncollectible",
        views.InvoiceCloseApi.as_view(action="uncollectible"),
    ),
    path("refunds/<str:refund_id>/approve", views.RefundDecisionApi.as_view(decision="approve")),
    path("refunds/<str:refund_id>/reject", views.RefundDecisionApi.as_view(decision="reject")),
    path("adjustments", views.AdjustmentCreateApi.as_view()),
]
