package quantity_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/quantity"
)

func TestCheckBoundsBothEnds(t *testing.T) {
	for _, tc := range []struct {
		n, min int64
		ok     bool
	}{
		{0, 0, true},
		{0, 1, false},
		{1, 1, true},
		{quantity.Max, 1, true},
		{quantity.Max + 1, 1, false},
		{math.MaxInt64, 0, false},
		{math.MinInt64, 0, false},
		{-1, 0, false},
	} {
		var v errs.Violations
		quantity.Check(&v, "quantity", tc.n, tc.min)
		if tc.ok {
			require.NoError(t, v.Err(), "%d", tc.n)
			continue
		}
		e, ok := errs.As(v.Err())
		require.True(t, ok, "%d", tc.n)
		require.Equal(t, "quantity", e.Violations[0].Field)
	}
}
