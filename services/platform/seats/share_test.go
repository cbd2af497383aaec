package seats_test

import (
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/seats"
)

// With Share set, concurrent BeginMany and ConfirmNow calls run in shared rounds,
// and each is answered as it would have been alone: 40 callers (some of them
// retrying another's claim at the same time, one sending a malformed claim) on 10
// seats get exactly 10 seats, the malformed claim is refused on its own, and the
// give-backs confirmed together free every seat once (SPEC ENT-5).
func TestSharedCallsAnswerEachAsAlone_ENT5(t *testing.T) {
	f := setup(t, 10)
	f.ledger.Share = true
	claims := make([]seats.Claim, 40)
	for i := range claims {
		claims[i] = f.claim(1)
	}
	malformed := f.claim(0)
	held := make([]bool, len(claims))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range claims {
		wg.Go(func() {
			out := f.ledger.BeginMany(f.ctx, []seats.Claim{claims[i]})
			mu.Lock()
			defer mu.Unlock()
			if out[0] == nil {
				held[i] = true
			} else {
				// A claim whose retry was refused first is over for both.
				released := i%4 == 0 && errs.Reason(out[0]) == "RESERVATION_RELEASED"
				require.True(t, released || errs.Reason(out[0]) == "QUANTITY_EXCEEDED", "claim %d: %v", i, out[0])
			}
		})
		if i%4 == 0 { // a retry of the same claim, concurrently
			wg.Go(func() { f.ledger.BeginMany(f.ctx, []seats.Claim{claims[i]}) })
		}
	}
	var bad error
	wg.Go(func() { bad = f.ledger.BeginMany(f.ctx, []seats.Claim{malformed})[0] })
	wg.Wait()
	require.Equal(t, codes.InvalidArgument, status.Code(bad), "the malformed claim is refused on its own: %v", bad)
	var got []uuid.UUID
	for i, ok := range held {
		if ok {
			got = append(got, claims[i].ID)
		}
	}
	require.Len(t, got, 10, "exactly the seats there are")
	require.Zero(t, f.available(t))

	// Use them, confirm them all at once, then give each back through a replacing
	// claim of zero seats, confirmed concurrently before each call returns.
	for _, id := range got {
		f.commit(t, id)
	}
	confirmAll := func(ids []uuid.UUID) {
		var wg sync.WaitGroup
		for _, id := range ids {
			wg.Go(func() { f.ledger.ConfirmNow(f.ctx, id) })
		}
		wg.Wait()
	}
	confirmAll(got)
	var backs []uuid.UUID
	for _, id := range got {
		back := seats.Claim{ID: uuid.New(), TenantID: f.seed.Tenant, ActivationID: f.seed.ActivationID, Replaces: &id}
		_, err := f.ledger.Begin(f.ctx, back)
		require.NoError(t, err)
		f.commit(t, back.ID)
		backs = append(backs, back.ID)
	}
	require.Zero(t, f.available(t), "nothing is free before the give-backs are confirmed")
	confirmAll(backs)
	require.EqualValues(t, 10, f.available(t))
	var open int
	require.NoError(t, f.pool.QueryRow(f.ctx, `SELECT count(*) FROM seat_claims WHERE id = ANY($1) AND state <> 'confirmed'`, append(got, backs...)).Scan(&open))
	require.Zero(t, open, "every claim is confirmed in the ledger")
}
