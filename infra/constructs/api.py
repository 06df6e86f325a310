"""The HTTP API: one route per ``resources`` Route, integrated with the function serving it."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

import jsii
from aws_cdk import CfnOutput, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk.aws_apigatewayv2_integrations import HttpLambdaIntegration
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from crosspost import resources
from crosspost.resources import Route
from infra.config import CrosspostConfig

# One JSON object per request ($context variables of HTTP APIs), easy to query in Logs Insights.
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "userAgent": "$context.identity.userAgent",
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "routeKey": "$context.routeKey",
        "path": "$context.path",
        "status": "$context.status",
        "protocol": "$context.protocol",
        "responseLength": "$context.responseLength",
        "responseLatency": "$context.responseLatency",
        "integrationLatency": "$context.integrationLatency",
        "integrationStatus": "$context.integrationStatus",
        "integrationErrorMessage": "$context.integrationErrorMessage",
    },
    separators=(",", ":"),
)

_AUTHENTICATED_ROUTE = (
    "The API authenticates every request itself: the resolver looks the caller's API key up by "
    "its SHA-256 hash in the ApiKeys table and scopes all reads to that key's workspace "
    "(API.md); API keys are the product's credential, so there is no IAM, Cognito or JWT "
    "authorizer to attach."
)
_PUBLIC_ROUTE = (
    "Public by design (resources.py Route auth=False): the OAuth callback is opened by the "
    "platform's redirect in the user's browser and is bound to a single-use state; the OpenAPI "
    "spec and docs page carry no data."
)


@jsii.implements(apigwv2.IAccessLogSettings)
class _AccessLogSettings:
    """HttpStage takes access logging as this interface; Python implements it explicitly."""

    def __init__(self, log_group: logs.ILogGroup, log_format: str) -> None:
        self._destination = apigwv2.LogGroupLogDestination(log_group)
        self._format = apigw.AccessLogFormat.custom(log_format)

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigw.AccessLogFormat:
        return self._format


def _route_id(route: Route) -> str:
    """A stable construct id from the route key: "POST /v1/posts/{id}" → "PostV1PostsId"."""
    words = re.findall(r"[A-Za-z0-9]+", f"{route.method} {route.path}")
    return "".join(word[:1].upper() + word[1:].lower() for word in words)


class HttpApiConstruct(Construct):
    """The API and its $default stage. Routes come later (``add_routes``): the functions need the
    API's URL in their environment first, and routes need the functions."""

    def __init__(self, scope: Construct, construct_id: str, *, config: CrosspostConfig) -> None:
        super().__init__(scope, construct_id)
        self.api = apigwv2.HttpApi(
            self,
            "HttpApi",
            description="crosspost: unified social-media posting API",
            # The stage is declared below, with access logs and throttling.
            create_default_stage=False,
        )
        self.access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=config.log_retention,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.stage = apigwv2.HttpStage(
            self,
            "DefaultStage",
            http_api=self.api,
            stage_name="$default",
            auto_deploy=True,
            access_log_settings=_AccessLogSettings(self.access_logs, ACCESS_LOG_FORMAT),
            # A ceiling for the whole API; per-key limits are the application's business.
            throttle=apigwv2.ThrottleSettings(
                rate_limit=config.throttle_rate_limit, burst_limit=config.throttle_burst_limit
            ),
        )
        # The $default stage is served at the root, so the base URL is the API endpoint (no
        # trailing slash). It refers to the API alone, not its routes, so functions can carry it
        # in their environment without a dependency cycle.
        self.url: str = self.api.api_endpoint
        output = CfnOutput(self, "ApiUrl", value=self.url, description="Base URL of the crosspost API")
        output.override_logical_id("ApiUrl")

    def add_routes(self, functions: Mapping[str, lambda_.IFunction]) -> None:
        """One route per ``resources`` Route, integrated (payload 2.0) with the function serving it."""
        for fn in resources.FUNCTIONS:
            if not fn.routes:
                continue
            # One integration per function, shared by its routes.
            integration = HttpLambdaIntegration(f"{fn.name}-integration", functions[fn.name])
            for route in fn.routes:
                http_route = apigwv2.HttpRoute(
                    self,
                    f"Route{_route_id(route)}",
                    http_api=self.api,
                    route_key=apigwv2.HttpRouteKey.with_(route.path, apigwv2.HttpMethod[route.method]),
                    integration=integration,
                )
                reason = _AUTHENTICATED_ROUTE if route.auth else _PUBLIC_ROUTE
                NagSuppressions.add_resource_suppressions(
                    http_route,
                    [NagPackSuppression(id="AwsSolutions-APIG4", reason=reason)],
                )
