package filter

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/platform/errs"
)

// FuzzDecodeCursor: any page token either decodes to the cursor of its own query
// (with an ID) or is an invalid page_token; encoding a decoded cursor gives it back.
func FuzzDecodeCursor(f *testing.F) {
	f.Add(Cursor{Key: "2026-01-01", ID: "ACT-1", Query: "q"}.Encode(), "q")
	f.Add(Cursor{ID: "x", Query: "other"}.Encode(), "q")
	f.Add("!!", "q")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, token, query string) {
		c, err := DecodeCursor(token, query)
		if err != nil {
			require.True(t, errs.IsKind(err, errs.KindInvalid), "%v", err)
			return
		}
		if token == "" {
			require.Nil(t, c)
			return
		}
		require.NotEmpty(t, c.ID)
		require.Equal(t, query, c.Query)
		again, err := DecodeCursor(c.Encode(), query)
		require.NoError(t, err)
		require.Equal(t, c, again)
	})
}
