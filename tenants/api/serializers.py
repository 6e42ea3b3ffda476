from rest_framework import serializers

from billing_project.api.fields import ModelOutput, StrictSerializer
from tenants.models import LOCALE_CHOICES, TENANT_API_KEY_ROLE_CHOICES, ApiKey, Tenant


class LoginInput(StrictSerializer):
    email = serializers.EmailField()
    password = serializers.CharField(trim_whitespace=False)
    tenant = serializers.SlugField(
        required=False,
        help_text="Slug of the tenant to sign in to (default: the oldest membership).",
    )


class RefreshInput(StrictSerializer):
    refresh_token = serializers.CharField()


class TokenOutput(serializers.Serializer):
    access_token = serializers.CharField()
    refresh_token = serializers.CharField()
    token_type = serializers.CharField()
    expires_in = serializers.IntegerField()


class ApiKeyInput(StrictSerializer):
    name = serializers.CharField(max_length=100)
    role = serializers.ChoiceField(choices=TENANT_API_KEY_ROLE_CHOICES)


class ApiKeyOutput(serializers.ModelSerializer):
    api_key_id = serializers.CharField(read_only=True)
    # The key as its holder sees it starts with this (`bk_<hex>`), so a listed key can be matched to the
    # key in hand; the stored prefix is the hex part alone, which the key lookup reads.
    prefix = serializers.CharField(
        source="visible_prefix",
        read_only=True,
        help_text="The leading part of the key as its holder sees it, e.g. `bk_1a2b3c4d5e6f`.",
    )

    class Meta:
        model = ApiKey
        fields = ["api_key_id", "name", "role", "prefix", "created", "last_used_at"]


class ApiKeyCreatedOutput(ApiKeyOutput):
    key = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="The secret. Shown only in this response (null in an Idempotency-Key replay).",
    )

    class Meta(ApiKeyOutput.Meta):
        fields = ["api_key_id", "name", "role", "prefix", "key", "created"]


class OwnerInput(StrictSerializer):
    email = serializers.EmailField()
    password = serializers.CharField(
        required=False,
        trim_whitespace=False,
        help_text="Without it the owner is invited by email to set one.",
    )


class TenantInput(StrictSerializer):
    name = serializers.CharField(max_length=200)
    slug = serializers.CharField(max_length=63)
    email = serializers.EmailField()
    locale = serializers.ChoiceField(choices=LOCALE_CHOICES, required=False, default="en")
    owner = OwnerInput(required=False)


class TenantOutput(ModelOutput):
    tenant_id = serializers.CharField(read_only=True)
    portal_url = serializers.SerializerMethodField()

    class Meta:
        model = Tenant
        fields = ["tenant_id", "name", "slug", "email", "status", "locale", "portal_url", "created"]

    def get_portal_url(self, tenant) -> str:
        from tenants.services.provisioning import portal_url_for

        return portal_url_for(tenant.slug)


class CurrentTenantOutput(TenantOutput):
    billing_status = serializers.SerializerMethodField(help_text="ok, past_due or overdue")

    class Meta(TenantOutput.Meta):
        fields = TenantOutput.Meta.fields + ["billing_status", "legal_name", "address", "tax_id"]

    def get_billing_status(self, tenant) -> str:
        from tenants.selectors import tenant_billing_status

        if "billing_status" in self.context:  # read by the view already
            return self.context["billing_status"]
        return tenant_billing_status(tenant=tenant)
