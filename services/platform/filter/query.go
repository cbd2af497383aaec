package filter

import (
	"fmt"

	"github.com/tessera-dev/tessera/services/platform/errs"
)

// Query is what a list request asks for.
type Query struct {
	Filter    string
	OrderBy   string
	PageToken string
	PageSize  int
}

// Plan is a list query turned into SQL pieces for one schema.
type Plan struct {
	// Where holds the filter and the page start, ANDed; Args are its parameters.
	Where   string
	Args    []any
	OrderBy string
	// SortKey is the expression to select as the cursor key of each row.
	SortKey string
	// Limit is one more than the page size, to tell whether a next page exists.
	Limit int
	query string
	size  int
}

// Plan validates q against the schema for a list whose ID column is text;
// parameters are numbered from $first.
func (s Schema) Plan(q Query, idCol string, first int) (Plan, error) {
	return s.PlanTyped(q, idCol, IDText, first)
}

// PlanTyped is Plan for a list whose ID column has the type idType (a page token's ID
// must be one).
func (s Schema) PlanTyped(q Query, idCol string, idType IDType, first int) (Plan, error) {
	if q.PageSize < 0 {
		return Plan{}, errs.Invalid("page_size", "must not be negative")
	}
	size := q.PageSize
	if size == 0 {
		size = 50
	}
	size = min(size, 1000)
	conds, err := Parse(q.Filter)
	if err != nil {
		return Plan{}, errs.InvalidReason("FILTER_INVALID", "filter", "%s", err.Error())
	}
	where, args, err := s.SQL(conds, first)
	if err != nil {
		return Plan{}, err
	}
	order, err := s.ParseOrder(q.OrderBy)
	if err != nil {
		return Plan{}, err
	}
	fingerprint := fmt.Sprintf("%q|%q", q.Filter, q.OrderBy)
	cursor, err := DecodeCursor(q.PageToken, fingerprint)
	if err != nil {
		return Plan{}, err
	}
	if err := order.Check(cursor, idType); err != nil {
		return Plan{}, err
	}
	orderBy, after, afterArgs := order.SQL(idCol, cursor, first+len(args))
	return Plan{
		Where: "(" + where + ") AND (" + after + ")", Args: append(args, afterArgs...), OrderBy: orderBy,
		SortKey: order.SortKey(idCol), Limit: size + 1, query: fingerprint, size: size,
	}, nil
}

// Page trims rows fetched with Limit to the page and returns the next page token
// ("" on the last page). key gives a row's cursor key and ID.
func Page[T any](p Plan, rows []T, key func(T) (sortKey, id string)) ([]T, string) {
	if len(rows) <= p.size {
		return rows, ""
	}
	rows = rows[:p.size]
	k, id := key(rows[len(rows)-1])
	return rows, Cursor{Key: k, ID: id, Query: p.query}.Encode()
}
