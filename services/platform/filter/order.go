package filter

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tessera-dev/tessera/services/platform/errs"
)

// Order is a parsed order_by: one field, ascending or descending, with the row ID as
// the tie-breaker so that pages never overlap or skip rows.
type Order struct {
	Field string
	Desc  bool
	col   string
	cast  string
}

// ParseOrder reads "field" or "field desc" against the sortable fields of s (Text
// and Time fields, and Exact ones marked Sortable); "" orders by ID.
func (s Schema) ParseOrder(orderBy string) (Order, error) {
	parts := strings.Fields(orderBy)
	if len(parts) == 0 {
		return Order{}, nil
	}
	if len(parts) > 2 || (len(parts) == 2 && parts[1] != "desc" && parts[1] != "asc") {
		return Order{}, errs.Invalid("order_by", `is one field, optionally followed by "desc"`)
	}
	f, ok := s[parts[0]]
	sortable := f.Kind == Text || f.Kind == Time || (f.Kind == Exact && f.Sortable && f.Match == nil)
	if !ok || !sortable {
		return Order{}, errs.Invalid("order_by", "cannot order by %q", parts[0])
	}
	o := Order{Field: parts[0], Desc: len(parts) == 2 && parts[1] == "desc", col: f.Column, cast: "text"}
	if f.Kind == Time {
		o.cast = "timestamptz"
	}
	return o, nil
}

// Cursor is where a page ends: the last row's sort key and ID.
type Cursor struct {
	Key string `json:"k,omitempty"`
	ID  string `json:"id"`
	// Query fingerprints the filter and order a token belongs to.
	Query string `json:"q"`
}

// Encode makes the opaque page token.
func (c Cursor) Encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor reads a page token issued for the same query.
func DecodeCursor(token, query string) (*Cursor, error) {
	if token == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	var c Cursor
	if err != nil || json.Unmarshal(b, &c) != nil || c.ID == "" {
		return nil, errs.Invalid("page_token", "is not a token this service issued")
	}
	if c.Query != query {
		return nil, errs.Invalid("page_token", "belongs to another filter or order")
	}
	return &c, nil
}

// SortKey is the SQL expression whose text a cursor keeps.
func (o Order) SortKey(idCol string) string {
	if o.col == "" {
		return idCol
	}
	return o.col + "::text"
}

// SQL returns the ORDER BY clause and, for a cursor, the condition that starts the
// page after it (parameters numbered from $first).
func (o Order) SQL(idCol string, c *Cursor, first int) (orderBy, after string, args []any) {
	dir, cmp := "ASC", ">"
	if o.Desc {
		dir, cmp = "DESC", "<"
	}
	if o.col == "" {
		orderBy = fmt.Sprintf("%s %s", idCol, dir)
		if c != nil {
			return orderBy, fmt.Sprintf("%s %s $%d", idCol, cmp, first), []any{c.ID}
		}
		return orderBy, "TRUE", nil
	}
	orderBy = fmt.Sprintf("%s %s, %s %s", o.col, dir, idCol, dir)
	if c != nil {
		return orderBy, fmt.Sprintf("(%s, %s) %s ($%d::%s, $%d)", o.col, idCol, cmp, first, o.cast, first+1), []any{c.Key, c.ID}
	}
	return orderBy, "TRUE", nil
}
