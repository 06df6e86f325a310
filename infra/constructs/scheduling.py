"""The EventBridge Scheduler schedule group and the role its schedules run as."""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from crosspost import resources

SCHEDULER_SERVICE = "scheduler.amazonaws.com"
MANAGE_SCHEDULE_ACTIONS = (
    "scheduler:CreateSchedule",
    "scheduler:UpdateSchedule",
    "scheduler:DeleteSchedule",
    "scheduler:GetSchedule",
)


class SchedulingConstruct(Construct):
    """One-time schedules (one per scheduled post) live in ``group_name`` and send to the queue."""

    def __init__(self, scope: Construct, construct_id: str, *, prefix: str, publish_queue: sqs.IQueue) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.group_name = resources.schedule_group_name(prefix)
        self.group = scheduler.CfnScheduleGroup(self, "ScheduleGroup", name=self.group_name)
        group_arn = stack.format_arn(
            service="scheduler",
            resource="schedule-group",
            resource_name=self.group_name,
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )
        # Every schedule of the group: the functions name schedules after posts at run time.
        self.schedules_arn = stack.format_arn(
            service="scheduler",
            resource="schedule",
            resource_name=f"{self.group_name}/*",
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )
        self.role = iam.Role(
            self,
            "SchedulerRole",
            description="Assumed by EventBridge Scheduler to deliver due posts to the publish queue",
            # Confused-deputy guard: only schedules of this account's group may use the role.
            assumed_by=iam.ServicePrincipal(
                SCHEDULER_SERVICE,
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnEquals": {"aws:SourceArn": group_arn},
                },
            ),
            inline_policies={
                "SendToPublishQueue": iam.PolicyDocument(
                    statements=[iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[publish_queue.queue_arn])]
                )
            },
        )

    def grant_manage_schedules(self, grantee: iam.IGrantable) -> None:
        """Create, update, read and delete schedules of the group, and hand them the role."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=list(MANAGE_SCHEDULE_ACTIONS), resources=[self.schedules_arn])
        )
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[self.role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": SCHEDULER_SERVICE}},
            )
        )
