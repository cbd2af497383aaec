package names

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/platform/errs"
)

func TestID(t *testing.T) {
	id, err := ID("name", "lineItems/ACT-1", "lineItems")
	require.NoError(t, err)
	require.Equal(t, "ACT-1", id)
	for _, bad := range []string{"", "lineItems/", "lineItems/a/b", "products/x", "ACT-1"} {
		_, err := ID("name", bad, "lineItems")
		require.True(t, errs.IsKind(err, errs.KindInvalid), bad)
	}
	id, err = OptionalID("x", "", "products")
	require.NoError(t, err)
	require.Empty(t, id)
}

func FuzzID(f *testing.F) {
	f.Add("accounts/A")
	f.Add("accounts//")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ID("f", s, "accounts")
		if err == nil && (id == "" || "accounts/"+id != s) {
			t.Fatalf("%q gave id %q", s, id)
		}
	})
}
