package filter

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tessera-dev/tessera/services/platform/errs"
)

// Kind is how a field compares.
type Kind int

// Field kinds.
const (
	Text  Kind = iota // free text: every operator, case-insensitive
	Exact             // identifiers and enums: =, != only, exact
	Time              // timestamps: dates or RFC 3339 times, ordering operators
	Bool              // true or false
	Attrs             // a jsonb map column; the filter names attributes.<key>
)

// Field maps a filter field to a SQL column.
type Field struct {
	Column string
	Kind   Kind
	// Values, for Exact fields, maps the accepted filter values to stored values
	// (e.g. CUSTOMER → customer); nil accepts any value as given.
	Values map[string]string
	// Collection, for a field that refers to another resource by ID, is that
	// resource's collection ("accounts"): the filter then takes the resource name the
	// API answers with (account = "accounts/ACME") as well as the bare ID.
	Collection string
	// Match, for an Exact field that no single column holds, renders the condition
	// "the field equals the value bound as param" (e.g. a device's account: its owner
	// or the holder of seats on it); != negates it.
	Match func(param string) string
	// Sortable lets order_by name an Exact field (its stored values sort as text).
	Sortable bool
}

// Schema lists the fields one resource can be filtered on.
type Schema map[string]Field

// SQL turns conditions into a WHERE fragment ("TRUE" for none) whose values are
// bound parameters numbered from $first. Bad fields, operators or values are
// InvalidArgument errors naming the filter.
func (s Schema) SQL(conds []Condition, first int) (string, []any, error) {
	if len(conds) == 0 {
		return "TRUE", nil, nil
	}
	var parts []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", first+len(args)-1)
	}
	for _, c := range conds {
		name, key, isAttr := strings.Cut(c.Field, ".")
		f, ok := s[name]
		if !ok || isAttr != (f.Kind == Attrs) {
			return "", nil, errs.Invalid("filter", "cannot filter on %q (fields: %s)", c.Field, strings.Join(s.names(), ", "))
		}
		col := f.Column
		if f.Collection != "" {
			c.Value = strings.TrimPrefix(c.Value, f.Collection+"/")
		}
		switch f.Kind {
		case Attrs:
			if key == "" {
				return "", nil, errs.Invalid("filter", "name an attribute: %s.<key>", name)
			}
			col = fmt.Sprintf("(%s ->> %s)", f.Column, arg(key))
			fallthrough
		case Text:
			part, err := textCondition(col, c, arg)
			if err != nil {
				return "", nil, err
			}
			parts = append(parts, part)
		case Exact, Bool:
			v := c.Value
			if f.Kind == Bool {
				if v != "true" && v != "false" {
					return "", nil, errs.Invalid("filter", "%s is true or false", c.Field)
				}
			} else if f.Values != nil {
				mapped, ok := f.Values[strings.ToUpper(v)]
				if !ok {
					return "", nil, errs.Invalid("filter", "%s is one of %s", c.Field, strings.Join(keys(f.Values), ", "))
				}
				v = mapped
			}
			switch {
			case f.Match != nil && c.Op == OpEquals:
				parts = append(parts, "("+f.Match(arg(v))+")")
			case f.Match != nil && c.Op == OpNotEquals:
				parts = append(parts, "NOT ("+f.Match(arg(v))+")")
			case c.Op == OpEquals:
				parts = append(parts, fmt.Sprintf("%s = %s", col, arg(v)))
			case c.Op == OpNotEquals:
				parts = append(parts, fmt.Sprintf("%s <> %s", col, arg(v)))
			default:
				return "", nil, errs.Invalid("filter", "%s compares with = or != only", c.Field)
			}
		case Time:
			part, err := timeCondition(col, c, arg)
			if err != nil {
				return "", nil, err
			}
			parts = append(parts, part)
		}
	}
	return strings.Join(parts, " AND "), args, nil
}

// escapeLike makes a value literal inside LIKE: % _ and \ match only themselves.
func escapeLike(v string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(v)
}

func textCondition(col string, c Condition, arg func(any) string) (string, error) {
	switch c.Op {
	case OpEquals:
		return fmt.Sprintf("lower(%s) = lower(%s)", col, arg(c.Value)), nil
	case OpNotEquals:
		return fmt.Sprintf("lower(%s) IS DISTINCT FROM lower(%s)", col, arg(c.Value)), nil
	case OpContains:
		return fmt.Sprintf(`%s ILIKE %s ESCAPE '\'`, col, arg("%"+escapeLike(c.Value)+"%")), nil
	case OpStartsWith:
		// lower() LIKE rather than ILIKE: the same match, and an index on lower(col)
		// (text_pattern_ops) can serve a prefix.
		return fmt.Sprintf(`lower(%s) LIKE lower(%s) ESCAPE '\'`, col, arg(escapeLike(c.Value)+"%")), nil
	case OpEndsWith:
		return fmt.Sprintf(`%s ILIKE %s ESCAPE '\'`, col, arg("%"+escapeLike(c.Value))), nil
	}
	return "", errs.Invalid("filter", "%s compares with =, !=, : (contains), or = with a leading or trailing *", c.Field)
}

func timeCondition(col string, c Condition, arg func(any) string) (string, error) {
	t, dayOnly, err := parseTime(c.Value)
	if err != nil {
		return "", errs.Invalid("filter", "%s needs a date (2026-01-31) or an RFC 3339 time", c.Field)
	}
	if dayOnly && c.Op == OpEquals { // "on" that day
		return fmt.Sprintf("(%s >= %s AND %s < %s)", col, arg(t), col, arg(t.AddDate(0, 0, 1))), nil
	}
	sqlOp := map[Op]string{OpLess: "<", OpLessEq: "<=", OpGreater: ">", OpGreaterEq: ">=", OpEquals: "=", OpNotEquals: "<>"}[c.Op]
	if sqlOp == "" {
		return "", errs.Invalid("filter", "%s compares with <, <=, >, >=, = or !=", c.Field)
	}
	if dayOnly && (c.Op == OpGreater || c.Op == OpLessEq) {
		t = t.AddDate(0, 0, 1) // after a day means from the next one on
		sqlOp = map[Op]string{OpGreater: ">=", OpLessEq: "<"}[c.Op]
	}
	return fmt.Sprintf("%s %s %s", col, sqlOp, arg(t)), nil
}

func parseTime(v string) (time.Time, bool, error) {
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, true, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	return t, false, err
}

func (s Schema) names() []string {
	out := make([]string, 0, len(s))
	for k, f := range s {
		if f.Kind == Attrs {
			k += ".<key>"
		}
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
