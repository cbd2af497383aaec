// Package filter reads the list filters of every Tessera list endpoint (SPEC PLT-2),
// a small subset of AIP-160, and turns them into SQL with bound parameters only:
//
//	name:"acme"                   contains (case-insensitive)
//	name = "Acme Corp"            equals
//	name = "Acme*"  name = "*Corp" starts with, ends with
//	create_time > "2026-01-01"    after (also <, >=, <=); create_time = "2026-01-01": on that day
//	type = CUSTOMER AND attributes.region = "EMEA"
//
// Conditions are joined with AND (advanced search); one condition is the simple
// search. Values are literal: % and _ never act as SQL wildcards.
package filter

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// Op is a comparison.
type Op string

// Operators.
const (
	OpEquals     Op = "="
	OpNotEquals  Op = "!="
	OpContains   Op = ":"
	OpStartsWith Op = "starts_with"
	OpEndsWith   Op = "ends_with"
	OpLess       Op = "<"
	OpLessEq     Op = "<="
	OpGreater    Op = ">"
	OpGreaterEq  Op = ">="
)

// Condition is one comparison of a field with a literal value.
type Condition struct {
	Field string
	Op    Op
	Value string
}

// ErrSyntax is returned for filters that do not parse.
var ErrSyntax = errors.New("filter syntax")

// MaxConditions bounds a filter's size.
const MaxConditions = 20

// Parse reads a filter; the empty filter has no conditions.
func Parse(s string) ([]Condition, error) {
	toks, err := tokenize(s)
	if err != nil {
		return nil, err
	}
	var out []Condition
	for i := 0; i < len(toks); {
		if len(out) > 0 {
			if toks[i].kind != tokWord || toks[i].text != "AND" {
				return nil, fmt.Errorf("%w: expected AND before %q", ErrSyntax, toks[i].text)
			}
			i++
		}
		if i+2 >= len(toks) {
			return nil, fmt.Errorf("%w: a condition is field, operator, value", ErrSyntax)
		}
		field, op, val := toks[i], toks[i+1], toks[i+2]
		if field.kind != tokWord || !validField(field.text) {
			return nil, fmt.Errorf("%w: %q is not a field name", ErrSyntax, field.text)
		}
		if op.kind != tokOp {
			return nil, fmt.Errorf("%w: expected an operator after %s", ErrSyntax, field.text)
		}
		if val.kind != tokWord && val.kind != tokString {
			return nil, fmt.Errorf("%w: expected a value after %s %s", ErrSyntax, field.text, op.text)
		}
		c := Condition{Field: field.text, Op: Op(op.text), Value: val.text}
		if c.Op == OpEquals {
			switch {
			case len(c.Value) > 1 && strings.HasSuffix(c.Value, "*") && !strings.HasPrefix(c.Value, "*"):
				c.Op, c.Value = OpStartsWith, strings.TrimSuffix(c.Value, "*")
			case len(c.Value) > 1 && strings.HasPrefix(c.Value, "*") && !strings.HasSuffix(c.Value, "*"):
				c.Op, c.Value = OpEndsWith, strings.TrimPrefix(c.Value, "*")
			}
		}
		out = append(out, c)
		if len(out) > MaxConditions {
			return nil, fmt.Errorf("%w: more than %d conditions", ErrSyntax, MaxConditions)
		}
		i += 3
	}
	return out, nil
}

func validField(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i, r := range s {
		letter := r < 128 && unicode.IsLetter(r)
		if i == 0 && !letter {
			return false
		}
		if !letter && r != '_' && r != '.' && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

type tokKind int

const (
	tokWord tokKind = iota
	tokString
	tokOp
)

type token struct {
	kind tokKind
	text string
}

func tokenize(s string) ([]token, error) {
	var out []token
	rs := []rune(s)
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case unicode.IsSpace(r):
			i++
		case r == '"':
			var b strings.Builder
			i++
			closed := false
			for i < len(rs) {
				if rs[i] == '\\' && i+1 < len(rs) {
					b.WriteRune(rs[i+1])
					i += 2
					continue
				}
				if rs[i] == '"' {
					closed = true
					i++
					break
				}
				b.WriteRune(rs[i])
				i++
			}
			if !closed {
				return nil, fmt.Errorf("%w: unterminated string", ErrSyntax)
			}
			out = append(out, token{tokString, b.String()})
		case strings.ContainsRune("=!<>:", r):
			op := string(r)
			if i+1 < len(rs) && rs[i+1] == '=' && r != '=' && r != ':' {
				op += "="
				i++
			}
			if op == "!" {
				return nil, fmt.Errorf("%w: '!' must be '!='", ErrSyntax)
			}
			out = append(out, token{tokOp, op})
			i++
		default:
			start := i
			for i < len(rs) && !unicode.IsSpace(rs[i]) && !strings.ContainsRune("=!<>:\"", rs[i]) {
				i++
			}
			out = append(out, token{tokWord, string(rs[start:i])})
		}
	}
	return out, nil
}
