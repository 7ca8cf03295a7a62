// Added by Skalds to FerretDB's handler at build time (see skalds/devservices/ferretdb.py).
//
// v1.24 hands the backend only a `$natural` sort and a limit only when there is neither filter nor
// sort nor skip. This passes a find's sort on fields and its skip+limit as well; the backend uses
// them only when its WHERE clause is exactly the filter (skalds_pushdown.go), and the handler still
// sorts, skips and limits what comes back, so the answer is the same.

package handler

import "github.com/FerretDB/FerretDB/internal/types"

// skaldsSortLimit returns the sort and the number of rows (skip+limit) the backend may cut to;
// nothing when `off` (pushdown disabled, a capped collection, or the released limit pushdown applies).
func skaldsSortLimit(sort *types.Document, skip, limit int64, off bool) (*types.Document, int64) {
	if off || limit <= 0 || skip < 0 {
		return nil, 0
	}

	if sort.Len() > 0 && sort.Keys()[0] == "$natural" {
		return nil, 0
	}

	return sort, skip + limit
}
