"""Tenants (billed organisations), their domains, users, memberships, API keys and the audit log.

All of these live in the public schema. Every row that belongs to a tenant is reached through a
selector that takes the tenant (tenants.selectors).
"""

import uuid
from typing import Any, ClassVar

from django.contrib.auth.base_user import BaseUserManager
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower, Upper
from django_tenants.models import DomainMixin, TenantMixin


class Tenant(TenantMixin):  # type: ignore[misc]  # django-tenants ships no types: its mixins are Any
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"
        CLOSED = "closed", "Closed"

    class Locale(models.TextChoices):
        EN = "en", "English"
        PT_BR = "pt-br", "Português (Brasil)"
        ES = "es", "Español"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=63, unique=True)
    email = models.EmailField(help_text="Billing contact; Stripe customer email.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    locale = models.CharField(max_length=8, choices=Locale.choices, default=Locale.EN)
    # Branding and legal identity printed on invoices and shown in the portal.
    legal_name = models.CharField(max_length=200, blank=True)
    address = models.TextField(blank=True)
    tax_id = models.CharField(max_length=64, blank=True)
    brand_color = models.CharField(max_length=7, blank=True, help_text="#RRGGBB")
    logo_url = models.URLField(blank=True)
    created = models.DateTimeField(auto_now_add=True)

    # Schemas are created by tenants.services.tenant_create (cloned from the template schema),
    # never as a side effect of save(), so that admin and scripts go through the same service.
    auto_create_schema = False
    auto_drop_schema = True

    class Meta:
        ordering = ["created"]
        indexes = [
            # django-tenants checks a new tenant's schema name ignoring case
            # (`UPPER(schema_name::text) = UPPER(...)`): without this index, a scan of every tenant
            # on each provisioning, growing with the tenant count.
            models.Index(Upper("schema_name"), name="tenants_tenant_schema_upper"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"

    @property
    def tenant_id(self) -> str:
        return str(self.id)


class Domain(DomainMixin):  # type: ignore[misc]  # django-tenants ships no types: its mixins are Any
    pass


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: Any) -> "User":
        if not email:
            raise ValueError("Users need an email address")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> "User":
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> "User":
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """A person: a tenant's member (through Membership) or platform staff (is_staff + groups)."""

    username = None  # type: ignore[assignment]  # the email is the login: Django's documented custom-user pattern
    email = models.EmailField(unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]  # an email-only manager, not AbstractUser's username one

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self) -> str:
        return self.email


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    BILLING_ADMIN = "billing_admin", "Billing admin"
    VIEWER = "viewer", "Viewer"


class Membership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created"]
        constraints = [models.UniqueConstraint(fields=["user", "tenant"], name="membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} {self.role} of {self.tenant.slug}"


class ApiKey(models.Model):
    """A credential for integrations. Only a SHA-256 of the secret is stored: keys are random
    (256 bits), so a slow password hash would buy nothing and cost every request."""

    class KeyRole(models.TextChoices):
        OWNER = "owner", "Owner"
        BILLING_ADMIN = "billing_admin", "Billing admin"
        VIEWER = "viewer", "Viewer"
        INGEST = "ingest", "Ingest (usage only)"
        PLATFORM = "platform", "Platform (tenant provisioning)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Null tenant = a platform key (role "platform"), created by staff.
    tenant = models.ForeignKey(
        Tenant, null=True, blank=True, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=100)
    role = models.CharField(max_length=16, choices=KeyRole.choices)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        verbose_name = "API key"
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(role="platform", tenant__isnull=True)
                    | (~models.Q(role="platform") & models.Q(tenant__isnull=False))
                ),
                name="api_key_platform_iff_no_tenant",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.visible_prefix}…)"

    @property
    def visible_prefix(self) -> str:
        """The leading part of the secret (`bk_<prefix>_<random>`) as its holder sees it: what lists show,
        so a listed key can be matched to the key in hand."""
        return f"bk_{self.prefix}"

    @property
    def api_key_id(self) -> str:
        return str(self.id)


class AuditEvent(models.Model):
    """Who did what to which tenant's billing: written by every money- or access-changing service."""

    tenant = models.ForeignKey(
        Tenant, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor = models.CharField(
        max_length=200, help_text="user email, 'api_key:<prefix>', or 'system'"
    )
    action = models.CharField(max_length=100)
    target = models.CharField(max_length=200, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.created:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.target}"


class IdempotencyRecord(models.Model):
    """The first response to a mutating API request sent with an Idempotency-Key."""

    scope = models.CharField(max_length=80, help_text="tenant id, or the platform principal")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="sha256 of method, path and body")
    status_code = models.PositiveSmallIntegerField(
        null=True, help_text="null while the first request runs"
    )
    response_body = models.JSONField(null=True)
    created = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotency_scope_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.key} ({self.status_code or 'in progress'})"


class LoginAttempt(models.Model):
    """A counted login attempt while Redis is down: the login throttle's fallback (tenants.services.auth),
    so an outage of Redis is neither a 500 nor "no limit". Rows older than the window are deleted."""

    bucket = models.CharField(
        max_length=200, help_text="the throttle bucket: per email digest or per IP"
    )
    token = models.CharField(max_length=32)
    created = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [models.Index(fields=["bucket", "created"], name="login_attempt_bucket_created")]

    def __str__(self) -> str:
        return f"{self.bucket} {self.created:%Y-%m-%d %H:%M:%S}"


# Choice sets shared by serializers and the OpenAPI enum names (settings.SPECTACULAR_SETTINGS).
LOCALE_CHOICES = Tenant.Locale.choices
API_KEY_ROLE_CHOICES = ApiKey.KeyRole.choices
TENANT_API_KEY_ROLE_CHOICES = [
    choice for choice in ApiKey.KeyRole.choices if choice[0] != "platform"
]
TENANT_STATUS_CHOICES = Tenant.Status.choices
