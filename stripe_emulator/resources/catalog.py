"""Products and prices (recurring, one-off, metered), with lookup keys."""

from __future__ import annotations

import copy
from decimal import Decimal

from ..encoding import apply_metadata, get_bool, get_int, get_list, get_str
from ..errors import invalid, missing_param
from ..events import mutate
from ..routing import route
from ..state import new_id
from .base import create, delete, list_objects, new_object, retrieve, search_objects, update

PRODUCT_FIELDS = ("name", "description", "statement_descriptor", "unit_label", "url", "tax_code")


def _new_product(ctx, params, obj_id=None):
    name = get_str(params, "name", required=True)
    if obj_id and ctx.state.find(obj_id, "product"):
        raise invalid("Product already exists.", param="id", code="resource_already_exists")
    product = new_object(
        ctx,
        "product",
        "prod",
        obj_id=obj_id or new_id("prod", 14),
        metadata=False,
        active=get_bool(params, "active", True),
        default_price=None,
        description=None,
        images=list(get_list(params, "images")),
        marketing_features=[],
        name=name,
        package_dimensions=None,
        shippable=None,
        statement_descriptor=None,
        tax_code=None,
        type="service",
        unit_label=None,
        url=None,
    )
    product["metadata"] = {}
    apply_metadata(product, params)
    product["updated"] = product["created"]
    for field in PRODUCT_FIELDS[1:]:
        if params.get(field):
            product[field] = params[field]
    return product


@route("POST", "/v1/products")
def create_product(ctx):
    product = _new_product(ctx, ctx.params, get_str(ctx.params, "id"))
    out = create(ctx, product)
    data = ctx.params.get("default_price_data")
    if isinstance(data, dict):
        price = _new_price(ctx, {**data, "product": product["id"]})
        create(ctx, price)
        mutate(ctx.state, product, lambda p: p.update(default_price=price["id"]), "product.updated")
        out = ctx.out(product)
    return out


@route("GET", "/v1/products/search")
def search_products(ctx):
    return search_objects(ctx, "product", "/v1/products/search")


@route("GET", "/v1/products")
def list_products(ctx):
    ids = set(get_list(ctx.params, "ids"))
    return list_objects(
        ctx, "product", "/v1/products", ("active", "active"), lambda p: not ids or p["id"] in ids
    )


@route("GET", "/v1/products/{id}")
def get_product(ctx, id):
    return retrieve(ctx, "product", id)


@route("GET", "/v1/products/{id}/features")
def list_product_features(ctx, id):
    # Entitlement features are not emulated: every product has none (dj-stripe lists them on sync).
    ctx.state.get("product", id)
    return list_objects(ctx, "product_feature", f"/v1/products/{id}/features")


@route("POST", "/v1/products/{id}")
def update_product(ctx, id):
    def apply(product):
        if "active" in ctx.params:
            product["active"] = get_bool(ctx.params, "active")
        if "default_price" in ctx.params:
            price = ctx.params["default_price"] or None
            if price:
                ctx.state.get("price", price, param="default_price")
            product["default_price"] = price
        product["updated"] = ctx.state.now()

    return update(ctx, "product", id, PRODUCT_FIELDS, apply)


@route("DELETE", "/v1/products/{id}")
def delete_product(ctx, id):
    ctx.state.get("product", id)
    if any(p["product"] == id for p in ctx.state.all("price")):
        raise invalid(
            "This product cannot be deleted because it has one or more user-created prices."
        )
    return delete(ctx, "product", id)


def _take_lookup_key(ctx, key, transfer, price_id):
    for other in ctx.state.all("price"):
        if other["lookup_key"] == key and other["id"] != price_id:
            if not transfer:
                raise invalid(
                    f"A price (`{other['id']}`) already uses that lookup key.", param="lookup_key"
                )
            mutate(ctx.state, other, lambda o: o.update(lookup_key=None), "price.updated")


def _recurring(ctx, recurring):
    if not isinstance(recurring, dict):
        return None
    interval = get_str(recurring, "interval", required=True)
    if interval not in ("day", "week", "month", "year"):
        raise invalid(
            "Invalid recurring[interval]: must be one of day, week, month, or year",
            param="recurring[interval]",
        )
    usage = get_str(recurring, "usage_type") or "licensed"
    meter = get_str(recurring, "meter")
    if usage == "metered" and not meter:
        raise invalid(
            "Metered prices must be backed by a meter: pass recurring[meter].",
            param="recurring[meter]",
        )
    if meter:
        ctx.state.get("billing.meter", meter, param="recurring[meter]")
    return {
        "interval": interval,
        "interval_count": get_int(recurring, "interval_count", default=1),
        "meter": meter,
        "usage_type": usage,
        "trial_period_days": get_int(recurring, "trial_period_days"),
    }


