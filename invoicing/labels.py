"""The invoice PDF's labels in the tenants' locales (en, pt-br, es).

A closed set of strings rendered by workers outside any request: kept here, next to the template,
and checked per locale by the PDF tests, instead of a gettext catalog that must be compiled."""

LABELS = {
    "en": {
        "invoice": "Invoice", "invoice_number": "Invoice number", "issued": "Date of issue", "due": "Due date",
        "period": "Billing period", "bill_to": "Bill to", "tax_id": "Tax ID", "description": "Description",
        "quantity": "Qty", "unit_price": "Unit price", "amount": "Amount", "subtotal": "Subtotal",
        "discount": "Discount", "tax": "Tax", "total": "Total", "amount_paid": "Amount paid",
        "amount_due": "Amount due", "status": "Status", "page": "Page", "of": "of", "proration": "proration",
        "how_to_pay": "How to pay",
        "how_to_pay_text": "Your card on file is charged automatically. To pay now or use another card, "
                           "open the billing portal or call POST /api/v1/invoices/{id}/pay.",
        "status_open": "Open", "status_paid": "Paid", "status_void": "Void", "status_uncollectible": "Uncollectible",
        "status_draft": "Draft", "overdue": "Overdue",
    },
    "pt-br": {
        "invoice": "Fatura", "invoice_number": "Número da fatura", "issued": "Data de emissão",
        "due": "Vencimento", "period": "Período de cobrança", "bill_to": "Cobrar de", "tax_id": "CNPJ/CPF",
        "description": "Descrição", "quantity": "Qtd.", "unit_price": "Preço unitário", "amount": "Valor",
        "subtotal": "Subtotal", "discount": "Desconto", "tax": "Impostos", "total": "Total",
        "amount_paid": "Valor pago", "amount_due": "Valor devido", "status": "Situação", "page": "Página",
        "of": "de", "proration": "proporcional", "how_to_pay": "Como pagar",
        "how_to_pay_text": "O cartão cadastrado é cobrado automaticamente. Para pagar agora ou usar outro "
                           "cartão, acesse o portal de cobrança ou chame POST /api/v1/invoices/{id}/pay.",
        "status_open": "Em aberto", "status_paid": "Paga", "status_void": "Cancelada",
        "status_uncollectible": "Incobrável", "status_draft": "Rascunho", "overdue": "Vencida",
    },
    "es": {
        "invoice": "Factura", "invoice_number": "Número de factura", "issued": "Fecha de emisión",
        "due": "Fecha de vencimiento", "period": "Periodo de facturación", "bill_to": "Facturar a",
        "tax_id": "NIF", "description": "Descripción", "quantity": "Cant.", "unit_price": "Precio unitario",
        "amount": "Importe", "subtotal": "Subtotal", "discount": "Descuento", "tax": "Impuestos",
        "total": "Total", "amount_paid": "Importe pagado", "amount_due": "Importe pendiente",
        "status": "Estado", "page": "Página", "of": "de", "proration": "prorrateo", "how_to_pay": "Cómo pagar",
        "how_to_pay_text": "Se cobra automáticamente la tarjeta registrada. Para pagar ahora o usar otra "
                           "tarjeta, abra el portal de facturación o llame a POST /api/v1/invoices/{id}/pay.",
        "status_open": "Pendiente", "status_paid": "Pagada", "status_void": "Anulada",
        "status_uncollectible": "Incobrable", "status_draft": "Borrador", "overdue": "Vencida",
    },
}


def labels_for(locale: str) -> dict:
    return LABELS.get(locale, LABELS["en"])
