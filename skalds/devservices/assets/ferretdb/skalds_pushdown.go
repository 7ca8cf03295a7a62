// Added by Skalds to FerretDB's SQLite backend at build time (see skalds/devservices/ferretdb.py).
//
// FerretDB v1.24 pushes a filter down to SQLite only when it is exactly `{_id: <string or ObjectID>}`,
// and never a sort on a field: any other query reads and decodes every document of the collection.
// Every handler applies the whole filter, the sort, skip and limit again to what the backend returns,
// so the backend may pre-select a superset; it may cut the rows short (ORDER BY ... LIMIT) only when
// the WHERE clause it wrote is exactly the filter.
//
// What is pushed, each top-level key of the filter on its own:
//   - `_id`: an equality on a string or ObjectID, or `$in` over such values (the `_id_` index);
//   - any other top-level field: an equality or `$in` on strings and integers, equal to null (null or
//     missing), and `$eq $gt $gte $lt $lte` on a string or an integer, written `_ferretdb_sjson->>"field"`,
//     the expression of the indexes `createIndexes` makes (skalds_index.go), so SQLite uses them;
//   - a sort on top-level fields and the find's skip+limit, when the conditions are all of the filter.
// A comparison is bracketed by type as MongoDB's is (SQLite orders NULL < numbers < text), so numbers
// never match a string bound and the other way round. This assumes that a filtered or sorted top-level
// field holds scalars, never an array or a boolean (true of every field Skalds filters or sorts on):
// an equality on an array field would miss the documents whose array holds the value.

package sqlite

import (
	"fmt"
	"strings"

	"github.com/FerretDB/FerretDB/internal/backends/sqlite/metadata"
	"github.com/FerretDB/FerretDB/internal/handler/sjson"
	"github.com/FerretDB/FerretDB/internal/types"
	"github.com/FerretDB/FerretDB/internal/util/must"
)

// maxPushedIDs bounds an `IN (...)` list well below SQLite's limit on bound parameters.
const maxPushedIDs = 500

// skaldsPushdown returns the SQL (WHERE, ORDER BY, LIMIT) that pre-selects what `filter` can match,
// its arguments, whether anything was pushed, and whether the sort and limit were.
// `sort` and `limit` are the find's sort (field names) and skip+limit (0: none).
func skaldsPushdown(filter, sort *types.Document, limit int64) (string, []any, bool, bool) {
	conditions, args, exact := skaldsWhere(filter)

	var clause string
	if len(conditions) > 0 {
		clause = " WHERE " + strings.Join(conditions, " AND ")
	}

	if !exact || limit <= 0 {
		return clause, args, clause != "", false
	}

	order, ok := skaldsOrderBy(sort)
	if !ok {
		return clause, args, clause != "", false
	}

	args = append(args, limit)

	return clause + order + " LIMIT ?", args, clause != "", true
}

// skaldsWhere returns one SQL condition per pushable key, their arguments, and whether they are
// together exactly the filter.
func skaldsWhere(filter *types.Document) ([]string, []any, bool) {
	if filter == nil {
		return nil, nil, true
	}

	var conditions []string
	var args []any
	exact := true

	// With the `_id` pushed, the other fields are only checked on the rows it selects: their expressions get
	// SQLite's unary `+`, which keeps a field's index out of the plan. Without statistics SQLite may otherwise
	// walk a status index (all Created tasks) in place of looking up the few listed ids.
	byID := false
	if value, err := filter.Get("_id"); err == nil {
		_, _, byID = idCondition(value)
	}

	for _, key := range filter.Keys() {
		value := must.NotFail(filter.Get(key))

		var sql string
		var more []any
		var ok bool

		if key == "_id" {
			sql, more, ok = idCondition(value)
		} else if !strings.HasPrefix(key, "$") && !strings.Contains(key, ".") {
			expr := fieldExpr(key)
			if byID {
				expr = "+" + expr
			}
			sql, more, ok = fieldCondition(expr, value)
		}

		if !ok {
			exact = false
			continue
		}

		conditions = append(conditions, sql)
		args = append(args, more...)
	}

	return conditions, args, exact
}

// fieldExpr is the expression of a top-level field, the same text as the index on it.
func fieldExpr(field string) string {
	return fmt.Sprintf("%s->>%q", metadata.DefaultColumn, field)
}

