"""CrosspostStack: composes the constructs; every resource definition lives in them."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from constructs import Construct

from crosspost import resources
from infra.config import CrosspostConfig
from infra.constructs import (
    FunctionDependencies,
    FunctionsConstruct,
    HttpApiConstruct,
    LayersConstruct,
    MonitoringConstruct,
    PublishingConstruct,
    SchedulingConstruct,
    StorageConstruct,
)


class CrosspostStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: CrosspostConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        # Physical names (tables, queues, schedule group, secrets) start with the stack's name in
        # lower case, so two stacks in one account never share a resource.
        self.prefix = self.stack_name.lower()
        self.storage = StorageConstruct(self, "Storage", prefix=self.prefix)
        self.publishing = PublishingConstruct(self, "Publishing", prefix=self.prefix)
        self.scheduling = SchedulingConstruct(
            self, "Scheduling", prefix=self.prefix, publish_queue=self.publishing.queue
        )
        self.layers = LayersConstruct(self, "Layers")
        # The API comes before the functions (they carry its URL) and its routes after them.
        self.api = HttpApiConstruct(self, "Api", config=config)
        self.functions = FunctionsConstruct(
            self,
            "Functions",
            deps=FunctionDependencies(
                config=config,
                storage=self.storage,
                publishing=self.publishing,
                scheduling=self.scheduling,
                layers=self.layers,
                secrets_prefix=resources.secrets_prefix(self.prefix),
                public_base_url=self.api.url,
            ),
        )
        self.api.add_routes(self.functions.functions)
        publisher = self.functions.functions[resources.PUBLISHER.name]
        self.publishing.subscribe_publisher(publisher)
        for fn in resources.FUNCTIONS:
            if fn.dead_letter_queue:
                self.publishing.subscribe_dead_letter_consumer(self.functions.functions[fn.name])
            if fn.schedule_rate_minutes:
                self.scheduling.add_rate_schedule(fn, self.functions.functions[fn.name])
        self.monitoring = MonitoringConstruct(
            self,
            "Monitoring",
            dead_letter_queue=self.publishing.dead_letter_queue,
            publisher=publisher,
            background={
                fn.name: self.functions.functions[fn.name]
                for fn in resources.FUNCTIONS
                if fn.dead_letter_queue or fn.schedule_rate_minutes
            },
            alarm_topic_arn=config.alarm_topic_arn,
        )
