"""The constructs ``infra.stack`` composes; each one is driven by ``crosspost.resources``."""

from infra.constructs.api import HttpApiConstruct
from infra.constructs.functions import FunctionDependencies, FunctionsConstruct
from infra.constructs.layers import LayersConstruct
from infra.constructs.monitoring import MonitoringConstruct
from infra.constructs.publishing import PublishingConstruct
from infra.constructs.scheduling import SchedulingConstruct
from infra.constructs.storage import StorageConstruct

__all__ = [
    "FunctionDependencies",
    "FunctionsConstruct",
    "HttpApiConstruct",
    "LayersConstruct",
    "MonitoringConstruct",
    "PublishingConstruct",
    "SchedulingConstruct",
    "StorageConstruct",
]
