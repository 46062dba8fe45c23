"""What keeping every result costs the app: genstudio.history's recording (PNG with provenance + thumbnail + log
line, each written atomically and fsynced), reloading the history on start-up, and a contact sheet.

    python bench/history.py [--count 64] [--side 64] [--entries 2000]

Prints one JSON object: ms per recorded image (one at a time, as Generate streams them), ms to load a history of
--entries entries (a new window), and ms for a contact sheet of --count images.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=64, help="images recorded one at a time")
    parser.add_argument("--side", type=int, default=64, help="their side in pixels")
    parser.add_argument("--entries", type=int, default=2000, help="entries in the history loaded at start-up")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as home:
        os.environ["GENSTUDIO_HOME"] = home
        from genstudio.history import History, contact_sheet

        rng = np.random.default_rng(0)
        history = History(Path(home) / "history")
        record = {"backend": "shapes", "model": "shapes", "operation": "generate", "config": {"resolution": args.side},
                  "parameters": {"seed": 1, "index": 0}}
        images = [rng.integers(0, 256, (args.side, args.side, 3), dtype=np.uint8) for _ in range(args.count)]
        started = time.perf_counter()
        entries = [history.add_image(image, {**record, "parameters": {"seed": 1, "index": i}}, f"#{i}")
                   for i, image in enumerate(images)]
        record_ms = (time.perf_counter() - started) * 1000 / args.count

        lines = [json.dumps({**entries[i % len(entries)].to_json(), "id": f"bench{i}"}) for i in range(args.entries)]
        big = Path(home) / "big"
        big.mkdir()
        (big / "history.jsonl").write_text("\n".join(lines) + "\n")
        started = time.perf_counter()
        loaded = History(big)
        load_ms = (time.perf_counter() - started) * 1000
        assert len(loaded.entries) == args.entries

        started = time.perf_counter()
        sheet = contact_sheet([entry.path for entry in entries], captions=[entry.title for entry in entries])
        sheet_ms = (time.perf_counter() - started) * 1000
    print(json.dumps({"images": args.count, "side": args.side, "record_ms_per_image": round(record_ms, 2),
                      "load_entries": args.entries, "load_ms": round(load_ms, 1),
                      "contact_sheet_ms": round(sheet_ms, 1), "contact_sheet_px": list(sheet.shape[:2]),
                      "python": sys.version.split()[0]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
