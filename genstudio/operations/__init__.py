"""The operations layer: one core function per user operation.

The CLI command, the job runner and the app action for an operation are thin adapters: they parse their input,
call the same function here and render its events (genstudio.events). None of them holds logic the others lack,
so the same request gives the same files, provenance and errors wherever it starts.

Conventions for an operation function:
  * keyword parameters named as the job parameters (and, with `-` for `_`, as the CLI options), plus
    `progress: EventSink | None` and `abort: AbortCheck | None`;
  * heavy imports (torch, onnxruntime) inside the body, so importing this package stays cheap;
  * `UserError` (one line) for anything the user can fix; a plugin's own exception is left to propagate (or
    wrapped in `PluginError`), never turned into a user error;
  * returns a dataclass with `to_dict()` (JSON-safe): what the CLI prints with `--json` and the job stores.

The table of operations (`genstudio.operations.registry`) is where job kinds come from.
"""
