package filter

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/services/platform/errs"
)

// Order is a parsed order_by: one field, ascending or descending, with the row ID as
// the tie-breaker so that pages never overlap or skip rows.
type Order struct {
	Field string
	Desc  bool
	col   string
	cast  string
	kind  Kind
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
	o := Order{Field: parts[0], Desc: len(parts) == 2 && parts[1] == "desc", col: f.Column, cast: "text", kind: f.Kind}
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

// errForgedToken answers a page token no list of this service could have issued.
func errForgedToken() error {
	return errs.Invalid("page_token", "is not a token this service issued")
}

// DecodeCursor reads a page token issued for the same query. Tokens are not signed,
// so what they carry is checked before it reaches SQL: no value may hold a NUL or
// another control character (the sort key may hold the line breaks and tabs that
// multi-line fields keep), and invalid UTF-8 never survives the JSON decoding.
func DecodeCursor(token, query string) (*Cursor, error) {
	if token == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	var c Cursor
	if err != nil || json.Unmarshal(b, &c) != nil || c.ID == "" {
		return nil, errForgedToken()
	}
	if !cursorText(c.Key, true) || !PlainText(c.ID) || !PlainText(c.Query) {
		return nil, errForgedToken()
	}
	if c.Query != query {
		return nil, errs.Invalid("page_token", "belongs to another filter or order")
	}
	return &c, nil
}

// PlainText reports whether s is valid UTF-8 without control characters: what a
// page token's IDs must be before they reach SQL (services with cursors of their own
// check them with it too).
func PlainText(s string) bool { return cursorText(s, false) }

// cursorText reports whether s is valid UTF-8 without control characters (but for
// line breaks and tabs, when multiLine).
func cursorText(s string, multiLine bool) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) && (!multiLine || (r != '\n' && r != '\r' && r != '\t')) {
			return false
		}
	}
	return true
}

// IDType is the SQL type of a list's ID column; a cursor's ID must parse as it.
type IDType int

// ID column types.
const (
	IDText   IDType = iota // any text
	IDUUID                 // a uuid, as Postgres prints it
	IDBigint               // a bigint
)

// validID reports whether id is a value of the column type t.
func (t IDType) validID(id string) bool {
	switch t {
	case IDUUID:
		u, err := uuid.Parse(id)
		return err == nil && u.String() == id
	case IDBigint:
		n, err := strconv.ParseInt(id, 10, 64)
		return err == nil && strconv.FormatInt(n, 10) == id
	}
	return true
}

// pgTimeLayouts are how Postgres prints a timestamptz cast to text (DateStyle ISO,
// with an hour, minute or second offset; fractional seconds are read when present);
// RFC 3339 is accepted too.
var pgTimeLayouts = []string{"2006-01-02 15:04:05-07", "2006-01-02 15:04:05-07:00", "2006-01-02 15:04:05-07:00:00", time.RFC3339Nano}

// keyArg is the parameter a cursor's sort key binds as, and whether the key is a value
// the order's column could have printed: a time for Time fields (bound parsed, so
// Postgres never reads the token's text); any text otherwise (they compare as text).
func (o Order) keyArg(key string) (any, bool) {
	if o.col == "" || o.kind != Time {
		return key, true
	}
	for _, layout := range pgTimeLayouts {
		if t, err := time.Parse(layout, key); err == nil {
			return t, true
		}
	}
	return nil, false
}

// Check refuses a cursor whose sort key or ID the SQL of this order would fail on,
// as an invalid page_token rather than a database error.
func (o Order) Check(c *Cursor, idType IDType) error {
	if c == nil {
		return nil
	}
	if _, ok := o.keyArg(c.Key); !ok || !idType.validID(c.ID) {
		return errForgedToken()
	}
	return nil
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
		key, _ := o.keyArg(c.Key) // Plan has checked it
		return orderBy, fmt.Sprintf("(%s, %s) %s ($%d::%s, $%d)", o.col, idCol, cmp, first, o.cast, first+1), []any{key, c.ID}
	}
	return orderBy, "TRUE", nil
}
