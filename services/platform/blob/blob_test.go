package blob

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLocalPutOpen(t *testing.T) {
	s, err := NewLocal(t.TempDir())
	require.NoError(t, err)
	data := make([]byte, 100_000)
	_, _ = rand.Read(data)
	obj, err := s.Put(t.Context(), bytes.NewReader(data))
	require.NoError(t, err)
	sum := sha256.Sum256(data)
	require.Equal(t, hex.EncodeToString(sum[:]), obj.SHA256)
	require.EqualValues(t, len(data), obj.Size)

	again, err := s.Put(t.Context(), bytes.NewReader(data))
	require.NoError(t, err)
	require.Equal(t, obj.Key, again.Key, "equal content is stored once")

	for _, r := range []struct{ off, n int64 }{{0, 0}, {10, 90}, {99_990, 0}, {99_990, 50}} {
		rc, err := s.Open(t.Context(), obj.Key, r.off, r.n)
		require.NoError(t, err)
		got, err := io.ReadAll(rc)
		require.NoError(t, rc.Close())
		require.NoError(t, err)
		end := int64(len(data))
		if r.n > 0 {
			end = min(r.off+r.n, end)
		}
		require.Equal(t, data[r.off:end], got)
	}
	_, err = s.Open(t.Context(), "../../etc/passwd", 0, 0)
	require.Error(t, err)
	_, err = s.Open(t.Context(), hex.EncodeToString(make([]byte, 32)), 0, 0)
	require.ErrorIs(t, err, ErrNotFound)
}
