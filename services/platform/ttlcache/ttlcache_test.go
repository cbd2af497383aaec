package ttlcache

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCache(t *testing.T) {
	c := New[string, int](50 * time.Millisecond)
	loads := 0
	load := func() (int, error) { loads++; return loads, nil }
	v, err := c.GetOr("a", load)
	require.NoError(t, err)
	require.Equal(t, 1, v)
	v, _ = c.GetOr("a", load)
	require.Equal(t, 1, v, "served from the cache")
	c.Delete("a")
	v, _ = c.GetOr("a", load)
	require.Equal(t, 2, v, "deleted: loaded again")
	time.Sleep(60 * time.Millisecond)
	_, ok := c.Get("a")
	require.False(t, ok, "expired")
	_, err = c.GetOr("b", func() (int, error) { return 0, errors.New("down") })
	require.Error(t, err)
	_, ok = c.Get("b")
	require.False(t, ok, "errors are not cached")
}
