"""Built-in plugin: procedural shapes, a generator that needs no training.

It draws anti-aliased circles, squares and triangles from a latent vector (class = shape type). genstudio uses it
to synthesise labelled sample datasets for demos and tests, and as a generator the app can run out of the box.

This module is imported whenever plugins are listed, so it only describes the backend; the torch code lives in
`genstudio_shapes.render` and is imported on first use.
"""

from genstudio import BackendKind, BackendSpec, Capabilities, ConfigField, ConfigSchema, InputKind, InputSpec, hookimpl

__version__ = "0.1.0"

SCHEMA = ConfigSchema(
    [
        ConfigField("resolution", "int", 64, "Width and height of the images in pixels.", min=16, max=512),
        ConfigField("shapes_per_image", "int", 1, "How many shapes are drawn in each image.", min=1, max=6),
        ConfigField("palette", "choice", "vivid", "Colours of the shapes.", choices=("vivid", "pastel", "mono")),
        ConfigField(
            "background", "choice", "white", "What the shapes are drawn on.", choices=("white", "black", "gradient")
        ),
        ConfigField("softness", "float", 1.0, "Width of the anti-aliased edge in pixels.", min=0.25, max=4.0),
    ]
)


@hookimpl
def register_backends() -> list[BackendSpec]:
    return [
        BackendSpec(
            id="shapes",
            kind=BackendKind.GENERATOR,
            name="Procedural shapes",
            description=(
                "Circles, squares and triangles drawn from a latent vector with signed distance functions "
                "(Quilez, '2D distance functions'); no training, no learned weights."
            ),
            loader="genstudio_shapes.render:ShapesBackend",
            schema=SCHEMA,
            capabilities=Capabilities(trainable=False, exportable=False, class_names=True),
            inputs=(InputSpec(InputKind.LABEL, required=False,
                              help="circle, square or triangle; default: cycle through them."),),
        )
    ]
