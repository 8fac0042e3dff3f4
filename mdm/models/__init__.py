"""The golden-record store's models, imported explicitly by concept."""

from mdm.models.golden import (
    Customer,
    CustomerKind,
    CustomerStatus,
    EntityType,
    GoldenRecord,
    GoldenStatus,
    Product,
    ProductStatus,
)
from mdm.models.hierarchy import HierarchyEdge, HierarchyType
from mdm.models.merges import GoldenMerge
from mdm.models.outbox import OutboxEvent, OutboxEventType, OutboxStatus
from mdm.models.overrides import GoldenOverride
from mdm.models.publishing import (
    EXCEPTION_STATES,
    OPEN_STATES,
    Delivery,
    DeliveryRun,
    DeliveryState,
    FieldMapping,
    PullWatermark,
    Target,
    TargetAuth,
    TargetKind,
)
from mdm.models.rules import Fallback, OwnershipRule
from mdm.models.sources import CrossReference, SourceRecord, XrefKind
from mdm.models.systems import ApiKey, System, SystemKind

__all__ = [
    "EXCEPTION_STATES",
    "OPEN_STATES",
    "ApiKey",
    "CrossReference",
    "Customer",
    "CustomerKind",
    "CustomerStatus",
    "Delivery",
    "DeliveryRun",
    "DeliveryState",
    "EntityType",
    "Fallback",
    "FieldMapping",
    "GoldenMerge",
    "GoldenOverride",
    "GoldenRecord",
    "GoldenStatus",
    "HierarchyEdge",
    "HierarchyType",
    "OutboxEvent",
    "OutboxEventType",
    "OutboxStatus",
    "OwnershipRule",
    "Product",
    "ProductStatus",
    "PullWatermark",
    "SourceRecord",
    "System",
    "SystemKind",
    "Target",
    "TargetAuth",
    "TargetKind",
    "XrefKind",
]
