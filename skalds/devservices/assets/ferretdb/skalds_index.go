// Added by Skalds to FerretDB's SQLite metadata at build time (see skalds/devservices/ferretdb.py).
//
// An index on a top-level field other than `_id` is made on `_ferretdb_sjson->>"field"` (the SQL
// value: NULL, then numbers in numeric order, then text), the expression the pushdown in
// skalds_pushdown.go filters and sorts by. v1.24 used `->`, the JSON text, which orders 10 before 9.
// `_id` and nested fields keep the released expression.

package metadata

import "fmt"

// skaldsIndexColumn is the indexed expression of one key; fields are the key's path, quoted.
func skaldsIndexColumn(field string, fields []string) string {
	if field != "_id" && len(fields) == 1 {
		return fmt.Sprintf("%s->>%s", DefaultColumn, fields[0])
	}

	return fmt.Sprintf("%s->%s", DefaultColumn, joinPath(fields))
}

func joinPath(fields []string) string {
	out := fields[0]
	for _, f := range fields[1:] {
		out += "->" + f
	}

	return out
}
