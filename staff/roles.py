"""The back office's roles: which permissions each group holds, and what a role changes beyond
permissions (stores a user is limited to, personal data masked, a second factor required).

`roles_sync` writes the groups; the data migration calls it on install and after a change here
a new migration calls it again. Permissions are least privilege: a role gets only what its
tasks need. Letters per model: v(iew), a(dd), c(hange), d(elete).
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import transaction

ADMINISTRATOR = "Administrator"
MARKETING_MANAGER = "Marketing manager"
STORE_MANAGER = "Store manager"
SERVICE_DESK = "Service desk"
ANALYST = "Analyst"

# Custom permissions (staff.StaffPermission and staff.ApprovalRequest).
APPROVE = "staff.approve_approvalrequest"
EXPORT_DATA = "staff.export_data"


@dataclass(frozen=True)
class Role:
    name: str
    models: dict[str, str] = field(default_factory=dict)
    extra: tuple[str, ...] = ()
    every_permission: bool = False
    # Sees and acts on the rows of the stores the user is assigned to (staff.StaffStore) only.
    store_scoped: bool = False
    # Sees members' names, phones and emails masked.
    masks_personal_data: bool = False


ROLES = (
    Role(ADMINISTRATOR, every_permission=True),
    Role(
        MARKETING_MANAGER,
        models={
            "rewards.earningpolicy": "vc",
            "rewards.earningrule": "vacd",
            "rewards.reward": "vacd",
            "tiers.tier": "vac",
            "tiers.tierchange": "v",
            "members.stagepolicy": "vc",
            "members.stagechange": "v",
            "members.category": "vacd",
            "feedback.gridpolicy": "vc",
            "campaigns.campaign": "vacd",
            "campaigns.campaignmessage": "vacd",
            "campaigns.badge": "vacd",
            "campaigns.campaigngrant": "v",
            "campaigns.memberbadge": "v",
            "analytics.membervalue": "v",
            "analytics.customervaluefit": "v",
            "staff.approvalrequest": "v",
        },
        extra=(APPROVE, EXPORT_DATA),
    ),
    Role(
        STORE_MANAGER,
        models={
            "members.member": "vc",
            "members.purchase": "v",
            "members.return": "v",
            "rewards.ledgerentry": "v",
            "feedback.complaint": "vc",
            "feedback.complaintevent": "v",
            "feedback.followup": "vac",
            "feedback.lostcustomerinterview": "vac",
            "campaigns.stafftask": "vc",
            "staff.approvalrequest": "v",
        },
        extra=(APPROVE,),
        store_scoped=True,
    ),
    Role(
        SERVICE_DESK,
        models={
            "members.member": "vc",
            "members.purchase": "v",
            "rewards.ledgerentry": "v",
            "rewards.voucher": "v",
            "feedback.complaint": "vc",
            "feedback.complaintevent": "v",
            "feedback.followup": "vac",
            "staff.approvalrequest": "v",
        },
    ),
    Role(
        ANALYST,
        models={
            "members.member": "v",
            "members.purchase": "v",
            "members.return": "v",
            "members.stagechange": "v",
            "rewards.ledgerentry": "v",
            "rewards.redemption": "v",
            "rewards.reward": "v",
            "rewards.earningrule": "v",
            "tiers.tier": "v",
            "tiers.tierchange": "v",
            "campaigns.campaign": "v",
            "campaigns.campaigngrant": "v",
            "feedback.feedback": "v",
            "feedback.surveyresponse": "v",
            "feedback.complaint": "v",
            "analytics.membervalue": "v",
            "analytics.customervaluefit": "v",
        },
        extra=(EXPORT_DATA,),
        masks_personal_data=True,
    ),
)
ROLES_BY_NAME = {role.name: role for role in ROLES}
_ACTIONS = {"v": "view", "a": "add", "c": "change", "d": "delete"}


def role_permissions(role: Role, *, using: str = "default"):
    """The Permission rows a role holds."""
    if role.every_permission:
        return Permission.objects.using(using).all()
    wanted = [tuple(extra.split(".", 1)) for extra in role.extra]
    for label, letters in role.models.items():
        app_label, model = label.split(".")
        wanted += [(app_label, f"{_ACTIONS[letter]}_{model}") for letter in letters]
    found = list(
        Permission.objects.using(using)
        .select_related("content_type")
        .filter(codename__in=[codename for _, codename in wanted])
    )
    by_key = {(p.content_type.app_label, p.codename): p for p in found}
    missing = sorted(f"{app}.{codename}" for app, codename in wanted if (app, codename) not in by_key)
    if missing:
        raise LookupError(f"Role {role.name!r} names permissions that do not exist: {', '.join(missing)}")
    return [by_key[key] for key in wanted]


@transaction.atomic
def roles_sync(*, using: str = "default") -> None:
    """Create or update each role's group to hold exactly its permissions (idempotent)."""
    from django.apps import apps
    from django.contrib.auth.management import create_permissions

    # Permissions are created after migrate; a data migration runs before that on a fresh database.
    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using)
    for role in ROLES:
        group, _ = Group.objects.using(using).get_or_create(name=role.name)
        group.permissions.set(role_permissions(role, using=using))


def user_roles(user) -> list[Role]:
    """The roles of a user, read once per request (cached on the user object)."""
    if not hasattr(user, "_staff_roles"):
        names = set(user.groups.values_list("name", flat=True)) if user.is_authenticated else set()
        user._staff_roles = [ROLES_BY_NAME[name] for name in names if name in ROLES_BY_NAME]
    return user._staff_roles


def is_administrator(user) -> bool:
    return user.is_superuser or any(role.every_permission for role in user_roles(user))


def is_store_scoped(user) -> bool:
    """Limited to their stores: a store-scoped role and no role that sees every store."""
    if user.is_superuser:
        return False
    roles = user_roles(user)
    return any(role.store_scoped for role in roles) and all(role.store_scoped for role in roles)


def masks_personal_data(user) -> bool:
    """Sees personal data masked: only roles that mask it."""
    if user.is_superuser:
        return False
    roles = user_roles(user)
    return bool(roles) and all(role.masks_personal_data for role in roles)


def second_factor_required(user) -> bool:
    """An administrator when STAFF_2FA_REQUIRED_FOR_ADMINS is on; anyone who added a device."""
    from django_otp import user_has_device

    if settings.STAFF_2FA_REQUIRED_FOR_ADMINS and is_administrator(user):
        return True
    return user_has_device(user, confirmed=True)
