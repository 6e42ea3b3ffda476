"""Finance back-office: tenants, people, API keys, audit log."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils import timezone

from billing_project.api.exceptions import DomainError
from tenants import services
from tenants.cache import credentials_changed
from tenants.models import ApiKey, AuditEvent, Domain, Membership, Tenant, User


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "email", "status", "locale", "created"]
    list_filter = ["status", "locale"]
    search_fields = ["name", "slug", "email"]
    readonly_fields = ["schema_name", "created"]
    inlines = [DomainInline, MembershipInline]

    def get_readonly_fields(self, request, obj=None):
        # The slug names the schema and the portal host: fixed once provisioned.
        return self.readonly_fields + (["slug"] if obj else [])

    def get_inlines(self, request, obj):
        return self.inlines if obj else []

    def get_exclude(self, request, obj=None):
        return ["schema_name"] if obj is None else []

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        try:
            created = services.tenant_create(
                name=obj.name,
                slug=obj.slug,
                email=obj.email,
                locale=obj.locale,
                actor=request.user.email,
            )
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from exc
        obj.pk = created.pk
        obj.schema_name = created.schema_name
        # The service created the row; copy the branding fields the form also filled.
        Tenant.objects.filter(pk=created.pk).update(
            legal_name=obj.legal_name,
            address=obj.address,
            tax_id=obj.tax_id,
            brand_color=obj.brand_color,
            logo_url=obj.logo_url,
            status=obj.status,
        )
        credentials_changed()  # a bulk update sends no post_save: drop cached copies of the tenant
        obj._state.adding = False


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "is_staff", "is_active", "last_login"]
    search_fields = ["email"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "tenant", "role", "created"]
    list_filter = ["role"]
    search_fields = ["user__email", "tenant__slug"]
    autocomplete_fields = ["user", "tenant"]


class ApiKeyForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["tenant", "name", "role"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = [
        "name",
        "tenant",
        "role",
        "starts_with",
        "created",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["role"]
    search_fields = ["name", "prefix", "tenant__slug"]
    actions = ["revoke"]

    @admin.display(description="Key starts with", ordering="prefix")
    def starts_with(self, api_key):
        return api_key.visible_prefix

    def get_search_results(self, request, queryset, search_term):
        # Staff paste the key's start as its holder sees it (`bk_<prefix>`); the stored prefix lacks `bk_`.
        return super().get_search_results(
            request, queryset, search_term.strip().removeprefix("bk_")
        )

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        try:
            created, secret = services.api_key_create(
                tenant=obj.tenant,
                name=obj.name,
                role=obj.role,
                created_by=request.user,
                actor=request.user.email,
            )
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from exc
        obj.pk = created.pk
        obj._state.adding = False
        messages.warning(
            request, f"API key created. Copy it now, it will not be shown again: {secret}"
        )

    @admin.action(description="Revoke selected API keys")
    def revoke(self, request, queryset):
        for api_key in queryset.filter(revoked_at__isnull=True):
            if api_key.tenant is None:
                api_key.revoked_at = timezone.now()
                api_key.save(update_fields=["revoked_at"])
                services.audit_record(
                    actor=request.user.email, action="api_key.revoke", target=api_key.prefix
                )
            else:
                services.api_key_revoke(
                    tenant=api_key.tenant, api_key_id=api_key.pk, actor=request.user.email
                )
        self.message_user(request, "Revoked.")


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created", "actor", "action", "tenant", "target"]
    list_filter = ["action"]
    search_fields = ["actor", "target", "tenant__slug"]
    readonly_fields = ["created", "actor", "action", "tenant", "target", "before", "after"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the audit log is append-only, for superusers too