def _amount_pair(spec, name, param):
    """``(integer, decimal string)`` of an amount given as ``<name>`` or ``<name>_decimal`` (at most
    12 decimal places, minor units); the integer is None when the decimal has a fraction."""
    whole = get_int(spec, name, param_name=param)
    text = spec.get(f"{name}_decimal")
    if whole is not None and text not in (None, ""):
        raise invalid(
            f"You may only specify one of these parameters: {name}, {name}_decimal.", param=param
        )
    if whole is not None:
        if whole < 0:
            raise invalid(f"Invalid {name}: must be greater than or equal to 0", param=param)
        return whole, str(whole)
    if text in (None, ""):
        return None, None
    try:
        value = Decimal(str(text))
    except ArithmeticError:
        raise invalid(f"Invalid decimal: {text}", param=f"{param}_decimal") from None
    if not value.is_finite() or value < 0 or -value.as_tuple().exponent > 12:
        raise invalid(f"Invalid decimal: {text}", param=f"{param}_decimal")
    text = format(value.normalize(), "f") if value != value.to_integral_value() else str(int(value))
    return (int(value) if value == value.to_integral_value() else None), text


def _tiers(params):
    """Validated ``tiers``: ascending ``up_to``, the last one ``inf`` (stored as None, like Stripe)."""
    specs = get_list(params, "tiers")
    if not specs:
        raise missing_param("tiers")
    tiers, previous = [], 0
    for i, spec in enumerate(specs):
        if not isinstance(spec, dict):
            raise invalid("Invalid tiers: must be a list of hashes", param="tiers")
        up_to = spec.get("up_to")
        if up_to == "inf":
            up_to = None
        else:
            up_to = get_int(spec, "up_to", required=True, param_name=f"tiers[{i}][up_to]")
            if up_to <= previous:
                raise invalid(
                    "Tiers must be ordered by ascending `up_to`, each above the previous one.",
                    param=f"tiers[{i}][up_to]",
                )
            previous = up_to
        if (up_to is None) != (i == len(specs) - 1):
            raise invalid(
                "The last tier, and only the last, must have `up_to=inf`.",
                param=f"tiers[{i}][up_to]",
            )
        unit, unit_decimal = _amount_pair(spec, "unit_amount", f"tiers[{i}][unit_amount]")
        flat, flat_decimal = _amount_pair(spec, "flat_amount", f"tiers[{i}][flat_amount]")
        if unit_decimal is None and flat_decimal is None:
            raise invalid("Each tier needs a unit_amount or a flat_amount.", param=f"tiers[{i}]")
        tiers.append(
            {
                "flat_amount": flat,
                "flat_amount_decimal": flat_decimal,
                "unit_amount": unit,
                "unit_amount_decimal": unit_decimal,
                "up_to": up_to,
            }
        )
    return tiers


def _transform_quantity(params):
    spec = params.get("transform_quantity")
    if not isinstance(spec, dict):
        return None
    divide_by = get_int(
        spec, "divide_by", required=True, param_name="transform_quantity[divide_by]"
    )
    if divide_by < 1:
        raise invalid(
            "Invalid transform_quantity[divide_by]: must be at least 1",
            param="transform_quantity[divide_by]",
        )
    rounding = get_str(spec, "round", required=True)
    if rounding not in ("up", "down"):
        raise invalid(
            "Invalid transform_quantity[round]: must be one of up or down",
            param="transform_quantity[round]",
        )
    return {"divide_by": divide_by, "round": rounding}


