"""FerretDB v1 (MongoDB wire protocol on SQLite), built from the Go module proxy.

Why not ``go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2``: that binary panics at
start because the generated ``build/version/version.txt`` is not in the module zip. Why not the
public embeddable package: it cannot enable SCRAM or create a user, and pymongo authenticates
with SCRAM as soon as the URI has credentials (``mongodb://root:root@localhost:27017/``).

So ``assets/ferretdb/main.go`` is dropped into a writable copy of the module source as
``cmd/skalds-ferretdb``, next to a written ``version.txt``, and built there; being inside the
module it may use FerretDB's internal packages. It runs in "mixed" auth: SCRAM logins are
verified and clients without credentials are served too.

The copy is patched (``SOURCE_PATCHES``, ``ADDED_SOURCES``) so that Skalds's queries are index reads:

- v1.24's SQLite backend creates the ``_id`` index on ``_ferretdb_sjson->"_id"`` but filters on
  ``_ferretdb_sjson->'$._id'``. SQLite matches index expressions by their text, so the index was
  never used and every lookup and every per-document update by ``_id`` scanned the whole table
  (40 ms per update at 2,000 documents, growing with the collection). The filter is now written
  the way the index is; both expressions select the same value. (FerretDB#4646 is the same
  mismatch on PostgreSQL.)
- Only a filter that is exactly ``{_id: <string>}`` reached SQLite, and no sort: a compare-and-set, a
  list by status or a page sorted by creation time read and sorted every document in Go (8.8 s for a
  first page at 10,000 tasks). ``assets/ferretdb/skalds_pushdown.go`` writes a WHERE clause for the
  top-level conditions it can express exactly (``_id``; equality, ``$in``, null and ``$eq $gt $gte
  $lt $lte`` on strings and integers) and, when they are the whole filter, the find's sort and
  skip+limit (``skalds_sort.go`` hands them from the handler to the backend); every handler still
  applies the whole filter, sort, skip and limit to what comes back. ``skalds_index.go`` makes an
  index on a top-level field on its SQL value (``->>``), the expression the pushdown writes, so SQLite
  uses the indexes ``createIndexes`` made. ``explain`` reports the pushdown and SQLite's plan.
  It assumes the filtered and sorted top-level fields hold no arrays or booleans (Skalds's never do).

- v1.24 runs an update, a findAndModify or a delete as a read of the matching documents, then a write
  of each, with nothing held between them: two updates of one document at once both read its old state,
  so one ``$inc`` was lost and both of two clients won the same compare-and-set (38 of 200 tries here).
  ``assets/ferretdb/skalds_writes.go`` makes those commands take one lock, so each update of a document is
  atomic, as on MongoDB; Skalds's fencing relies on it.

- v1.24 writes each document an update statement changes in a transaction of its own. The documents one
  statement changes are now written together, in one transaction, once the statement has read them all (a
  statement that fails on one writes none). A batch assignment sends one ``updateMany`` per node and attempt.
  When a filter's ``_id`` is pushed down, its other fields are written with SQLite's unary ``+``, so they are
  checked on the rows the ids select: without statistics SQLite otherwise walked a status index (every
  Created task) in place of the few ids, and a 500-task batch took 0.6 to 2.8 s instead of 0.4 s.

``main.go`` opens SQLite with ``synchronous=NORMAL`` (WAL, as FerretDB sets): each commit is durable
against a killed server at once and synced to disk at checkpoints, where SQLite's default syncs every
commit (5 ms each on this machine's disk, and FerretDB commits once per updated document). That is the
durability MongoDB gives a ``w:1`` write, acknowledged before its journal's next group commit.

A FerretDB version whose source differs is built as released, with a warning.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from importlib import resources
from pathlib import Path

from skalds.transport import probes

from .cache import digest, ensure_entry, is_complete
from .config import HOST
from .console import phase, say
from .errors import ServiceError
from .procs import ProcRecord, run_logged
from .readiness import Probe, mongo_probe
from .service import Service, launch
from .tools import which

MODULE = "github.com/FerretDB/FerretDB"
BINARY = "skalds-ferretdb"
GO_DIRS = ("/usr/local/go/bin", "/usr/lib/go/bin")


_LIMIT_RULE = """	if !h.DisablePushdown && params.Filter.Len() == 0 && params.Sort.Len() == 0 && params.Skip == 0 {
		qp.Limit = params.Limit
	}
"""
_FIELD_SORT = """
	qp.FieldSort, qp.FieldLimit = skaldsSortLimit(params.Sort, params.Skip, params.Limit,
		h.DisablePushdown || cInfo.Capped() || qp.Limit != 0)
"""

_HOLD_WRITES = """
	skaldsWrites.Lock()
	defer skaldsWrites.Unlock()
