"""Portal pages of outbound webhooks: owners add endpoints, send a test event, rotate the secret,
enable/disable, replay and retry; billing admins read the endpoints and their delivery logs."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from billing_project.errors import DomainError, NotFound
from portal.access import OWNER_ROLES, member_required
from tenants.models import Role
from webhooks import selectors, services
from webhooks.forms import EndpointForm, ReplayForm

READ = frozenset({Role.OWNER, Role.BILLING_ADMIN})


def _endpoint(request, endpoint_id: str):
    endpoint = selectors.endpoint_get(tenant=request.tenant, endpoint_id=endpoint_id)
    if endpoint is None:
        raise Http404
    return endpoint


def _list(request, *, form=None, secret=None, created=None, status=200):
    context = {
        "endpoints": selectors.endpoint_list(tenant=request.tenant),
        "form": form or EndpointForm(),
        "secret": secret,
        "created": created,
        "can_write": request.membership.role == Role.OWNER,
    }
    return render(request, "webhooks/portal/endpoints.html", context, status=status)


@never_cache
@member_required(read=READ, write=OWNER_ROLES)
def endpoints(request):
    if request.method != "POST":
        return _list(request)
    form = EndpointForm(request.POST)
    if form.is_valid():
        result = form.call(
            services.endpoint_create,
            tenant=request.tenant,
            actor=request.user.email,
            url=form.cleaned_data["url"],
            description=form.cleaned_data["description"],
            enabled_events=form.events(),
        )
        if result is not None:
            endpoint, secret = result
            # The secret is shown on this answer only (never stored in clear, never shown again).
            return _list(request, secret=secret, created=endpoint)
    return _list(request, form=form, status=400)


@never_cache
@member_required(read=READ, write=OWNER_ROLES)
def endpoint_detail(request, endpoint_id):
    endpoint = _endpoint(request, endpoint_id)
    return _detail(request, endpoint)


def _detail(request, endpoint, *, secret=None, replay_form=None, status=200):
    deliveries = selectors.delivery_queryset(tenant=request.tenant, endpoint=endpoint)[:100]
    context = {
        "endpoint": endpoint,
        "deliveries": list(deliveries),
        "stats": selectors.delivery_stats(tenant=request.tenant, endpoint=endpoint),
        "secret": secret,
        "replay_form": replay_form or ReplayForm(),
        "can_write": request.membership.role == Role.OWNER,
    }
    return render(request, "webhooks/portal/endpoint.html", context, status=status)


def _act(request, endpoint_id, service, success: str, **kwargs):
    try:
        service(tenant=request.tenant, actor=request.user.email, endpoint_id=endpoint_id, **kwargs)
    except NotFound:
        raise Http404 from None
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, success)
    return redirect("portal:webhook-endpoint", endpoint_id=endpoint_id)


@require_POST
@member_required(read=READ, write=OWNER_ROLES)
def endpoint_test(request, endpoint_id):
    return _act(
        request,
        endpoint_id,
        services.endpoint_send_test,
        _("Test event sent. Its delivery appears in the log below."),
    )


@require_POST
@member_required(read=READ, write=OWNER_ROLES)
def endpoint_toggle(request, endpoint_id):
    enabled = not _endpoint(request, endpoint_id).enabled
    return _act(
        request,
        endpoint_id,
        services.endpoint_update,
        _("Endpoint enabled.") if enabled else _("Endpoint disabled."),
        enabled=enabled,
    )


@require_POST
@member_required(read=READ, write=OWNER_ROLES)
def endpoint_rotate(request, endpoint_id):
    try:
        endpoint, secret = services.endpoint_rotate_secret(
            tenant=request.tenant, actor=request.user.email, endpoint_id=endpoint_id
        )
    except NotFound:
        raise Http404 from None
    return _detail(request, endpoint, secret=secret)


@require_POST
@member_required(read=READ, write=OWNER_ROLES)
def endpoint_delete(request, endpoint_id):
    try:
        services.endpoint_delete(
            tenant=request.tenant, actor=request.user.email, endpoint_id=endpoint_id
        )
    except NotFound:
        raise Http404 from None
    messages.success(request, _("Endpoint deleted."))
    return redirect("portal:webhooks")


@require_POST
@member_required(read=READ, write=OWNER_ROLES)
def endpoint_replay(request, endpoint_id):
    endpoint = _endpoint(request, endpoint_id)
    form = ReplayForm(request.POST)
    if not form.is_valid():
        return _detail(request, endpoint, replay_form=form, status=400)
    count = services.deliveries_replay(
        tenant=request.tenant,
        actor=request.user.email,
        endpoint_id=endpoint_id,
        since=form.cleaned_data["since"],
    )
    messages.success(request, _("%(count)s failed deliveries queued again.") % {"count": count})
    return redirect("portal:webhook-endpoint", endpoint_id=endpoint_id)


@require_POST
@member_required(read=READ, write=OWNER_ROLES)
def delivery_retry(request, endpoint_id, delivery_id):
    return _act(
        request,
        endpoint_id,
        services.delivery_retry,
        _("Delivery queued again."),
        delivery_id=delivery_id,
    )