def _new_price(ctx, params):
    currency = get_str(params, "currency", required=True).lower()
    product_id = get_str(params, "product")
    if product_id:
        ctx.state.get("product", product_id, param="product")
    elif isinstance(params.get("product_data"), dict):
        product = _new_product(ctx, params["product_data"])
        create(ctx, product)
        product_id = product["id"]
    else:
        raise missing_param("product")
    scheme = get_str(params, "billing_scheme") or "per_unit"
    if scheme not in ("per_unit", "tiered"):
        raise invalid(
            "Invalid billing_scheme: must be one of per_unit or tiered", param="billing_scheme"
        )
    tiers, tiers_mode, amount, amount_decimal = None, None, None, None
    if scheme == "tiered":
        for key in ("unit_amount", "unit_amount_decimal", "transform_quantity"):
            if params.get(key) not in (None, ""):
                raise invalid(
                    f"You may not specify `{key}` for a price with `billing_scheme=tiered`.",
                    param=key,
                )
        tiers_mode = get_str(params, "tiers_mode", required=True)
        if tiers_mode not in ("graduated", "volume"):
            raise invalid(
                "Invalid tiers_mode: must be one of graduated or volume", param="tiers_mode"
            )
        tiers = _tiers(params)
    else:
        if params.get("tiers") or params.get("tiers_mode"):
            raise invalid(
                "`tiers` and `tiers_mode` need `billing_scheme=tiered`.", param="billing_scheme"
            )
        amount, amount_decimal = _amount_pair(params, "unit_amount", "unit_amount")
        if amount_decimal is None:
            raise missing_param("unit_amount")
    recurring = _recurring(ctx, params.get("recurring"))
    price = {
        "id": new_id("price"),
        "object": "price",
        "active": get_bool(params, "active", True),
        "billing_scheme": scheme,
        "created": ctx.state.now(),
        "currency": currency,
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": None,
        "metadata": {},
        "nickname": get_str(params, "nickname"),
        "product": product_id,
        "recurring": recurring,
        "tax_behavior": get_str(params, "tax_behavior") or "unspecified",
        "tiers_mode": tiers_mode,
        "transform_quantity": _transform_quantity(params),
        "type": "recurring" if recurring else "one_time",
        "unit_amount": amount,
        "unit_amount_decimal": amount_decimal,
        "_tiers": tiers,
    }
    apply_metadata(price, params)
    key = get_str(params, "lookup_key")
    if key:
        _take_lookup_key(ctx, key, get_bool(params, "transfer_lookup_key", False), price["id"])
        price["lookup_key"] = key
    return price


@route("POST", "/v1/prices")
def create_price(ctx):
    return create(ctx, _new_price(ctx, ctx.params))


@route("GET", "/v1/prices/search")
def search_prices(ctx):
    return search_objects(ctx, "price", "/v1/prices/search")


@route("GET", "/v1/prices")
def list_prices(ctx):
    keys = set(get_list(ctx.params, "lookup_keys"))
    rec = ctx.params.get("recurring") if isinstance(ctx.params.get("recurring"), dict) else {}

    def recurring_ok(price):
        return all(
            not rec.get(k) or (price["recurring"] or {}).get(k) == rec[k]
            for k in ("interval", "usage_type")
        )

    return list_objects(
        ctx,
        "price",
        "/v1/prices",
        ("active", "active"),
        ("product", "product"),
        ("type", "type"),
        ("currency", "currency"),
        lambda p: not keys or p["lookup_key"] in keys,
        recurring_ok,
    )


@route("GET", "/v1/prices/{id}")
def get_price(ctx, id):
    return retrieve(ctx, "price", id)


# Stripe prices are immutable apart from these; anything else is rejected as an unknown parameter.
PRICE_MUTABLE = {
    "active",
    "metadata",
    "lookup_key",
    "transfer_lookup_key",
    "nickname",
    "tax_behavior",
    "expand",
}


@route("POST", "/v1/prices/{id}")
def update_price(ctx, id):
    ctx.state.get("price", id)
    for key in ctx.params:
        if key not in PRICE_MUTABLE:
            raise invalid(f"Received unknown parameter: {key}", param=key)

    def apply(price):
        if "active" in ctx.params:
            price["active"] = get_bool(ctx.params, "active")
        if "lookup_key" in ctx.params:
            key = ctx.params["lookup_key"] or None
            if key:
                _take_lookup_key(
                    ctx, key, get_bool(ctx.params, "transfer_lookup_key", False), price["id"]
                )
            price["lookup_key"] = key

    return update(ctx, "price", id, ("nickname", "tax_behavior"), apply)


def plan_from_price(price):
    """The legacy ``plan`` hash Stripe still embeds in subscription items."""
    rec = price["recurring"] or {}
    return {
        "id": price["id"],
        "object": "plan",
        "active": price["active"],
        "amount": price["unit_amount"],
        "amount_decimal": price["unit_amount_decimal"],
        "billing_scheme": price["billing_scheme"],
        "created": price["created"],
        "currency": price["currency"],
        "interval": rec.get("interval"),
        "interval_count": rec.get("interval_count"),
        "livemode": False,
        "metadata": price["metadata"],
        "meter": rec.get("meter"),
        "nickname": price["nickname"],
        "product": price["product"],
        "tiers_mode": price["tiers_mode"],
        "transform_usage": price["transform_quantity"],
        "trial_period_days": rec.get("trial_period_days"),
        "usage_type": rec.get("usage_type", "licensed"),
    }


def _price_tiers(state, price):
    # Stripe sends `tiers` only when asked (`expand[]=tiers`, `expand[]=data.tiers` on lists).
    return copy.deepcopy(price.get("_tiers"))


INCLUDES_BY_TYPE = {("price", "tiers"): _price_tiers}
