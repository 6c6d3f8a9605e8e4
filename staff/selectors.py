from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from pghistory.core import event_models

from .roles import is_store_scoped


def staff_store_ids(user) -> list[int]:
    """The stores a staff user works for, read once per request (cached on the user object)."""
    if not hasattr(user, "_staff_store_ids"):
        user._staff_store_ids = list(user.staff_stores.values_list("store_id", flat=True))
    return user._staff_store_ids


def scope_to_user_stores(queryset: QuerySet, *, user, paths: tuple[str, ...]) -> QuerySet:
    """Rows of the user's stores only, for a store-scoped user; every row for anyone else.

    `paths` lead from the row to a store (`"store"`, `"member__enrolled_store"`); a row belongs
    to the user's stores through any of them."""
    if not is_store_scoped(user):
        return queryset
    stores = staff_store_ids(user)
    within = Q()
    for path in paths:
        within |= Q(**{f"{path}__in": stores})
    return queryset.filter(within)


def object_audit_trail(obj) -> list[dict]:
    """The audit events of one object, newest first, each with who and the old and new values."""
    events = []
    for event_model in event_models(tracks_model=type(obj)):
        events += event_model.objects.filter(pgh_obj_id=obj.pk).select_related("pgh_context")
    events.sort(key=lambda event: (event.pgh_created_at, event.pgh_id))
    fields = [f for f in type(obj)._meta.concrete_fields]
    users = _users_by_id(event.pgh_context.metadata.get("user") for event in events if event.pgh_context)
    rows, before = [], None
    for event in events:
        after = {f.name: getattr(event, f.attname) for f in fields if hasattr(event, f.attname)}
        changes = [
            {"field": f.verbose_name, "old": (before or {}).get(f.name), "new": after[f.name]}
            for f in fields
            if f.name in after and (before is None or before.get(f.name) != after[f.name])
        ]
        if event.pgh_label.startswith("member."):
            changes = []  # an export or a closure: what happened, not a change of values
        if event.pgh_label != "delete" and not event.pgh_label.startswith("member."):
            before = after
        context = event.pgh_context.metadata if event.pgh_context else {}
        rows.append(
            {
                "at": event.pgh_created_at,
                "label": event.pgh_label,
                "who": users.get(context.get("user")),
                "url": context.get("url", ""),
                "note": context.get("note", ""),
                "changes": changes,
            }
        )
    rows.reverse()
    return rows


def _users_by_id(ids) -> dict:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {user.pk: user for user in get_user_model().objects.filter(pk__in=wanted)}
