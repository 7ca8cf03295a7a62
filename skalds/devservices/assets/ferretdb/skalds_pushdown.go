// Added by Skalds to FerretDB's SQLite backend at build time (see skalds/devservices/ferretdb.py).
//
// FerretDB v1.24 pushes a filter down to SQLite only when it is exactly `{_id: <string or ObjectID>}`;
// any other filter reads and decodes every document of the collection. A compare-and-set
// (`{_id: x, executor: n, attempt: 2}`) or a batch (`{_id: {$in: [...]}}`) therefore costs a full
// scan. Every handler applies the whole filter again to what the backend returns, so it is enough,
// and safe, to pre-select by the top-level `_id` condition whatever else the filter says.

package sqlite

import (
	"fmt"
	"strings"

	"github.com/FerretDB/FerretDB/internal/backends/sqlite/metadata"
	"github.com/FerretDB/FerretDB/internal/handler/sjson"
	"github.com/FerretDB/FerretDB/internal/types"
	"github.com/FerretDB/FerretDB/internal/util/must"
)

// maxPushedIDs bounds the `IN (...)` list well below SQLite's limit on bound parameters.
const maxPushedIDs = 500

// idWhereClause returns the WHERE clause and its arguments that select the documents `filter` can
// match by its top-level `_id`: an equality on a string or ObjectID, or `$in` over such values.
// It returns an empty clause when the filter has no such condition (the caller scans).
func idWhereClause(filter *types.Document) (string, []any) {
	if filter == nil {
		return "", nil
	}

	v, err := filter.Get("_id")
	if err != nil {
		return "", nil
	}

	if arg, ok := pushableID(v); ok {
		return fmt.Sprintf(` WHERE %s = ?`, metadata.IDColumn), []any{arg}
	}

	cond, ok := v.(*types.Document)
	if !ok || cond.Len() != 1 {
		return "", nil
	}

	in, err := cond.Get("$in")
	if err != nil {
		return "", nil
	}

	values, ok := in.(*types.Array)
	if !ok || values.Len() == 0 || values.Len() > maxPushedIDs {
		return "", nil
	}

	args := make([]any, 0, values.Len())

	for i := 0; i < values.Len(); i++ {
		arg, ok := pushableID(must.NotFail(values.Get(i)))
		if !ok {
			return "", nil
		}

		args = append(args, arg)
	}

	placeholders := strings.TrimSuffix(strings.Repeat("?, ", len(args)), ", ")

	return fmt.Sprintf(` WHERE %s IN (%s)`, metadata.IDColumn, placeholders), args
}

// pushableID returns the SQL argument for an `_id` value SQLite can compare exactly.
func pushableID(v any) (string, bool) {
	switch v.(type) {
	case string, types.ObjectID:
		return string(must.NotFail(sjson.MarshalSingleValue(v))), true
	default:
		return "", false
	}
}
