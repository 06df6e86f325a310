"""CloudWatch alarms on the signals that mean posts are not going out (DESIGN.md "Observability")."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct


class MonitoringConstruct(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        dead_letter_queue: sqs.IQueue,
        publisher: lambda_.IFunction,
        alarm_topic_arn: str | None,
        background: Mapping[str, lambda_.IFunction] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        # Any record in the DLQ is a post that ended failed after exhausting its receives.
        self.dead_letter_alarm = cloudwatch.Alarm(
            self,
            "DeadLetterAlarm",
            alarm_description="A publish message exhausted its receives and landed in the DLQ",
            metric=dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(1), statistic=cloudwatch.Stats.MAXIMUM
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        # The publisher handles platform failures per record; an invocation error is a bug or an
        # outage of DynamoDB/Secrets Manager, and its whole batch comes back.
        self.publisher_errors_alarm = cloudwatch.Alarm(
            self,
            "PublisherErrorsAlarm",
            alarm_description="The publisher function failed invocations",
            metric=publisher.metric_errors(period=Duration.minutes(5), statistic=cloudwatch.Stats.SUM),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        # With a DLQ consumer a dead letter is visible only for moments: count what it receives.
        self.dead_letter_received_alarm = cloudwatch.Alarm(
            self,
            "DeadLetterReceivedAlarm",
            alarm_description="The DLQ consumer received dead letters: posts that exhausted their receives",
            metric=dead_letter_queue.metric_number_of_messages_received(
                period=Duration.minutes(5), statistic=cloudwatch.Stats.SUM
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        # The sweeper and the DLQ consumer keep posts from being lost: their failures matter too.
        self.function_errors_alarms: dict[str, cloudwatch.Alarm] = {}
        for name, function in (background or {}).items():
            construct = "".join(part.capitalize() for part in name.split("_"))
            self.function_errors_alarms[name] = cloudwatch.Alarm(
                self,
                f"{construct}ErrorsAlarm",
                alarm_description=f"The {name} function failed invocations",
                metric=function.metric_errors(period=Duration.minutes(5), statistic=cloudwatch.Stats.SUM),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        if alarm_topic_arn:
            # An operator-owned topic (context crosspost:alarmTopicArn): its subscriptions and
            # encryption are managed where it lives.
            action = cw_actions.SnsAction(sns.Topic.from_topic_arn(self, "AlarmTopic", alarm_topic_arn))
            alarms = [
                self.dead_letter_alarm,
                self.dead_letter_received_alarm,
                self.publisher_errors_alarm,
                *self.function_errors_alarms.values(),
            ]
            for alarm in alarms:
                alarm.add_alarm_action(action)
                alarm.add_ok_action(action)
