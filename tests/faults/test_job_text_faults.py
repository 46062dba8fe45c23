"""Issue 20, item 8 (the jobs part): job text is printed as text.

Parameters (and, in a tampered queue, kinds, statuses and errors) holding Rich markup such as `[/]`, `[link=...]`,
`[conceal]` or raw terminal escape codes used to crash or mislead `genstudio jobs add/list/show/worker`. Every
value from the queue is escaped and its control characters shown as `\\x1b`-style text.
"""

from __future__ import annotations

import json
import sqlite3

import pytest
from typer.testing import CliRunner

from genstudio.cli import app
from genstudio.jobs import JobQueue

HOSTILE = {
    "closing": "a[/]b",
    "link": "[link=https://example.invalid]click me[/link]",
    "conceal": "[conceal]hidden text[/conceal]",
    "escape": "\x1b[2J\x1b]8;;https://example.invalid\x1b\\osc link\x1b]8;;\x1b\\ \x07bell \x9bcsi",
}


def _jobs(*args: str):
    result = CliRunner().invoke(app, ["jobs", *args], env={"COLUMNS": "250"})
    return result


def _clean(output: str) -> None:
    """No terminal control character reached the output (newlines aside)."""
    assert not [char for char in output if (ord(char) < 32 and char not in "\n\t") or 0x7f <= ord(char) <= 0x9f]


@pytest.mark.parametrize("name", list(HOSTILE))
def test_case_8_markup_in_job_params(name):
    value = HOSTILE[name]
    added = _jobs("add", "plugin-install", "--param", f"requirement={value}")
    assert added.exit_code == 0, added.output
    listing = _jobs("list")
    shown = _jobs("show", "1")
    for result in (added, listing, shown):
        assert result.exit_code == 0, result.output
        _clean(result.output)
    if name != "escape":  # the markup is printed as it was typed, not applied
        assert value in added.output and value in shown.output
        assert value in listing.output
    else:
        assert "\\x1b[2J" in shown.output and "\\x07bell" in shown.output and "\\x9bcsi" in shown.output
    assert json.loads(_jobs("show", "1", "--json").output)["params"]["requirement"] == value  # --json: exact


def test_case_8_tampered_row_text(isolated_home):
    """Kind, status, error and log tail written straight into the database: still printed as text."""
    queue = JobQueue()
    job_id = queue.add("plugin-install", {"requirement": "[/]"})
    conn = sqlite3.connect(queue.path)
    conn.execute("UPDATE jobs SET kind = ?, status = ?, error = ?, log_tail = ?, task = ?, total = 2, "
                 "stats = ? WHERE id = ?",
                 ("[bold]kind[/]", "[/]weird", "[conceal]secret[/conceal] \x1b[31mred",
                  "line [/]\n\x1b]0;title\x07done\n", "[/]task", json.dumps({"[/]": "[/]"}), job_id))
    conn.commit()
    conn.close()
    listing = _jobs("list")
    shown = _jobs("show", str(job_id))
    for result in (listing, shown):
        assert result.exit_code == 0, result.output
        _clean(result.output)
    assert "[bold]kind[/]" in listing.output and "[/]weird" in listing.output
    assert "[conceal]secret[/conceal] \\x1b[31mred" in shown.output and "line [/]" in shown.output
    assert "\\x1b]0;title\\x07done" in shown.output


def test_case_8_worker_prints_job_text_as_text(isolated_home):
    """A job the worker fails at once (an unknown kind, no child process): its line shows the kind as text."""
    queue = JobQueue()
    job_id = queue.add("plugin-install", {"requirement": "x"})
    conn = sqlite3.connect(queue.path)
    conn.execute("UPDATE jobs SET kind = ? WHERE id = ?", ("[/]\x1b[2Jk", job_id))
    conn.commit()
    conn.close()
    result = _jobs("worker", "--once", "--poll", "0.05")
    assert result.exit_code == 1, result.output  # the job failed; the worker did not crash
    _clean(result.output)
    assert f"job {job_id} ([/]\\x1b[2Jk) failed: unknown job kind" in result.output
