package app

import (
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/platform/errs"
)

// Page tokens of roles and administrators round-trip, and anything else is refused
// as an invalid page_token, never a panic or a half-read cursor.
func TestListCursors_PLT2(t *testing.T) {
	_, key, err := page(0, nextPage("c:role_1"))
	require.NoError(t, err)
	part, id, err := roleCursor(key)
	require.NoError(t, err)
	require.Equal(t, []string{"c", "role_1"}, []string{part, id})
	for _, bad := range []string{"x:role", "b:", "c", ":id"} {
		_, _, err := roleCursor(bad)
		require.True(t, errs.IsKind(err, errs.KindInvalid), "%q: %v", bad, err)
	}
	k, err := json.Marshal([]string{"ACME", "Abel", "A", "u1"})
	require.NoError(t, err)
	a, err := administratorCursor(string(k))
	require.NoError(t, err)
	require.Equal(t, Administrator{AccountID: "ACME", LastName: "Abel", FirstName: "A", UserID: "u1"}, *a)
	for _, bad := range []string{"[]", `["a","b","c"]`, `["","b","c","d"]`, "{}", "nope", `["a","b","c",4]`} {
		_, err := administratorCursor(bad)
		require.True(t, errs.IsKind(err, errs.KindInvalid), "%q: %v", bad, err)
	}
	_, _, err = page(0, "!!")
	require.True(t, errs.IsKind(err, errs.KindInvalid))
}

func FuzzListCursors(f *testing.F) {
	for _, s := range []string{nextPage("b:customer_admin"), nextPage(`["A","B","C","D"]`), "", "!!", base64.RawURLEncoding.EncodeToString([]byte("c:"))} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		_, key, err := page(0, token)
		if err != nil {
			require.True(t, errs.IsKind(err, errs.KindInvalid))
			return
		}
		if part, id, err := roleCursor(key); err == nil && key != "" {
			require.Contains(t, []string{"b", "c"}, part)
			require.NotEmpty(t, id)
			require.Equal(t, key, part+":"+id)
		} else if err != nil {
			require.True(t, errs.IsKind(err, errs.KindInvalid))
		}
		if a, err := administratorCursor(key); err == nil && a != nil {
			require.NotEmpty(t, a.AccountID)
			require.NotEmpty(t, a.UserID)
		} else if err != nil {
			require.True(t, errs.IsKind(err, errs.KindInvalid))
		}
	})
}
