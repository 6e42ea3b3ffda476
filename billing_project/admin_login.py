"""The Django admin's sign-in form, under the login throttle of the API and the portal: the same
per-email and per-IP buckets (tenants.services.auth.login_attempt), so failures anywhere count everywhere
and /admin/login/ is no way around the limit."""

from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError

from billing_project.api.exceptions import RateLimited
from billing_project.client_ip import client_ip
from tenants.services.auth import AuthenticationError, login_attempt


class ThrottledAdminLoginForm(AdminAuthenticationForm):
    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "throttled": "Too many failed sign-ins; try again later.",
    }

    def clean(self):
        email, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        if not email or not password:
            return self.cleaned_data  # the fields' own errors say what is missing
        refusal: list[ValidationError] = []

        def verify():
            # Django's check (password, active, staff); its refusal is a failed attempt like a wrong password.
            try:
                return super(ThrottledAdminLoginForm, self).clean()
            except ValidationError as exc:
                refusal.append(exc)
                raise AuthenticationError() from exc

        try:
            login_attempt(email=email, ip=client_ip(self.request), verify=verify)
        except RateLimited:
            raise ValidationError(self.error_messages["throttled"], code="throttled") from None
        except AuthenticationError:
            raise refusal[0] from None
        return self.cleaned_data
