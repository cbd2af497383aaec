package app

import (
	"net/mail"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseEmailList_ACC14(t *testing.T) {
	valid, bad := ParseEmailList(" Bob@Acme.example; carol@acme.example;;bob@acme.example ; not-an-email; Dave <d@x.example>")
	require.Equal(t, []string{"bob@acme.example", "carol@acme.example"}, valid)
	require.Equal(t, []string{"not-an-email", "dave <d@x.example>"}, bad, "names with addresses are not plain addresses")
	valid, bad = ParseEmailList(" ; ")
	require.Empty(t, valid)
	require.Empty(t, bad)
}

func FuzzParseEmailList(f *testing.F) {
	for _, s := range []string{"a@b.example;c@d.example", "x", ";;", "A@B.example; a@b.example", "\"q;q\"@x.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, list string) {
		valid, bad := ParseEmailList(list)
		require.LessOrEqual(t, len(valid)+len(bad), strings.Count(list, ";")+1)
		for i, e := range valid {
			addr, err := mail.ParseAddress(e)
			require.NoError(t, err)
			require.Equal(t, e, addr.Address, "valid entries are plain addresses")
			require.Equal(t, strings.ToLower(e), e)
			require.NotContains(t, valid[:i], e, "no duplicates")
		}
		for _, e := range bad {
			require.NotEmpty(t, e)
			require.False(t, slices.Contains(valid, e))
		}
	})
}
