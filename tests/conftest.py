"""Shared test settings (dummy AWS credentials so nothing can reach a real account) and end-of-run reports."""

import io
import logging
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "Crosspost",
        "POWERTOOLS_SERVICE_NAME": "crosspost",
        # jsii prints an end-of-life banner for the machine's Node 20 on every synth
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
)
os.environ.pop("AWS_PROFILE", None)


# ---- reports: figures a test wants printed at the end of the run (fuzz case count, IAM) ----------
# Under xdist a worker's output is not shown, so workers hand their lines to the controller, which
# prints every report in the terminal summary of `make test`.
_REPORTS_KEY = "crosspost_reports"
_reports = pytest.StashKey[list[tuple[str, str]]]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_reports] = []


@pytest.fixture(scope="session")
def report(pytestconfig: pytest.Config) -> Callable[[str, str], None]:
    """``report(title, text)``: print ``text`` under ``title`` at the end of the test run."""

    def add(title: str, text: str) -> None:
        pytestconfig.stash[_reports].append((title, text))

    return add


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: send the reports to the controller
        workeroutput[_REPORTS_KEY] = session.config.stash[_reports]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    reports = getattr(node, "workeroutput", {}).get(_REPORTS_KEY, [])
    node.config.stash[_reports].extend(tuple(r) for r in reports)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    for title, text in config.stash[_reports]:
        terminalreporter.write_sep("-", title)
        terminalreporter.write_line(text)


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    """Every line the crosspost logger writes during the test."""
    from crosspost.observability import logger

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    logger._logger.addHandler(handler)
    yield stream
    logger._logger.removeHandler(handler)
