"""Where uploaded and generated files (invoice PDFs, tenants' uploads) live: Django's `default_storage`.

Local disk (MEDIA_ROOT) unless STORAGE_S3_BUCKET is set; then any S3-compatible object store through
django-storages (AWS S3, MinIO, Ceph, Cloudflare R2, ...), which every web and worker node shares: a
PDF rendered by a worker on one machine is served by a web node on another. Objects stay private
(no ACL, no public URL): the app reads them and answers through its own authenticated views.
"""

from __future__ import annotations

FILE_SYSTEM = "django.core.files.storage.FileSystemStorage"
S3 = "storages.backends.s3.S3Storage"


def default_storage_config(
    *,
    bucket: str,
    endpoint_url: str = "",
    access_key: str = "",
    secret_key: str = "",
    region: str = "",
    prefix: str = "",
    addressing_style: str = "",
) -> dict:
    """The STORAGES["default"] entry: the bucket's when one is named, else local disk."""
    if not bucket:
        return {"BACKEND": FILE_SYSTEM}
    options = {
        "bucket_name": bucket,
        "location": prefix.strip("/"),
        # Fixed names per object (invoices/<schema>/<invoice>.pdf): a re-render replaces the object
        # (the service deletes it first), never a renamed copy beside it.
        "file_overwrite": False,
        "default_acl": None,
        "querystring_auth": True,
    }
    for key, value in (
        ("endpoint_url", endpoint_url),
        # Empty keys: boto3's own chain (instance role, AWS_* variables, ~/.aws) decides.
        ("access_key", access_key),
        ("secret_key", secret_key),
        ("region_name", region),
        ("addressing_style", addressing_style),  # "path" for MinIO and most self-hosted stores
    ):
        if value:
            options[key] = value
    return {"BACKEND": S3, "OPTIONS": options}
