from django import template
from django.utils.html import format_html

register = template.Library()

# Bootstrap colour per state name, shared by all record types.
STATE_COLOURS = {
    "new": "secondary", "working": "info", "qualified": "success", "disqualified": "dark",
    "open": "primary", "won": "success", "lost": "dark",
    "draft": "secondary", "sent": "info", "accepted": "success", "rejected": "danger", "expired": "warning",
    "superseded": "light", "cancelled": "dark",
    "confirmed": "primary", "in_fulfilment": "info", "fulfilled": "success",
    "issued": "primary", "partially_paid": "warning", "overdue": "danger", "paid": "success",
}


@register.simple_tag
def state_badge(record) -> str:
    colour = STATE_COLOURS.get(record.state, "secondary")
    text = "text-dark" if colour in {"light", "warning", "info"} else ""
    return format_html(
        '<span class="badge state-badge text-bg-{} {}" data-state="{}">{}</span>',
        colour, text, record.state, record.get_state_display(),
    )


@register.filter
def can(record, transition_name: str) -> bool:
    """{% if quote|can:"send" %}: the FSM allows this transition from the current state."""
    return record.can(transition_name)


@register.simple_tag(takes_context=True)
def query_string(context, **changes) -> str:
    """The current query string with some parameters replaced (pagination, sorting keep filters)."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.simple_tag
def form_token() -> str:
    """A hidden one-time token for a create form (crm/idempotency.py): sent twice, the form acts once."""
    from crm.idempotency import FIELD, new_token  # noqa: PLC0415  (keeps models out of template-tag loading)

    return format_html('<input type="hidden" name="{}" value="{}">', FIELD, new_token())
