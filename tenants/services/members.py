"""Users and memberships."""

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from billing_project.errors import Conflict, InvalidRequest, NotFound
from tenants.models import Membership, Role, Tenant, User
from tenants.services.audit import audit_record


def membership_create(
    *, tenant: Tenant, email: str, role: str, password: str | None = None, actor: str = "system"
) -> Membership:
    """Add a person to a tenant. A new user without a password gets an invitation email (after commit)."""
    if role not in Role.values:
        raise InvalidRequest(
            f"role must be one of {', '.join(Role.values)}.", detail={"role": ["Unknown role."]}
        )
    email = email.strip().lower()
    user = User.objects.filter(email__iexact=email).first()
    invite = False
    if user is None:
        if password:
            try:
                validate_password(password)
            except ValidationError as exc:
                raise InvalidRequest(exc.messages[0], detail={"password": exc.messages}) from exc
        user = User.objects.create_user(email=email, password=password or None)
        invite = not password
    if Membership.objects.filter(user=user, tenant=tenant).exists():
        raise Conflict(f"{email} is already a member of {tenant.slug}.", code="member_exists")
    membership = Membership.objects.create(user=user, tenant=tenant, role=role)
    audit_record(
        actor=actor, action="membership.create", tenant=tenant, target=email, after={"role": role}
    )
    if invite:
        transaction.on_commit(lambda: user_invite_send(user=user, tenant=tenant))
    return membership


@transaction.atomic
def membership_remove(*, tenant: Tenant, membership_id: int, actor: str = "system") -> Membership:
    """Take a person out of a tenant (the user stays: they may belong to other tenants).

    The last owner cannot be removed: nobody could manage the team or API keys afterwards.
    """
    # Locking the tenant's owner rows serialises two concurrent removals of the last two owners.
    owners = list(
        Membership.objects.select_for_update()
        .filter(tenant=tenant, role=Role.OWNER)
        .values_list("id", flat=True)
    )
    membership = (
        Membership.objects.select_related("user").filter(tenant=tenant, id=membership_id).first()
    )
    if membership is None:
        raise NotFound("No such member.")
    if membership.role == Role.OWNER and owners == [membership.id]:
        raise Conflict(
            "The last owner cannot be removed; make someone else an owner first.", code="last_owner"
        )
    membership.delete()
    audit_record(
        actor=actor,
        action="membership.remove",
        tenant=tenant,
        target=membership.user.email,
        before={"role": membership.role},
    )
    return membership


def user_invite_send(*, user: User, tenant: Tenant) -> None:
    """Email a link to set a password (Django's reset token: single use, expires with PASSWORD_RESET_TIMEOUT)."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    link = settings.PUBLIC_BASE_URL.rstrip("/") + reverse(
        "password_reset_confirm", args=[uid, token]
    )
    send_mail(
        subject=f"You have been invited to manage billing for {tenant.name}",
        message=(
            f"Hello,\n\nYou have been added to {tenant.name} on the billing portal.\n"
            f"Set your password here: {link}\n\nThen sign in at {settings.PUBLIC_BASE_URL} "
            f"or {tenant.slug}.{settings.BASE_DOMAIN}.\n"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[user.email],
    )
