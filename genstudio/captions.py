"""Captions of a dataset folder, the word vocabulary a caption model keeps, and its tokenizer.

Where captions come from, for each image of a folder (`genstudio.data.scan_folder`):
  * `image.txt` beside `image.png` (the convention caption tools use): one caption per non-empty line;
  * `captions.jsonl` in any folder of the dataset: one JSON object a line, `{"file": "a.png", "caption": "..."}` or
    `{"file": "a.png", "captions": ["...", "..."]}`, the file relative to that folder;
  * otherwise, when the image sits in a class folder, its class name: "a 7" (so every labelled folder works).
Several captions per image are allowed (all sources add up). Nothing about captions is fatal: a caption file that is
not UTF-8 is read as UTF-16 (with a byte-order mark) or Latin-1 and reported; an empty one, a bad JSON line, a line
naming an image that is not there and an image with no caption at all are reported (`CaptionReport`) and the images
concerned are left out of caption training, never the run.

The tokenizer (no torch here) reads lower-cased words (letters and digits, accents folded). A word of the
vocabulary is one token; any other word is spelt out character by character (the character fallback), ending in
an end-of-word token, so a caption model can still read a name it never saw in training. Token ids:
0 padding, 1 a character outside a-z0-9, 2..37 the characters a-z0-9, 38 end of a spelt word, 39.. the words.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genstudio.data import CAPTION_SUFFIX, CAPTIONS_FILE
from genstudio.errors import UserError

if TYPE_CHECKING:
    import torch

    from genstudio.data import FolderScan

MAX_CAPTION_CHARS = 2000  # longer captions are cut here (and reported)
MAX_CAPTION_FILE_BYTES = 1 << 20  # a caption file larger than this is not read (reported)

PAD, OTHER_CHAR = 0, 1
ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
FIRST_CHAR = 2
END_OF_WORD = FIRST_CHAR + len(ALPHABET)  # 38
FIRST_WORD = END_OF_WORD + 1  # 39
_WORD = re.compile(r"[^\W_]+")


def class_caption(class_name: str) -> str:
    """The caption an image of a class folder gets when it has none of its own: "a 7"."""
    return f"a {class_name.replace('_', ' ')}"


def clean_caption(text: str) -> str:
    """One line of text: control characters dropped, runs of white space made one space, at most
    MAX_CAPTION_CHARS characters."""
    text = "".join(" " if unicodedata.category(char) in ("Cc", "Zl", "Zp") else char for char in text)
    text = "".join(char for char in text if unicodedata.category(char) not in ("Cf", "Cs", "Co"))
    return " ".join(text.split())[:MAX_CAPTION_CHARS]


def words(text: str) -> list[str]:
    """The words of a caption as the tokenizer reads them: case-folded, accents removed, letters and digits."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    folded = "".join(char for char in folded if not unicodedata.combining(char))
    return _WORD.findall(folded)


# ----------------------------------------------------------------------------------------------------------------
# Vocabulary and tokenizer


@dataclass(frozen=True)
class Encoded:
    """A caption as token ids, and the words that were spelt out because the vocabulary lacks them."""

    ids: tuple[int, ...]
    spelt: tuple[str, ...]


