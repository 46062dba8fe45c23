"""Text from outside printed by the CLI stays text: Rich's emoji codes are off, like its markup (through `shown`)."""

from __future__ import annotations


def test_emoji_codes_in_a_file_name_stay_text(capsys):
    from genstudio.cli.output import console, console_err, shown

    console.print(f"skipped {shown('photos/a:smile:b [x].jpg')}", highlight=False)
    console_err.print(f"skipped {shown('photos/c:+1:.jpg')}", highlight=False)
    captured = capsys.readouterr()
    assert "photos/a:smile:b [x].jpg" in captured.out
    assert "photos/c:+1:.jpg" in captured.err
