"""`genstudio jobs ...`: the queue commands in-process, and the worker through the real entry point."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from genstudio.cli import app
from genstudio.cli.jobs import parse_params
from genstudio.errors import UserError
from genstudio.jobs import JobQueue


@pytest.fixture
def cli():
    runner = CliRunner()

    def invoke(*args: str):
        result = runner.invoke(app, ["jobs", *args], env={"COLUMNS": "200"})
        if isinstance(result.exception, UserError):
            raise result.exception
        assert result.exit_code == 0, result.output
        return result.output

    return invoke


def test_parse_params_json_text_nesting_and_repeats():
    assert parse_params(["steps=2", "name=dcgan", "flag=true", "config.ngf=8", "set=a=1", "set=b=2"],
                        '{"seed": 3}') == {"seed": 3, "steps": 2, "name": "dcgan", "flag": True,
                                           "config": {"ngf": 8}, "set": ["a=1", "b=2"]}
    with pytest.raises(UserError, match="key=value"):
        parse_params(["novalue"], None)
    with pytest.raises(UserError, match="JSON object"):
        parse_params([], "[1]")


def test_add_list_show_move_cancel_retry_pause(cli):
    added = json.loads(cli("add", "test-count", "--param", "steps=5", "--json"))
    cli("add", "plugin-install", "-p", "requirement=genstudio-extra", "--priority", "2")
    listing = cli("list")
    assert "test-count" in listing and "genstudio-extra" in listing and "queued" in listing
    assert [job.id for job in JobQueue().pending()] == [2, added["id"]]
    cli("move", str(added["id"]), "--to", "1")
    assert JobQueue().pending()[0].id == added["id"]
    assert "cancelled" in cli("cancel", "2")
    assert json.loads(cli("retry", "2", "--json"))["status"] == "queued"
    cli("pause")
    data = json.loads(cli("list", "--json", "--status", "queued"))
    assert data["paused"] and {job["id"] for job in data["jobs"]} == {1, 2}
    assert "paused" in cli("list")
    cli("resume")
    shown = cli("show", "1")
    assert '"steps": 5' in shown and "queued" in shown
    with pytest.raises(UserError, match="no job with id 99"):
        cli("cancel", "99")
    kinds = {kind["kind"]: kind for kind in json.loads(cli("kinds", "--json"))["kinds"]}
    assert kinds["train"]["runner"] and kinds["train"]["resumable"] and kinds["eval"]["runner"]
    assert kinds["stylize-folder"]["resumable"] and kinds["export"]["runner"]


def test_worker_command_runs_the_queue_and_reports_failures(run_cli):
    assert run_cli("jobs", "add", "eval", "--param", "model=m", "--param", "data=d").returncode == 0
    bad = run_cli("jobs", "add", "nope")
    assert bad.returncode == 2 and "unknown job kind 'nope'" in bad.stderr
    result = run_cli("jobs", "worker", "--once", "--json")
    assert result.returncode == 1, result.stderr  # a job failed
    report = json.loads(result.stdout)
    assert [(job["kind"], job["status"]) for job in report["jobs"]] == [("eval", "failed")]
    assert "model.json" in report["jobs"][0]["error"]  # the model folder does not exist: a one-line error