// idCondition pushes `_id` equal to, or `$in`, strings and ObjectIDs (sjson text, the `_id_` index).
func idCondition(v any) (string, []any, bool) {
	if arg, ok := pushableID(v); ok {
		return fmt.Sprintf(`%s = ?`, metadata.IDColumn), []any{arg}, true
	}

	args, ok := inArgs(v, func(item any) (any, bool) { return pushableID(item) })
	if !ok {
		return "", nil, false
	}

	return fmt.Sprintf(`%s IN (%s)`, metadata.IDColumn, placeholders(len(args))), args, true
}

// inArgs returns the SQL arguments of a `{$in: [...]}` condition whose every value `conv` accepts.
func inArgs(v any, conv func(any) (any, bool)) ([]any, bool) {
	values, ok := onlyIn(v)
	if !ok {
		return nil, false
	}

	args := make([]any, 0, values.Len())

	for i := 0; i < values.Len(); i++ {
		arg, ok := conv(must.NotFail(values.Get(i)))
		if !ok {
			return nil, false
		}

		args = append(args, arg)
	}

	return args, true
}

// fieldCondition pushes an equality, `$in`, or comparisons on strings and integers.
func fieldCondition(expr string, v any) (string, []any, bool) {
	if arg, ok := pushableScalar(v); ok {
		return expr + " = ?", []any{arg}, true
	}

	if _, ok := v.(types.NullType); ok { // null or missing: `->>` is NULL for both
		return expr + " IS NULL", nil, true
	}

	cond, ok := v.(*types.Document)
	if !ok || cond.Len() == 0 {
		return "", nil, false
	}

	if _, isIn := onlyIn(v); isIn {
		args, ok := inArgs(v, pushableScalar)
		if !ok {
			return "", nil, false
		}

		return fmt.Sprintf(`%s IN (%s)`, expr, placeholders(len(args))), args, true
	}

	var parts []string
	var args []any

	for _, op := range cond.Keys() {
		sql, arg, ok := comparison(expr, op, must.NotFail(cond.Get(op)))
		if !ok {
			return "", nil, false
		}

		parts = append(parts, sql)
		args = append(args, arg...)
	}

	return strings.Join(parts, " AND "), args, true
}

// comparison is one `$eq $gt $gte $lt $lte` on a string or an integer, bracketed by type:
// every number sorts before the empty text and every text at or after it.
func comparison(expr, op string, v any) (string, []any, bool) {
	sign, ok := map[string]string{"$eq": "=", "$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}[op]
	if !ok {
		return "", nil, false
	}

	arg, ok := pushableScalar(v)
	if !ok {
		return "", nil, false
	}

	if _, text := arg.(string); text {
		return fmt.Sprintf("%s %s ? AND %s >= ''", expr, sign, expr), []any{arg}, true
	}

	return fmt.Sprintf("%s %s ? AND %s < ''", expr, sign, expr), []any{arg}, true
}

// skaldsOrderBy is the ORDER BY of a sort on top-level fields (empty for no sort).
func skaldsOrderBy(sort *types.Document) (string, bool) {
	if sort.Len() == 0 {
		return "", true
	}

	terms := make([]string, 0, sort.Len())

	for _, key := range sort.Keys() {
		if key == "_id" || strings.HasPrefix(key, "$") || strings.Contains(key, ".") {
			return "", false
		}

		direction, ok := must.NotFail(sort.Get(key)).(int64)
		if !ok {
			return "", false
		}

		term := fieldExpr(key)
		if direction < 0 {
			term += " DESC"
		}

		terms = append(terms, term)
	}

	return " ORDER BY " + strings.Join(terms, ", "), true
}

// onlyIn returns the array of a `{$in: [...]}` condition with 1 to maxPushedIDs values.
func onlyIn(v any) (*types.Array, bool) {
	cond, ok := v.(*types.Document)
	if !ok || cond.Len() != 1 {
		return nil, false
	}

	in, err := cond.Get("$in")
	if err != nil {
		return nil, false
	}

	values, ok := in.(*types.Array)
	if !ok || values.Len() == 0 || values.Len() > maxPushedIDs {
		return nil, false
	}

	return values, true
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
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

// pushableScalar returns the SQL value `->>` yields for a string or an integer.
func pushableScalar(v any) (any, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case int32:
		return int64(v), true
	case int64:
		return v, true
	default:
		return nil, false
	}
}
