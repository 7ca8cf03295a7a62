"""The README's fenced code blocks and the `<!-- doc: ... -->` markers that say how a test uses them.

Markers (an HTML comment on its own line, invisible on the rendered page):
- `<!-- doc: run [cwd=repo] [expect="text"] -->` before a shell block: run it; it must exit 0 (and print text);
- `<!-- doc: background NAME until="text" [cwd=repo] [only=N rest="why"] -->`: start it, wait for text;
  `only=N` runs its first N commands, `rest` says why the others are not run here;
- `<!-- doc: stop NAME -->` (alone): Ctrl-C to that background block, which must then exit 0;
- `<!-- doc: file PATH -->` before a block: write it to PATH in the working folder;
- `<!-- doc: skip REASON -->` before a block: not run, for the reason given.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

MARKER = re.compile(r"^<!--\s*doc:\s*(?P<body>.*?)\s*-->\s*$")
FENCE = re.compile(r"^```(?P<lang>[\w+-]*)\s*$")
SHELL_LANGUAGES = {"bash", "sh", "shell", "console", "zsh"}


@dataclass
class Marker:
    kind: str
    words: list[str] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)
    line: int = 0


@dataclass
class Block:
    lang: str
    text: str
    line: int
    marker: Marker | None = None

    @property
    def is_shell(self) -> bool:
        return self.lang in SHELL_LANGUAGES


def parse_marker(body: str, line: int) -> Marker:
    kind, _, rest = body.partition(" ")
    if not kind:
        raise ValueError(f"line {line}: empty doc marker")
    if kind == "skip":  # free text: the reason
        return Marker(kind, [rest.strip()] if rest.strip() else [], {}, line)
    parts = shlex.split(body)
    words = [part for part in parts[1:] if "=" not in part]
    options = dict(part.split("=", 1) for part in parts[1:] if "=" in part)
    return Marker(parts[0], words, options, line)


def read_document(text: str) -> list[Block | Marker]:
    """Blocks and stand-alone markers in document order; a marker right before a fence belongs to it."""
    items: list[Block | Marker] = []
    pending: Marker | None = None
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        marker = MARKER.match(line.strip())
        fence = FENCE.match(line)
        if marker:
            if pending is not None:
                items.append(pending)
            pending = parse_marker(marker.group("body"), index + 1)
        elif fence:
            end = index + 1
            while end < len(lines) and lines[end].strip() != "```":
                end += 1
            block = Block(fence.group("lang"), "\n".join(lines[index + 1:end]) + "\n", index + 1)
            if pending is not None and pending.kind != "stop":
                block.marker, pending = pending, None
            elif pending is not None:
                items.append(pending)
                pending = None
            items.append(block)
            index = end
        elif line.strip() and pending is not None:
            items.append(pending)
            pending = None
        index += 1
    if pending is not None:
        items.append(pending)
    return items


def shell_commands(script: str) -> list[str]:
    """Commands of a shell block: one per line, backslash continuations joined, blank lines dropped."""
    commands: list[str] = []
    current = ""
    for line in script.splitlines():
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        current += line
        if current.strip():
            commands.append(current.strip())
        current = ""
    return commands
