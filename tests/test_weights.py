"""genstudio.weights: explicit path > setting > torch hub cache, never a download, sha256 prefix checked."""

from __future__ import annotations

import hashlib
import socket
import urllib.request

import pytest
import torch

from genstudio.backends import WeightsRef
from genstudio.errors import UserError
from genstudio.settings import Settings
from genstudio.weights import find_weights, hub_checkpoint_path


@pytest.fixture
def hub(monkeypatch, tmp_path):
    """An empty torch hub cache under tmp_path; every download path fails loudly."""

    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    for owner, attr in [(torch.hub, "download_url_to_file"), (torch.hub, "load_state_dict_from_url"),
                        (urllib.request, "urlopen"), (socket.socket, "connect")]:
        monkeypatch.setattr(owner, attr, refuse)
    return tmp_path / "hub" / "checkpoints"


def _file_and_ref(folder, content: bytes, name: str = "net") -> tuple:
    prefix = hashlib.sha256(content).hexdigest()[:8]
    path = folder / f"{name}-{prefix}.pth"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path, WeightsRef(name, path.name, prefix, f"weights.{name}")


def test_hub_checkpoint_path_is_torchvisions_location(hub):
    assert hub_checkpoint_path("vgg19-dcbb9e9d.pth") == hub / "vgg19-dcbb9e9d.pth"


def test_missing_weights_are_one_line_naming_file_location_and_setting(hub):
    ref = WeightsRef("vgg19", "vgg19-dcbb9e9d.pth", "dcbb9e9d", "weights.vgg19")
    with pytest.raises(UserError) as info:
        find_weights(ref)
    message = str(info.value)
    assert "\n" not in message
    assert "vgg19-dcbb9e9d.pth" in message and str(hub) in message and "weights.vgg19" in message


def test_found_in_the_hub_cache_and_hash_checked(hub):
    path, ref = _file_and_ref(hub, b"pretend weights")
    located = find_weights(ref)
    assert located.path == path and located.source == "torch hub cache"
    assert located.sha256 == hashlib.sha256(b"pretend weights").hexdigest()
    assert located.to_dict()["sha256"] == located.sha256


def test_setting_wins_over_the_cache_and_explicit_over_the_setting(hub, tmp_path):
    _file_and_ref(hub, b"cached")
    in_setting, ref = _file_and_ref(tmp_path / "elsewhere", b"cached")  # same bytes, so the same prefix
    Settings.load().set(ref.setting, str(in_setting))
    assert find_weights(ref).path == in_setting and find_weights(ref).source == f"setting {ref.setting}"
    explicit, _ = _file_and_ref(tmp_path / "explicit", b"cached")
    assert find_weights(ref, explicit).path == explicit and find_weights(ref, explicit).source == "explicit path"


def test_setting_pointing_at_a_missing_file_names_it(hub, tmp_path):
    ref = WeightsRef("vgg19", "vgg19-dcbb9e9d.pth", "dcbb9e9d", "weights.vgg19")
    Settings.load().set("weights.vgg19", str(tmp_path / "nowhere.pth"))
    with pytest.raises(UserError, match=r"nowhere\.pth.*weights\.vgg19.*vgg19-dcbb9e9d\.pth"):
        find_weights(ref)


def test_hash_check_rejects_a_wrong_file(hub, tmp_path):
    _, ref = _file_and_ref(tmp_path / "real", b"the real weights")
    impostor = hub / ref.filename  # the right name, other bytes
    impostor.parent.mkdir(parents=True, exist_ok=True)
    impostor.write_bytes(b"something else")
    with pytest.raises(UserError, match="fail the hash check") as info:
        find_weights(ref)
    assert "\n" not in str(info.value) and ref.sha256_prefix in str(info.value)
    assert find_weights(ref, verify=False).path == impostor  # opting out (files without a hash in the name)
