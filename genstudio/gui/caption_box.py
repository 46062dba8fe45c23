"""The caption box: a one-line caption for a caption model, completing words from the model's vocabulary and showing
the words it does not know (which the model spells out letter by letter: genstudio.captions).

A thin view: the words, what counts as a word and what is unknown all come from `genstudio.captions.Tokenizer`.
"""

from __future__ import annotations

from PySide6.QtCore import QStringListModel, Qt
from PySide6.QtWidgets import QCompleter, QLabel, QLineEdit, QVBoxLayout, QWidget

from genstudio.captions import Tokenizer, words


class CaptionBox(QWidget):
    """A line edit with word completion over the vocabulary and a line naming unknown words."""

    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.edit = QLineEdit()
        self.edit.setPlaceholderText("a small red circle on the left")
        self.edit.setToolTip("What to draw, in words. Tab or Enter completes a word from the model's vocabulary; "
                             "other words are spelt letter by letter.")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #c08a2a")
        layout.addWidget(self.edit)
        layout.addWidget(self.status)
        self.model = QStringListModel()
        self.completer = QCompleter(self.model, self)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.completer.setWidget(self.edit)
        self.completer.activated.connect(self.complete_with)
        self.edit.textEdited.connect(self._edited)
        self.edit.textChanged.connect(self._show_unknown)
        self.tokenizer: Tokenizer | None = None

    def set_vocabulary(self, vocabulary: list[str] | str | None, max_tokens: int = 32) -> None:
        """The model's words (None: the model takes no caption, the box is hidden)."""
        self.tokenizer = Tokenizer(vocabulary, max_tokens) if vocabulary is not None else None
        self.model.setStringList(list(self.tokenizer.words) if self.tokenizer else [])
        self.setVisible(self.tokenizer is not None)
        self._show_unknown()

    def caption(self) -> str | None:
        """The caption as typed (None when empty or the model takes none)."""
        text = self.edit.text().strip()
        return text if text and self.tokenizer is not None else None

    def unknown_words(self) -> list[str]:
        return list(self.tokenizer.encode(self.edit.text()).spelt) if self.tokenizer else []

    def complete_with(self, word: str) -> None:
        """Replace the word being typed (the last one) by `word`, and a space."""
        text = self.edit.text()
        stem = self._stem(text)
        self.edit.setText(text[: len(text) - len(stem)] + word + " ")

    @staticmethod
    def _stem(text: str) -> str:
        """The word being typed at the end of `text` ("" after a space)."""
        if not text or text[-1].isspace():
            return ""
        last = text.split()[-1]
        return last if words(last) == [last.casefold()] else ""

    def _edited(self, text: str) -> None:
        stem = self._stem(text)
        if not stem or self.tokenizer is None:
            self.completer.popup().hide()
            return
        self.completer.setCompletionPrefix(stem)
        if self.completer.completionCount() and self.completer.currentCompletion() != stem:
            self.completer.complete()
        else:
            self.completer.popup().hide()

    def _show_unknown(self) -> None:
        if self.tokenizer is None or not self.edit.text().strip():
            self.status.setText("")
            return
        encoded = self.tokenizer.encode(self.edit.text())
        parts = []
        if encoded.spelt:
            parts.append("not in the vocabulary, spelt letter by letter: " + ", ".join(encoded.spelt))
        if len(encoded.ids) > self.tokenizer.max_tokens:
            parts.append(f"too long: {len(encoded.ids)} tokens, the model reads {self.tokenizer.max_tokens}")
        self.status.setText("; ".join(parts))
