"""Object storage (issue 20): with STORAGE_S3_BUCKET, invoice PDFs are written to and served from an
S3-compatible bucket (moto's S3 server here), not the local disk; without it, local disk stays."""

import hashlib
from types import SimpleNamespace

import pytest
from django.core.files.storage import default_storage
from django_tenants.utils import tenant_context

from billing_project.storage_config import default_storage_config
from invoicing.http import document_response
from tests.invoicing import payloads

pytestmark = pytest.mark.django_db


def test_without_a_bucket_files_stay_on_local_disk():
    assert default_storage_config(bucket="") == {
        "BACKEND": "django.core.files.storage.FileSystemStorage"
    }


def test_invoice_pdfs_are_stored_in_and_served_from_the_bucket(
    tenant, s3_storage, settings, tmp_path, monkeypatch
):
    from invoicing.services import documents

    settings.MEDIA_ROOT = tmp_path / "media"
    data = payloads.invoice(status="open", lines=[payloads.line(12_000, "Pro plan")])
    monkeypatch.setattr(documents, "_invoice_data", lambda tenant, invoice_id: data)
    with tenant_context(tenant):
        first = documents.document_render(tenant=tenant, invoice_id="in_s3_0001")
        document = documents.document_render(tenant=tenant, invoice_id="in_s3_0001")

    key = f"invoices/{tenant.schema_name}/in_s3_0001.pdf"
    assert document.file.name == first.file.name == key
    # In the bucket, once (the re-render replaced the object), and nothing on this machine's disk.
    assert s3_storage.keys() == [key]
    stored = s3_storage.read(key)
    assert stored.startswith(b"%PDF") and hashlib.sha256(stored).hexdigest() == document.checksum
    assert not (tmp_path / "media").exists()
    assert type(default_storage._wrapped).__name__ == "S3Storage"

    # Served back through the app's own answer (the API and the portal both use it).
    invoice = SimpleNamespace(id="in_s3_0001", stripe_data={"number": "ACME-0001"})
    response = document_response(document, invoice=invoice, disposition="inline")
    assert response.status_code == 200 and response.content == stored
    assert response["X-Checksum-SHA256"] == document.checksum


def test_uploaded_files_go_to_the_bucket_privately(s3_storage):
    from django.core.files.base import ContentFile

    name = default_storage.save("branding/acme/logo.png", ContentFile(b"\x89PNG fake"))
    assert s3_storage.keys() == [name]
    with default_storage.open(name, "rb") as handle:
        assert handle.read() == b"\x89PNG fake"
    # Private objects: the URL the storage hands out is signed, never a bare public one.
    assert "Signature=" in default_storage.url(name) or "X-Amz-Signature=" in default_storage.url(
        name
    )
