// Package duration reads calendar durations written like "3Y 4M 3d 9h 6m": Y years,
// M months, d days, h hours, m minutes (case-sensitive), each unit at most once, in
// any order, separated by spaces. Token lifetimes and entitlement terms use it.
package duration

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Duration is a calendar duration: years and months vary in length, so it is applied
// to a point in time rather than converted to a fixed number of seconds.
type Duration struct {
	Years, Months, Days, Hours, Minutes int
}

// ErrSyntax is returned for text that is not a duration.
var ErrSyntax = errors.New("not a duration like 3Y 4M 3d 9h 6m")

// limits keep every duration well inside time.Time's range.
var limits = map[byte]int{'Y': 1000, 'M': 12_000, 'd': 365_000, 'h': 8_760_000, 'm': 525_600_000}

// Parse reads a duration.
func Parse(s string) (Duration, error) {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return Duration{}, ErrSyntax
	}
	var d Duration
	seen := map[byte]bool{}
	for _, f := range fields {
		if len(f) < 2 {
			return Duration{}, fmt.Errorf("%w: %q", ErrSyntax, f)
		}
		unit := f[len(f)-1]
		digits := f[:len(f)-1]
		limit, ok := limits[unit]
		if !ok {
			return Duration{}, fmt.Errorf("%w: unknown unit %q in %q (use Y, M, d, h, m)", ErrSyntax, string(unit), f)
		}
		if seen[unit] {
			return Duration{}, fmt.Errorf("%w: unit %q given twice", ErrSyntax, string(unit))
		}
		seen[unit] = true
		for _, c := range digits {
			if c < '0' || c > '9' {
				return Duration{}, fmt.Errorf("%w: %q is not a whole number of %s", ErrSyntax, digits, string(unit))
			}
		}
		n, err := strconv.Atoi(digits)
		if err != nil || n > limit {
			return Duration{}, fmt.Errorf("%w: %q is too large", ErrSyntax, f)
		}
		switch unit {
		case 'Y':
			d.Years = n
		case 'M':
			d.Months = n
		case 'd':
			d.Days = n
		case 'h':
			d.Hours = n
		case 'm':
			d.Minutes = n
		}
	}
	return d, nil
}

// After returns t moved forward by d.
func (d Duration) After(t time.Time) time.Time {
	return t.AddDate(d.Years, d.Months, d.Days).Add(time.Duration(d.Hours)*time.Hour + time.Duration(d.Minutes)*time.Minute)
}

// TermEnd is when a term written like "1Y" or "6M 15d" that starts at start ends;
// nil for no term (or text that is not one, which callers have refused already).
func TermEnd(term string, start time.Time) *time.Time {
	if term == "" {
		return nil
	}
	d, err := Parse(term)
	if err != nil {
		return nil
	}
	end := d.After(start)
	return &end
}

// String renders d in the canonical order, leaving out zero units.
func (d Duration) String() string {
	var parts []string
	for _, p := range []struct {
		n    int
		unit string
	}{{d.Years, "Y"}, {d.Months, "M"}, {d.Days, "d"}, {d.Hours, "h"}, {d.Minutes, "m"}} {
		if p.n != 0 {
			parts = append(parts, strconv.Itoa(p.n)+p.unit)
		}
	}
	if len(parts) == 0 {
		return "0m"
	}
	return strings.Join(parts, " ")
}