class Tokenizer:
    """Words -> token ids for one vocabulary (the word list saved with a model)."""

    def __init__(self, vocabulary: list[str] | tuple[str, ...] | str, max_tokens: int = 32):
        if isinstance(vocabulary, str):
            vocabulary = vocabulary.split()
        self.words = tuple(vocabulary)
        bad = [word for word in self.words if words(word) != [word]]
        if bad or len(set(self.words)) != len(self.words):
            raise UserError(f"a caption vocabulary holds unique lower-case words of letters and digits; got "
                            f"{bad[:3] or 'repeated words'}")
        self.index = {word: FIRST_WORD + i for i, word in enumerate(self.words)}
        self.max_tokens = int(max_tokens)

    @property
    def size(self) -> int:
        """Token ids are 0 .. size - 1."""
        return FIRST_WORD + len(self.words)

    @staticmethod
    def spell(word: str) -> list[int]:
        """A word character by character, then END_OF_WORD."""
        return [FIRST_CHAR + ALPHABET.index(c) if c in ALPHABET else OTHER_CHAR for c in word] + [END_OF_WORD]

    def encode(self, text: str, spell: frozenset[int] = frozenset()) -> Encoded:
        """The token ids of `text`; words outside the vocabulary (and the words at the positions in `spell`, a
        training augmentation) are spelt out."""
        ids: list[int] = []
        spelt: list[str] = []
        for position, word in enumerate(words(text)):
            token = self.index.get(word)
            if token is None or position in spell:
                ids += self.spell(word)
                if token is None:
                    spelt.append(word)
            else:
                ids.append(token)
        return Encoded(tuple(ids), tuple(spelt))

    def encode_for_model(self, text: str) -> Encoded:
        """`encode`, checked for generation: a caption with no words, or longer than the model reads, is a
        one-line UserError (never cut short silently)."""
        encoded = self.encode(text)
        if not encoded.ids:
            raise UserError(f"the caption {text[:60]!r} has no words the model can read (letters or digits)")
        if len(encoded.ids) > self.max_tokens:
            spelt = f", {len(encoded.spelt)} unknown word(s) spelt out" if encoded.spelt else ""
            raise UserError(f"the caption {text[:60]!r} is {len(encoded.ids)} tokens long{spelt}; the model reads at "
                            f"most {self.max_tokens}")
        return encoded

    def padded(self, ids: tuple[int, ...] | list[int]) -> list[int]:
        """`ids` cut or padded with PAD to max_tokens."""
        ids = list(ids)[: self.max_tokens]
        return ids + [PAD] * (self.max_tokens - len(ids))

    def decode(self, ids: list[int]) -> str:
        """Token ids back to text (spelt words joined up); for logs and tests."""
        out: list[str] = []
        spelling = ""
        for token in ids:
            if token == PAD:
                continue
            if token >= FIRST_WORD:
                out.append(self.words[token - FIRST_WORD])
            elif token == END_OF_WORD:
                out.append(spelling)
                spelling = ""
            else:
                spelling += ALPHABET[token - FIRST_CHAR] if token >= FIRST_CHAR else "?"
        return " ".join(out + ([spelling] if spelling else []))

    def completions(self, prefix: str, limit: int = 20) -> list[str]:
        """Vocabulary words starting with `prefix` (case-folded), for a caption box's completion."""
        start = words(prefix)
        stem = start[-1] if start and not prefix[-1:].isspace() else ""
        return [word for word in self.words if word.startswith(stem)][:limit]


def build_vocabulary(captions: list[list[str]], max_words: int = 2000, min_count: int = 1) -> list[str]:
    """The words of `captions` (a list of caption lists) seen at least `min_count` times, most frequent first
    (ties alphabetical), at most `max_words`."""
    counts = Counter(word for group in captions for caption in group for word in words(caption))
    ranked = sorted((word for word, count in counts.items() if count >= min_count), key=lambda w: (-counts[w], w))
    return ranked[:max_words]


# ----------------------------------------------------------------------------------------------------------------
# Reading a folder's captions


@dataclass(frozen=True)
class CaptionProblem:
    path: str
    reason: str


@dataclass
class CaptionReport:
    """What reading a folder's captions found: shown by `genstudio data check` and logged by training."""

    images: int  # images looked at
    from_files: int = 0  # images with at least one caption of their own
    from_classes: int = 0  # images captioned by their class name
    missing: list[str] = field(default_factory=list)  # images with no caption at all
    problems: list[CaptionProblem] = field(default_factory=list)
    captions: int = 0  # captions in all
    vocabulary: list[str] = field(default_factory=list)  # every word, most frequent first

    @property
    def covered(self) -> int:
        return self.from_files + self.from_classes

    def summary(self) -> str:
        """One line: "captions: 98 of 100 images (60 from files, 38 from class names), 3 problems; 41 words"."""
        parts = [f"{self.from_files} from files"] if self.from_files else []
        parts += [f"{self.from_classes} from class names"] if self.from_classes else []
        line = f"captions: {self.covered} of {self.images} image{'s' if self.images != 1 else ''}"
        line += f" ({', '.join(parts)})" if parts else ""
        line += f", {self.captions} caption{'s' if self.captions != 1 else ''}"
        if self.missing:
            line += f", {len(self.missing)} without any"
        if self.problems:
            line += f", {len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}"
        return line + f"; vocabulary: {len(self.vocabulary)} word{'s' if len(self.vocabulary) != 1 else ''}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_text(path: Path, problems: list[CaptionProblem]) -> str | None:
    """A caption file's text whatever its encoding: UTF-8 (a BOM allowed), UTF-16 with a BOM, else Latin-1
    (reported). None (reported) when it cannot be read."""
    try:
        if path.stat().st_size > MAX_CAPTION_FILE_BYTES:
            problems.append(CaptionProblem(str(path), f"larger than {MAX_CAPTION_FILE_BYTES >> 20} MiB; not read"))
            return None
        data = path.read_bytes()
    except OSError as err:
        problems.append(CaptionProblem(str(path), f"cannot be read ({err.strerror or type(err).__name__})"))
        return None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        problems.append(CaptionProblem(str(path), "not UTF-8; read as Latin-1"))
        return data.decode("latin-1")