"""


def _signature(command: str) -> str:
    return f"func (h *Handler) Msg{command}(connCtx context.Context, msg *wire.OpMsg) (*wire.OpMsg, error) {{"


# file in the module -> [(text as released, text we build, occurrences)]
SOURCE_PATCHES: dict[str, list[tuple[str, str, int]]] = {
    # the expression of the `_id_` index, so that SQLite uses that index
    "internal/backends/sqlite/metadata/metadata.go": [
        ('IDColumn = DefaultColumn + "->\'$._id\'"', 'IDColumn = DefaultColumn + "->\'_id\'"', 1),
    ],
    # pre-select by the filter's `_id` condition even when it has other keys (assets/ferretdb/skalds_pushdown.go)
    "internal/backends/sqlite/collection.go": [
        ("""	if params.Filter.Len() == 1 {
		v, _ := params.Filter.Get("_id")
		switch v.(type) {
		case string, types.ObjectID:
			whereClause = fmt.Sprintf(` WHERE %s = ?`, metadata.IDColumn)
			args = []any{string(must.NotFail(sjson.MarshalSingleValue(v)))}
		}
	}
""", """	whereClause, args, _, _ = skaldsPushdown(params.Filter, params.FieldSort, params.FieldLimit)
""", 1),
        ("""	if params.Filter.Len() == 1 {
		v, _ := params.Filter.Get("_id")
		switch v.(type) {
		case string, types.ObjectID:
			filterPushdown = true
			whereClause = fmt.Sprintf(` WHERE %s = ?`, metadata.IDColumn)
			args = []any{string(must.NotFail(sjson.MarshalSingleValue(v)))}
		}
	}
""", """	var skaldsSorted bool
	whereClause, args, filterPushdown, skaldsSorted = skaldsPushdown(params.Filter, params.FieldSort, params.FieldLimit)
""", 1),
        ('sortPushdown := orderByClause != ""', 'sortPushdown := orderByClause != "" || skaldsSorted', 1),
        ("var limitPushdown bool\n", "limitPushdown := skaldsSorted\n", 1),
    ],
    # the find's sort on fields and skip+limit reach the backend (assets/ferretdb/skalds_sort.go)
    "internal/backends/collection.go": [
        ("""	Filter *types.Document
	Sort   *types.Document
	Limit  int64
""", """	Filter *types.Document
	Sort   *types.Document
	Limit  int64

	FieldSort  *types.Document // added by Skalds: a sort on fields, used only with an exact pushdown
	FieldLimit int64           // added by Skalds: skip+limit of that find (0: none)
""", 2),
    ],
    "internal/handler/msg_find.go": [(_LIMIT_RULE, _LIMIT_RULE + _FIELD_SORT, 1)],
    "internal/handler/msg_explain.go": [(_LIMIT_RULE, _LIMIT_RULE + _FIELD_SORT, 1)],
    # updates, findAndModify and deletes run one at a time (assets/ferretdb/skalds_writes.go)
    **{f"internal/handler/msg_{name.lower()}.go": [(_signature(name), _signature(name) + _HOLD_WRITES, 1)]
       for name in ("Update", "FindAndModify", "Delete")},
    # the documents one update statement changes are written in one transaction, not one each
    "internal/handler/common/update.go": [
        ("\tresult := new(UpdateResult)\n",
         "\tresult := new(UpdateResult)\n\tvar skaldsChanged []*types.Document // written together at the end\n", 1),
        ("""			if !upsert {
				return result, nil
			}
""", """			if !upsert {
				if len(skaldsChanged) > 0 {
					if _, err = c.UpdateAll(ctx, &backends.UpdateAllParams{Docs: skaldsChanged}); err != nil {
						return nil, lazyerrors.Error(err)
					}
				}
				return result, nil
			}
