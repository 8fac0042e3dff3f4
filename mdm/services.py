"""Store services other than ingest: ownership rules, API keys and system actors."""

import datetime
import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction

from mdm.context import acting
from mdm.golden import golden_records_recompute, load_rules
from mdm.models import ApiKey, GoldenRecord, GoldenStatus, OwnershipRule, System

logger = logging.getLogger(__name__)

SYSTEM_ACTOR_PREFIX = "system:"
RECOMPUTE_CHUNK = 1000


def system_actor(name: str) -> User:
    """The named service account automatic work is attributed to ("system:survivorship", "system:matcher")."""
    User = get_user_model()
    user, created = User.objects.get_or_create(username=f"{SYSTEM_ACTOR_PREFIX}{name}", defaults={"is_active": False})
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


@dataclass(frozen=True)
class RecomputePlan:
    """How a rule change reaches the golden records: now (how many changed) or in a background task."""

    entity_type: str
    affected: int
    inline: bool
    changed: int = 0


def ownership_rule_save(*, rule: OwnershipRule, actor: User, reason: str = "") -> RecomputePlan:
    """Create or change an ownership rule and recompute the golden records it governs.

    Up to MDM_RECOMPUTE_INLINE_LIMIT records are recomputed in the same transaction; beyond that a
    Celery task does it in chunks after commit, so an admin save never times out.
    """
    rule.full_clean()
    with acting(actor, reason or "ownership rule changed"), transaction.atomic():
        rule.save()
        affected = GoldenRecord.objects.filter(entity_type=rule.entity_type, status=GoldenStatus.ACTIVE).count()
        if affected <= settings.MDM_RECOMPUTE_INLINE_LIMIT:
            pks = GoldenRecord.objects.filter(entity_type=rule.entity_type, status=GoldenStatus.ACTIVE).values_list(
                "pk", flat=True
            )
            changed = golden_records_recompute(entity_type=rule.entity_type, golden_pks=list(pks))
            return RecomputePlan(rule.entity_type, affected, inline=True, changed=len(changed))
        from mdm.tasks import recompute_golden_records

        transaction.on_commit(
            lambda: recompute_golden_records.delay(
                entity_type=rule.entity_type, reason=f"ownership rule {rule.pk} changed"
            )
        )
        return RecomputePlan(rule.entity_type, affected, inline=False)


def golden_records_recompute_all(*, entity_type: str, actor: User, reason: str) -> int:
    """Recompute every active golden record of a type in chunks, each its own transaction; returns how many changed."""
    rules = load_rules(entity_type)
    changed = 0
    last_pk = 0
    while True:
        pks = list(
            GoldenRecord.objects.filter(entity_type=entity_type, status=GoldenStatus.ACTIVE, pk__gt=last_pk)
            .order_by("pk")
            .values_list("pk", flat=True)[:RECOMPUTE_CHUNK]
        )
        if not pks:
            return changed
        with acting(actor, reason), transaction.atomic():
            changed += len(golden_records_recompute(entity_type=entity_type, golden_pks=pks, rules=rules))
        last_pk = pks[-1]
        logger.info("recomputed %s golden %s records up to pk %d", len(pks), entity_type, last_pk)


def api_key_create(
    *,
    name: str,
    created_by: User | None,
    can_read: bool = True,
    write_system: System | None = None,
    rate: str = "",
    expires_at: datetime.datetime | None = None,
) -> tuple[ApiKey, str]:
    """Issue an API key; returns the stored key and the full secret, which is shown once and never stored."""
    full, prefix, key_hash = ApiKey.generate()
    key = ApiKey(
        name=name,
        prefix=prefix,
        key_hash=key_hash,
        can_read=can_read,
        write_system=write_system,
        rate=rate,
        expires_at=expires_at,
        created_by=created_by,
    )
    key.full_clean()
    with acting(created_by, f"API key '{name}' issued"):
        key.save()
    return key, full
