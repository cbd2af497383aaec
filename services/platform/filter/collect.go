package filter

import "github.com/jackc/pgx/v5"

// CollectPage reads the rows of a list query planned with Schema.Plan (each row ends with
// the plan's sort key) and returns the page and the next page's token. scan reads one
// row into item and its sort key; id names an item for the cursor.
func CollectPage[T any](plan Plan, rows pgx.Rows, scan func(row pgx.CollectableRow, item *T, sortKey *string) error, id func(T) string) ([]T, string, error) {
	type keyed struct {
		item T
		key  string
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (keyed, error) {
		var k keyed
		err := scan(r, &k.item, &k.key)
		return k, err
	})
	if err != nil {
		return nil, "", err
	}
	page, next := Page(plan, list, func(k keyed) (string, string) { return k.key, id(k.item) })
	out := make([]T, len(page))
	for i, k := range page {
		out[i] = k.item
	}
	return out, next, nil
}
