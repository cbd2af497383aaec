package coalesce_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/platform/coalesce"
)

// Callers arriving while a read is in flight share the next read, never the one in
// flight: every answer reflects a version written before the caller asked.
func TestCallersShareOnlyReadsThatBeganAfterThem(t *testing.T) {
	var g coalesce.Group[string, int64]
	var version, reads atomic.Int64
	read := func() (int64, error) {
		reads.Add(1)
		v := version.Load()
		time.Sleep(5 * time.Millisecond)
		return v, nil
	}
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			for range 20 {
				written := version.Add(1) // the caller's own write, just before it reads
				got, err := g.Do(t.Context(), "k", read)
				if !assert.NoError(t, err) { //nolint:testifylint // require cannot stop the test from another goroutine
					return
				}
				assert.GreaterOrEqual(t, got, written, "a read began before the caller's write")
			}
		})
	}
	wg.Wait()
	require.Less(t, reads.Load(), int64(1000), "concurrent callers shared reads")
}

func TestErrorsAndKeysAreSeparate(t *testing.T) {
	var g coalesce.Group[string, string]
	boom := errors.New("boom")
	_, err := g.Do(t.Context(), "a", func() (string, error) { return "", boom })
	require.ErrorIs(t, err, boom)
	v, err := g.Do(t.Context(), "b", func() (string, error) { return "b", nil })
	require.NoError(t, err)
	require.Equal(t, "b", v)
}

// A waiting caller that gives up gets its context's error; the shared read goes on
// for the others.
func TestWaitingCallerMayGiveUp(t *testing.T) {
	var g coalesce.Group[string, int]
	release := make(chan struct{})
	first := make(chan struct{})
	go func() {
		_, _ = g.Do(context.Background(), "k", func() (int, error) { close(first); <-release; return 1, nil })
	}()
	<-first
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		_, err := g.Do(ctx, "k", func() (int, error) { return 2, nil })
		errc <- err
	}()
	time.Sleep(10 * time.Millisecond)
	cancel()
	require.ErrorIs(t, <-errc, context.Canceled)
	close(release)
	require.Eventually(t, func() bool {
		v, err := g.Do(t.Context(), "k", func() (int, error) { return 3, nil })
		return err == nil && v >= 2
	}, time.Second, 5*time.Millisecond)
}
