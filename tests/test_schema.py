import pytest

from genstudio.errors import UserError
from genstudio.schema import ConfigField, ConfigSchema


def make_schema() -> ConfigSchema:
    return ConfigSchema(
        [
            ConfigField("resolution", "int", 64, "Side in pixels.", min=16, max=512),
            ConfigField("lr", "float", 2e-4, "Learning rate.", min=0.0),
            ConfigField("spectral_norm", "bool", False, "Spectral normalisation."),
            ConfigField("loss", "choice", "hinge", "GAN loss.", choices=("hinge", "lsgan")),
            ConfigField("name", "str", "run", "A label."),
        ]
    )


def test_defaults_and_resolve():
    schema = make_schema()
    assert schema.defaults() == {"resolution": 64, "lr": 2e-4, "spectral_norm": False, "loss": "hinge", "name": "run"}
    config = schema.resolve({"resolution": 128, "lr": 1})
    assert config["resolution"] == 128
    assert config["lr"] == 1.0 and isinstance(config["lr"], float)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("resolution=32", {"resolution": 32}),
        ("lr=1e-3", {"lr": 1e-3}),
        ("spectral_norm=yes", {"spectral_norm": True}),
        ("spectral_norm=0", {"spectral_norm": False}),
        ("loss=lsgan", {"loss": "lsgan"}),
        ("name= a b ", {"name": "a b"}),
    ],
)
def test_parse_assignments(text, expected):
    assert make_schema().parse_assignments([text]) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("resolutoin=32", "did you mean 'resolution'"),
        ("resolution=abc", "expected an integer in [16, 512]"),
        ("resolution=8", "below the minimum 16"),
        ("resolution=1024", "above the maximum 512"),
        ("lr=nan", "expected a number"),
        ("spectral_norm=maybe", "true or false"),
        ("loss=wgan", "one of hinge, lsgan"),
        ("noequals", "key=value"),
        ("=3", "key=value"),
    ],
)
def test_bad_assignments_are_one_line_user_errors(text, message):
    with pytest.raises(UserError) as info:
        make_schema().parse_assignments([text])
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_resolve_rejects_wrong_json_types_and_unknown_keys():
    schema = make_schema()
    with pytest.raises(UserError, match="expected an integer"):
        schema.resolve({"resolution": 64.5})
    with pytest.raises(UserError, match="expected an integer"):
        schema.resolve({"resolution": True})
    with pytest.raises(UserError, match="unknown setting 'extra'"):
        schema.resolve({"extra": 1})
    assert "extra" not in schema.resolve({"extra": 1}, strict=False)


def test_bad_declarations_fail_at_registration():
    with pytest.raises(UserError, match="below the minimum"):
        ConfigField("steps", "int", 0, "Steps.", min=1)
    with pytest.raises(ValueError, match="no choices"):
        ConfigField("mode", "choice", "a", "Mode.")
    with pytest.raises(ValueError, match="declared twice"):
        ConfigSchema([ConfigField("a", "int", 1, "A."), ConfigField("a", "int", 2, "A.")])


def test_to_list_is_json_ready():
    items = make_schema().to_list()
    assert items[0] == {"name": "resolution", "type": "int", "default": 64, "help": "Side in pixels.", "min": 16,
                        "max": 512}
    assert items[3]["choices"] == ["hinge", "lsgan"]