def _file_captions(image: Path, problems: list[CaptionProblem]) -> list[str]:
    sidecar = image.with_suffix(CAPTION_SUFFIX)
    if not sidecar.is_file():
        return []
    text = read_text(sidecar, problems)
    if text is None:
        return []
    captions = [clean_caption(line) for line in text.splitlines()]
    captions = [caption for caption in captions if caption]
    if not captions:
        problems.append(CaptionProblem(str(sidecar), "empty caption file"))
    return captions


def _jsonl_captions(folders: set[Path], images: set[Path], problems: list[CaptionProblem]) -> dict[Path, list[str]]:
    """{image: captions} from every captions.jsonl in `folders`."""
    found: dict[Path, list[str]] = {}
    for folder in sorted(folders):
        file = folder / CAPTIONS_FILE
        if not file.is_file():
            continue
        text = read_text(file, problems)
        for number, line in enumerate((text or "").splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{file}:{number}"
            try:
                entry = json.loads(line)
            except ValueError:
                problems.append(CaptionProblem(where, "not a JSON object"))
                continue
            name = entry.get("file") if isinstance(entry, dict) else None
            given = entry.get("captions", entry.get("caption")) if isinstance(entry, dict) else None
            given = [given] if isinstance(given, str) else given
            if not isinstance(name, str) or not isinstance(given, list) or not all(isinstance(c, str) for c in given):
                problems.append(CaptionProblem(where, 'expected {"file": NAME, "caption": TEXT} or "captions": [...]'))
                continue
            image = (folder / name).resolve()
            if image not in images:
                problems.append(CaptionProblem(where, f"no image {name[:80]!r} in the dataset"))
                continue
            captions = [clean_caption(c) for c in given]
            found.setdefault(image, []).extend(c for c in captions if c)
            if not any(captions):
                problems.append(CaptionProblem(where, "empty caption"))
    return found


def read_captions(scan: FolderScan) -> tuple[list[list[str]], CaptionReport]:
    """The captions of each image of `scan` (in its order; [] for an image without any) and the report."""
    problems: list[CaptionProblem] = []
    resolved = [path.resolve() for path in scan.files]
    folders = {path.parent for path in resolved} | {Path(scan.root).resolve()}
    from_jsonl = _jsonl_captions(folders, set(resolved), problems)
    report = CaptionReport(len(scan.files))
    result: list[list[str]] = []
    for path, full, label in zip(scan.files, resolved, scan.labels, strict=True):
        captions = _file_captions(path, problems) + from_jsonl.get(full, [])
        if captions:
            report.from_files += 1
        elif scan.classes:
            captions = [class_caption(scan.classes[label])]
            report.from_classes += 1
        else:
            report.missing.append(str(path))
        result.append(captions)
    report.problems = problems
    report.captions = sum(len(group) for group in result)
    report.vocabulary = build_vocabulary(result, max_words=1 << 30)
    return result, report


# ----------------------------------------------------------------------------------------------------------------
# A captioned training set


class CaptionedDataset:
    """A decoded image folder (`ImageFolderDataset`) whose labels are its captions' token ids.

    The runtime reads (images, labels) rows and slices `labels` like the images, so `labels` is int64
    N x K x L: up to K captions of each image (padded with empty captions), each L = max_tokens ids. Slot K - 1
    holds the image's first caption with one word spelt out (the character fallback's training signal). Images
    without any caption are left out (the report lists them)."""

    def __init__(self, dataset: Any, captions: list[list[str]], report: CaptionReport, tokenizer: Tokenizer,
                 seed: int = 0):
        import random

        import torch

        decoded = _decoded_rows(dataset)
        rows = [i for i, file_index in enumerate(decoded) if file_index is not None and captions[file_index]]
        if not rows:
            raise UserError(f"none of the images of {dataset.report.root} has a caption ({report.summary()})")
        slots = max(len(captions[decoded[i]]) for i in rows) + 1
        rng = random.Random(seed)
        table = torch.zeros(len(rows), slots, tokenizer.max_tokens, dtype=torch.int64)
        self.too_long = 0
        for row, i in enumerate(rows):
            group = captions[decoded[i]]
            for slot, caption in enumerate(group):
                table[row, slot] = torch.tensor(self._ids(tokenizer, caption))
            count = len(words(group[0]))
            spell = frozenset({rng.randrange(count)}) if count else frozenset()
            table[row, slots - 1] = torch.tensor(self._ids(tokenizer, group[0], spell))
        self.images = dataset.images[rows]
        self.labels = table
        self.classes = list(getattr(dataset, "classes", []) or [])
        self.report = dataset.report
        self.caption_report = report
        self.left_out = len(decoded) - len(rows)

    def _ids(self, tokenizer: Tokenizer, caption: str, spell: frozenset[int] = frozenset()) -> list[int]:
        ids = tokenizer.encode(caption, spell).ids
        self.too_long += len(ids) > tokenizer.max_tokens
        return tokenizer.padded(ids)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.images[index].float().div_(255.0), self.labels[index]


def _decoded_rows(dataset: Any) -> list[int | None]:
    """For each row of a decoded folder, the index of its file in the folder's scan (skipped files have none)."""
    from genstudio.data import scan_folder

    scan = scan_folder(dataset.report.root)
    skipped = {bad.path for bad in dataset.report.skipped}
    rows = [index for index, path in enumerate(scan.files) if str(path) not in skipped]
    if len(rows) != len(dataset.images):
        raise UserError(f"{dataset.report.root} changed while it was read; run again")
    return rows


def choose_captions(labels: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """One caption per row of a CaptionedDataset batch (N x K x L -> N x L), drawn among the row's non-empty ones."""
    import torch

    present = (labels != PAD).any(dim=2).float()  # N x K
    pick = torch.multinomial(present, 1, generator=generator).squeeze(1)  # N
    return labels[torch.arange(labels.shape[0], device=labels.device), pick]


# ----------------------------------------------------------------------------------------------------------------
# Training on captions (called by genstudio.operations.train for a backend that declares a caption input)

VOCABULARY_FIELD = "vocabulary"  # the config field a caption backend keeps its words in (space-separated)


def derive_vocabulary(config: dict[str, Any], scan: FolderScan) -> str:
    """The vocabulary of a folder's captions as the config field holds it, at most config["max_words"] words
    seen at least config["min_word_count"] times (when the schema has those fields)."""
    captions, _ = read_captions(scan)
    chosen = build_vocabulary(captions, int(config.get("max_words", 2000)), int(config.get("min_word_count", 1)))
    return " ".join(chosen)


def stored_vocabulary(out_dir: str | Path, backend: str) -> str | None:
    """The vocabulary a `backend` run in `out_dir` was started with (its newest readable checkpoint's config), or
    None: what --resume trains with, so the token ids keep their meaning whatever the captions now hold (a new
    word is spelt letter by letter)."""
    from genstudio.training.checkpoints import STATE_FILE, list_checkpoints
    from genstudio.training.state import unflatten_state

    for _, folder in reversed(list_checkpoints(out_dir)):
        try:
            state = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))["state"]["dict"]
            if unflatten_state({}, state["backend"]) != backend:
                return None
            value = unflatten_state({}, state["config"]).get(VOCABULARY_FIELD)
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError):
            continue  # a damaged checkpoint: the resume passes over it too
        return value if isinstance(value, str) else None
    return None


def caption_training_set(dataset: Any, scan: FolderScan, config: dict[str, Any], log: Any) -> CaptionedDataset:
    """`dataset` with its captions' token ids as labels; what was reported about the captions is logged."""
    captions, report = read_captions(scan)
    tokenizer = Tokenizer(config.get(VOCABULARY_FIELD, ""), int(config.get("max_tokens", 32)))
    captioned = CaptionedDataset(dataset, captions, report, tokenizer)
    log(report.summary(), "warning" if report.problems or report.missing else "info")
    for problem in report.problems[:5]:
        log(f"caption problem: {problem.path}: {problem.reason}", "warning")
    if captioned.left_out:
        log(f"{captioned.left_out} image(s) without a caption left out of training", "warning")
    if captioned.too_long:
        log(f"{captioned.too_long} caption(s) longer than max_tokens={tokenizer.max_tokens} tokens were cut", "warning")
    return captioned
