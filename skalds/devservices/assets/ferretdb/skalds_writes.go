// Added by Skalds: write commands that read documents and then write them run one at a time.
//
// FerretDB 1.24 runs update, findAndModify and delete as a read of the matching documents followed by a
// separate write of each one, with nothing held between the two. Two updates of one document at the same
// time therefore both read its old state and the second write undoes the first: a lost `$inc`, and a
// compare-and-set (`{_id, attempt: 0}` -> `{attempt: 1}`) that two clients both win. MongoDB applies each
// update to a document atomically, and Skalds's fencing depends on it. SQLite has one writer at a time
// anyway, so holding this lock across the read and the write costs little.

package handler

import "sync"

var skaldsWrites sync.Mutex
