package gateway

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseRange(t *testing.T) {
	cases := []struct {
		in      string
		want    ByteRange
		partial bool
		bad     bool
	}{
		{in: "", partial: false},
		{in: "bytes=0-99", want: ByteRange{0, 100}, partial: true},
		{in: "bytes=100-", want: ByteRange{Offset: 100}, partial: true},
		{in: "bytes=-500", partial: false},
		{in: "bytes=0-1,5-6", partial: false},
		{in: "items=0-1", partial: false},
		{in: "bytes=9-3", bad: true},
		{in: "bytes=x-3", bad: true},
		{in: "bytes=-1-3", partial: false},
	}
	for _, c := range cases {
		got, partial, err := ParseRange(c.in)
		if c.bad {
			require.Error(t, err, c.in)
			continue
		}
		require.NoError(t, err, c.in)
		require.Equal(t, c.partial, partial, c.in)
		if partial {
			require.Equal(t, c.want, got, c.in)
		}
	}
}

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"bytes=0-1", "bytes=5-", "bytes=-3", "bytes=1-0", "bytes=,", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, partial, err := ParseRange(s)
		if err != nil || !partial {
			return
		}
		if r.Offset < 0 || r.Length < 0 {
			t.Fatalf("%q gave a negative range %+v", s, r)
		}
	})
}
