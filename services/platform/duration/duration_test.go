package duration

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	good := map[string]Duration{
		"3Y 4M 3d 9h 6m": {3, 4, 3, 9, 6},
		"30d":            {Days: 30},
		"1m":             {Minutes: 1},
		"  6m  2h ":      {Hours: 2, Minutes: 6},
		"0Y 1M":          {Months: 1},
	}
	for in, want := range good {
		got, err := Parse(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "   ", "3y", "3D", "3H", "5", "d", "1d 2d", "-1d", "+1d", "1.5h", "1d2h", "3 Y", "99999999999Y", "1001Y", "１d"} {
		_, err := Parse(bad)
		require.ErrorIs(t, err, ErrSyntax, "%q", bad)
	}
}

func TestAfterIsCalendarAware(t *testing.T) {
	start := time.Date(2026, 1, 31, 10, 0, 0, 0, time.UTC)
	d, err := Parse("1M 2h 5m")
	require.NoError(t, err)
	require.Equal(t, time.Date(2026, 3, 3, 12, 5, 0, 0, time.UTC), d.After(start), "Jan 31 + 1 month normalises like time.AddDate")
	d, _ = Parse("3Y 4M 3d 9h 6m")
	require.Equal(t, time.Date(2029, 6, 3, 19, 6, 0, 0, time.UTC), d.After(start))
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"3Y 4M 3d 9h 6m", "1m", "1d 1d", "", "9999999999999999999m", "0m"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := Parse(s)
		if err != nil {
			return
		}
		if d.Years < 0 || d.Months < 0 || d.Days < 0 || d.Hours < 0 || d.Minutes < 0 {
			t.Fatalf("%q gave a negative duration %+v", s, d)
		}
		again, err := Parse(d.String())
		if err != nil || again != d {
			t.Fatalf("%q → %+v → %q → %+v (%v)", s, d, d.String(), again, err)
		}
		_ = d.After(time.Now()) // must not panic
	})
}

func TestTermEnd(t *testing.T) {
	start := time.Date(2026, 1, 31, 12, 0, 0, 0, time.UTC)
	end := TermEnd("1M 1d", start)
	if end == nil || !end.Equal(time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)) {
		t.Fatalf("1M 1d after %v = %v", start, end)
	}
	if TermEnd("", start) != nil || TermEnd("soon", start) != nil {
		t.Fatal("no term, no end")
	}
}
