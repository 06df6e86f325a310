"""Deployment settings from CDK context: stack name precedence and validated operator settings."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App
from aws_cdk import aws_logs as logs

from crosspost.resources import Env
from infra.config import (
    CTX_ENVIRONMENT,
    CTX_LOG_RETENTION,
    CTX_STACK_NAME,
    CrosspostConfig,
    stack_name_from,
)


def _app(**context: Any) -> App:
    return App(context=context)


def test_given_no_name_anywhere_then_the_stack_is_called_crosspost() -> None:
    assert stack_name_from(_app().node, environ={}) == "Crosspost"


def test_given_an_env_var_then_it_names_the_stack() -> None:
    assert stack_name_from(_app().node, environ={"CROSSPOST_STACK_NAME": "CrosspostDev"}) == "CrosspostDev"


def test_given_context_and_env_var_then_context_wins() -> None:
    app = _app(**{CTX_STACK_NAME: "FromContext"})
    assert stack_name_from(app.node, environ={"CROSSPOST_STACK_NAME": "FromEnv"}) == "FromContext"


def test_given_an_invalid_stack_name_then_synth_stops_early() -> None:
    with pytest.raises(ValueError, match="invalid stack name"):
        stack_name_from(_app(**{CTX_STACK_NAME: "my_stack"}).node, environ={})


def test_given_no_context_then_defaults_apply() -> None:
    config = CrosspostConfig.from_context(_app().node)
    assert config == CrosspostConfig()
    assert config.log_retention is logs.RetentionDays.ONE_MONTH


def test_given_operator_settings_then_lists_become_comma_separated() -> None:
    app = _app(**{CTX_ENVIRONMENT: {Env.REDIRECT_URI_ALLOW_LIST.value: ["https://a.example/cb", "https://b.example/"]}})
    config = CrosspostConfig.from_context(app.node)
    assert config.extra_environment == {Env.REDIRECT_URI_ALLOW_LIST.value: "https://a.example/cb,https://b.example/"}


@pytest.mark.parametrize("key", [Env.POSTS_TABLE.value, Env.FAULT_INJECTION.value, "NOT_A_SETTING"])
def test_given_a_reserved_or_unknown_setting_then_it_is_refused(key: str) -> None:
    with pytest.raises(ValueError, match=CTX_ENVIRONMENT):
        CrosspostConfig.from_context(_app(**{CTX_ENVIRONMENT: {key: "x"}}).node)


def test_given_an_unknown_log_retention_then_it_is_refused() -> None:
    with pytest.raises(ValueError, match=CTX_LOG_RETENTION):
        CrosspostConfig.from_context(_app(**{CTX_LOG_RETENTION: "FOREVER_AND_A_DAY"}).node)
