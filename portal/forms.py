"""Forms of the portal. They validate input; the owning app's services decide."""

from django import forms
from django.contrib.auth import forms as auth_forms
from django.utils.translation import gettext_lazy as _

from billing_project.api.exceptions import DomainError
from portal.selectors import member_get
from tenants.models import Role
from tenants.services.api_keys import TENANT_KEY_ROLES

ROLE_LABELS = {
    Role.OWNER: _("Owner"),
    Role.BILLING_ADMIN: _("Billing admin"),
    Role.VIEWER: _("Viewer"),
    "ingest": _("Ingest (usage only)"),
}


class ServiceForm(forms.Form):
    """A form whose `call` runs a service and turns its DomainError into field or form errors."""

    def call(self, service, **kwargs):
        try:
            return service(**kwargs)
        except DomainError as exc:
            fields = exc.detail if isinstance(exc.detail, dict) else {}
            placed = False
            for name, messages in fields.items():
                if name in self.fields:
                    for message in messages if isinstance(messages, list) else [messages]:
                        self.add_error(name, str(message))
                    placed = True
            if not placed:
                self.add_error(None, exc.message)
            return None


class LoginForm(forms.Form):
    email = forms.EmailField(label=_("Email"), widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}))
    password = forms.CharField(label=_("Password"), strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's reset form, sending the link only to members of this host's tenant."""

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant = tenant
        self.fields["email"].label = _("Email")

    def get_users(self, email):
        return (user for user in super().get_users(email) if member_get(tenant=self.tenant, user=user) is not None)


class InviteForm(ServiceForm):
    email = forms.EmailField(label=_("Email"))
    role = forms.ChoiceField(label=_("Role"), choices=[(role, ROLE_LABELS[role]) for role in Role.values],
                             initial=Role.VIEWER)


class ApiKeyCreateForm(ServiceForm):
    name = forms.CharField(label=_("Name"), max_length=100)
    role = forms.ChoiceField(label=_("Role"), choices=[(role, ROLE_LABELS[role]) for role in TENANT_KEY_ROLES],
                             initial=Role.VIEWER)
