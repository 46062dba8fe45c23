"""genstudio.animation: GIF, WebP and frame folders from one list of frames."""

import json

import numpy as np
import pytest
from PIL import Image

from genstudio.animation import animation_format, save_animation
from genstudio.errors import UserError
from genstudio.provenance import read_provenance


def _frames(count=4, size=(6, 5)):
    return [np.full((size[1], size[0], 3), 40 * i, dtype=np.uint8) for i in range(count)]


@pytest.mark.parametrize("name", ["walk.gif", "walk.webp"])
def test_animated_file_has_every_frame_and_loops(tmp_path, name):
    written = save_animation(_frames(), tmp_path / "out" / name, fps=10, record={"seed": 3})
    with Image.open(written[0]) as image:
        assert image.n_frames == 4
        assert image.size == (6, 5)
        image.seek(2)
        assert abs(int(np.asarray(image.convert("RGB"))[0, 0, 0]) - 80) <= 2
        assert image.info.get("loop") == 0
    assert json.loads(written[1].read_text()) == {"seed": 3}


def test_frame_folder_carries_provenance_per_frame(tmp_path):
    chw = [np.full((1, 4, 4), i / 3, dtype=np.float32) for i in range(3)]
    written = save_animation(chw, tmp_path / "steps", record={"op": "draw"})
    names = sorted(p.name for p in written)
    assert names == ["animation.json", "frame-00000.png", "frame-00001.png", "frame-00002.png"]
    assert read_provenance(tmp_path / "steps" / "frame-00002.png") == {"op": "draw", "frame": 2}
    assert json.loads((tmp_path / "steps" / "animation.json").read_text())["frames"] == 3


def test_bad_requests_are_one_line(tmp_path):
    with pytest.raises(UserError, match="one size"):
        save_animation([*_frames(2), *_frames(1, size=(7, 5))], tmp_path / "a.gif")
    with pytest.raises(UserError, match="at least one frame"):
        save_animation([], tmp_path / "a.gif")
    with pytest.raises(UserError, match=r"\.gif, a \.webp"):
        animation_format(tmp_path / "a.mp4")
    assert not list(tmp_path.iterdir())


def test_never_writes_through_a_planted_frame_folder_link(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "frames").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(UserError, match="symbolic link"):
        save_animation(_frames(), tmp_path / "out" / "frames")
    assert not list((tmp_path / "elsewhere").iterdir())


def test_saved_record_reads_back_only_a_complete_animation(tmp_path):
    from genstudio.animation import animation_files, saved_record

    written = save_animation(_frames(3), tmp_path / "steps", record={"seed": 1})
    assert written == animation_files(tmp_path / "steps", "frames", 3)
    assert saved_record(tmp_path / "steps", "frames") == {"seed": 1}
    (tmp_path / "steps" / "frame-00001.png").unlink()  # a frame lost: not up to date
    assert saved_record(tmp_path / "steps", "frames") is None
    written = save_animation(_frames(3), tmp_path / "walk.gif", record={"seed": 2})
    assert written == animation_files(tmp_path / "walk.gif", "gif", 3)
    assert saved_record(tmp_path / "walk.gif", "gif") == {"seed": 2}
    (tmp_path / "walk.gif").unlink()
    assert saved_record(tmp_path / "walk.gif", "gif") is None