""", 1),
        ("""		} else if modified {
			_, err := c.UpdateAll""", """		} else if modified && !isFindAndModify {
			skaldsChanged = append(skaldsChanged, doc)
			result.Modified.Count++
		} else if modified {
			_, err := c.UpdateAll""", 1),
    ],
    # indexes on top-level fields by their SQL value (assets/ferretdb/skalds_index.go)
    "internal/backends/sqlite/metadata/registry.go": [
        ('columns[i] = fmt.Sprintf("%s->%s", DefaultColumn, strings.Join(fields, "->"))',
         "columns[i] = skaldsIndexColumn(key.Field, fields)", 1),
    ],
}
ADDED_SOURCES = {  # asset -> path in module
    "skalds_pushdown.go": "internal/backends/sqlite/skalds_pushdown.go",
    "skalds_index.go": "internal/backends/sqlite/metadata/skalds_index.go",
    "skalds_sort.go": "internal/handler/skalds_sort.go",
    "skalds_writes.go": "internal/handler/skalds_writes.go",
}


def _main_go() -> bytes:
    return _asset("main.go")


def _asset(name: str) -> bytes:
    return resources.files(__package__).joinpath("assets", "ferretdb", name).read_bytes()


def _build_inputs() -> bytes:
    """What the cached binary depends on besides the version: our main.go, the patches, the added files."""
    added = b"".join(_asset(name) for name in sorted(ADDED_SOURCES))
    return _main_go() + json.dumps(SOURCE_PATCHES, sort_keys=True).encode() + added


def _patch_sources(src: Path) -> bool:
    """Apply all the patches, or none of them (another release's source): False and a warning then."""
    patched: dict[Path, str] = {}
    for relative, replacements in SOURCE_PATCHES.items():
        path = src / relative
        text = path.read_text() if path.is_file() else ""
        for released, ours, occurrences in replacements:
            if text.count(released) != occurrences:
                say("ferretdb", f"warning: {relative} differs from v1.24.2's; building without our pushdown "
                                "(queries other than by _id scan the whole collection)")
                return False
            text = text.replace(released, ours)
        patched[path] = text
    for path, text in patched.items():
        path.write_text(text)
    for asset, relative in ADDED_SOURCES.items():
        (src / relative).write_bytes(_asset(asset))
    return True


def _make_writable(root: Path) -> None:
    """The module cache is read-only; the copy must accept version.txt, our files and the patches."""
    for dirpath, _dirs, files in os.walk(root):
        os.chmod(dirpath, os.stat(dirpath).st_mode | stat.S_IWUSR)
        for f in files:
            p = os.path.join(dirpath, f)
            os.chmod(p, os.stat(p).st_mode | stat.S_IWUSR)


class FerretDB(Service):
    name = "ferretdb"
    ready_deadline_s = 30.0

    @property
    def port(self) -> int:
        return self.settings.mongo_port

    @property
    def version(self) -> str:
        return self.settings.ferretdb_version

    @property
    def log(self) -> Path:
        return self.dir / "ferretdb.log"

    def probe(self) -> Probe:
        return mongo_probe(self.port)

    def ready_probe(self) -> Probe:
        return mongo_probe(self.port, self.settings.mongo_user, self.settings.mongo_password)

    def external_version(self) -> str:
        return probes.mongo_version(HOST, self.port)

    def binary(self) -> Path:
        """The built server in the shared cache, keyed by FerretDB version and our main.go."""
        main_go = _main_go()
        entry = self.settings.cache_dir / "ferretdb" / f"v{self.version}-{digest(_build_inputs())}"
        build_log = self.dir / "build.log"

        def build(tmp: Path) -> None:
            go = which("go", GO_DIRS)
            if go is None:
                raise ServiceError(self.name, "Go (1.24 or newer) is needed to build FerretDB; "
                                              "none found on PATH or in /usr/local/go/bin")
            env = dict(os.environ, CGO_ENABLED="0", GOFLAGS="-buildvcs=false")
            src = self._module_source(go, tmp, env, build_log)
            _patch_sources(src)
            (src / "build" / "version" / "version.txt").write_text(f"v{self.version}\n")
            cmd_dir = src / "cmd" / BINARY
            cmd_dir.mkdir(parents=True, exist_ok=True)
            (cmd_dir / "main.go").write_bytes(main_go)
            run_logged(self.name, [go, "build", "-trimpath", "-o", str(tmp / BINARY), f"./cmd/{BINARY}"],
                       build_log, env=env, cwd=src, what="go build")
            shutil.rmtree(src)
            out = subprocess.run([str(tmp / BINARY), "-version"], capture_output=True, text=True, check=False)
            if out.stdout.strip() != f"v{self.version}":
                raise ServiceError(self.name, f"built binary reports version {out.stdout.strip()!r}", build_log)

        if is_complete(entry):
            say(self.name, f"using cached binary {entry / BINARY}")
        else:
            with phase(self.name, f"building FerretDB v{self.version} with Go (first time, ~2-5 min) into {entry}"):
                ensure_entry(entry, build)
        return entry / BINARY

    def _module_source(self, go: str, tmp: Path, env: dict[str, str], log: Path) -> Path:
        """Download the module (Go module proxy, cached in GOMODCACHE) and copy it to ``tmp/src``."""
        listing = tmp / "download.json"
        with open(listing, "w") as out, open(log, "ab") as err:
            rc = subprocess.call([go, "mod", "download", "-json", f"{MODULE}@v{self.version}"],
                                 stdout=out, stderr=err, env=env, cwd=tmp)
        info = json.loads(listing.read_text() or "{}")
        if rc != 0 or "Dir" not in info:
            raise ServiceError(self.name, f"go mod download {MODULE}@v{self.version} failed: "
                                          f"{info.get('Error', 'see log')}", log)
        src = tmp / "src"
        shutil.copytree(info["Dir"], src, symlinks=True)
        _make_writable(src)
        listing.unlink()
        return src

    def start(self) -> ProcRecord:
        binary = self.binary()
        # Data kept from an earlier `up` is served again; in an empty one the first user is created.
        self.data_dir.mkdir(parents=True, exist_ok=True)
        s = self.settings
        listen = f"-listen-addr={HOST}:{self.port}"
        argv = [str(binary), listen, f"-sqlite-dir={self.data_dir}", "-auth=mixed",
                "-setup-database=admin", f"-setup-username={s.mongo_user}", f"-setup-password={s.mongo_password}",
                f"-log-level={os.environ.get('SKALDS_FERRETDB_LOG_LEVEL', 'warn')}"]
        with phase(self.name, f"starting FerretDB v{self.version} on {HOST}:{self.port}"):
            return launch(self, argv, markers=[str(binary), listen], output=self.log, logs=[self.log])
