"""The EventBridge Scheduler schedule group and the role its schedules run as."""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from crosspost import resources

SCHEDULER_SERVICE = "scheduler.amazonaws.com"
# Recurring schedules (the reconcile sweep) live in the account's default group, apart from the
# per-post group the API functions may manage.
RATE_SCHEDULE_GROUP = "default"
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
        self._prefix = prefix
        self.rate_schedules: dict[str, scheduler.CfnSchedule] = {}
        self.rate_schedule_roles: dict[str, iam.Role] = {}
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

    def add_rate_schedule(self, fn: resources.FunctionDef, function: lambda_.IFunction) -> scheduler.CfnSchedule:
        """Invoke ``function`` every ``fn.schedule_rate_minutes`` (EventBridge Scheduler ``rate()``),
        through a role that may invoke only that function and only for this account's schedules."""
        minutes = fn.schedule_rate_minutes
        assert minutes, fn.name
        stack = Stack.of(self)
        name = "".join(part.capitalize() for part in fn.name.split("_"))
        role = iam.Role(
            self,
            f"{name}ScheduleRole",
            description=f"Assumed by EventBridge Scheduler to invoke the {fn.name} function on its rate",
            assumed_by=iam.ServicePrincipal(
                SCHEDULER_SERVICE,
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnEquals": {
                        "aws:SourceArn": stack.format_arn(
                            service="scheduler",
                            resource="schedule-group",
                            resource_name=RATE_SCHEDULE_GROUP,
                            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
                        )
                    },
                },
            ),
            inline_policies={
                "InvokeFunction": iam.PolicyDocument(
                    statements=[
                        iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[function.function_arn])
                    ]
                )
            },
        )
        schedule = scheduler.CfnSchedule(
            self,
            f"{name}Schedule",
            name=f"{self._prefix}-{fn.name}",
            group_name=RATE_SCHEDULE_GROUP,
            description=f"crosspost {fn.name}: every {minutes} minute(s)",
            schedule_expression=f"rate({minutes} {'minute' if minutes == 1 else 'minutes'})",
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            state="ENABLED",
            target=scheduler.CfnSchedule.TargetProperty(
                arn=function.function_arn,
                role_arn=role.role_arn,
                # A missed run is made up by the next one: no retries piling up behind it.
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                    maximum_retry_attempts=0, maximum_event_age_in_seconds=60
                ),
            ),
        )
        self.rate_schedules[fn.name] = schedule
        self.rate_schedule_roles[fn.name] = role
        return schedule

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
