package seats_test

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	entitlementpb "github.com/tessera-dev/tessera/gen/tessera/entitlement/v1"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/seats"
)

func (f *fixture) batch(ids ...string) *entitlementpb.BatchReserveSeatsRequest {
	req := &entitlementpb.BatchReserveSeatsRequest{}
	for _, id := range ids {
		req.Reservations = append(req.Reservations, &entitlementpb.ReserveSeatsRequest{ReservationId: id, ActivationId: f.seed.ActivationID, Quantity: 1, Holder: "test"})
	}
	return req
}

func newIDs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = uuid.NewString()
	}
	return out
}

// A batch is served in its order, each entry as ReserveSeats would answer it alone:
// 15 one-seat reservations on 10 seats give the first 10 their seats and refuse the
// last 5 with QUANTITY_EXCEEDED, which hold nothing and leave no row behind
// (SPEC ENT-5).
func TestBatchReserveServesInOrderAndRefusesTheRest_ENT5(t *testing.T) {
	f := setup(t, 10)
	ids := newIDs(15)
	res, err := f.ent.BatchReserveSeats(f.ctx, f.batch(ids...))
	require.NoError(t, err)
	require.Len(t, res.GetOutcomes(), 15)
	for i, o := range res.GetOutcomes() {
		if i < 10 {
			require.Nil(t, o.GetError(), "entry %d", i)
			require.Equal(t, ids[i], o.GetReservation().GetReservationId())
			require.Equal(t, entitlementpb.ReservationState_RESERVATION_STATE_RESERVED, o.GetReservation().GetState())
			require.Equal(t, "accounts/"+f.seed.AccountID, o.GetReservation().GetAccount())
			continue
		}
		require.Equal(t, int32(codes.FailedPrecondition), o.GetError().GetCode(), "entry %d", i)
		require.Equal(t, "QUANTITY_EXCEEDED", o.GetError().GetReason())
		require.Equal(t, "0", o.GetError().GetMetadata()["available"])
	}
	require.Zero(t, f.available(t))

	// A refused reservation left no row: once seats are free it can be made.
	_, err = f.ent.ReleaseSeats(f.ctx, &entitlementpb.ReleaseSeatsRequest{ReservationId: ids[0]})
	require.NoError(t, err)
	_, err = f.ent.ReserveSeats(f.ctx, &entitlementpb.ReserveSeatsRequest{ReservationId: ids[14], ActivationId: f.seed.ActivationID, Quantity: 1, Holder: "test"})
	require.NoError(t, err)
	require.Zero(t, f.available(t))
}

// Replaying a batch, or repeating an ID inside one, counts nothing twice; a
// released reservation is refused as such, and one reused with other parameters
// as a mismatch.
func TestBatchReserveReplaysCountOnce_ENT5(t *testing.T) {
	f := setup(t, 10)
	ids := newIDs(3)
	req := f.batch(ids[0], ids[1], ids[0], ids[2])
	for range 3 {
		res, err := f.ent.BatchReserveSeats(f.ctx, req)
		require.NoError(t, err)
		for i, o := range res.GetOutcomes() {
			require.Nil(t, o.GetError(), "entry %d", i)
		}
	}
	require.EqualValues(t, 7, f.available(t))

	_, err := f.ent.ReleaseSeats(f.ctx, &entitlementpb.ReleaseSeatsRequest{ReservationId: ids[1]})
	require.NoError(t, err)
	mismatch := f.batch(ids[2])
	mismatch.Reservations[0].Quantity = 2
	replay := f.batch(ids[1])
	replay.Reservations = append(replay.Reservations, mismatch.GetReservations()[0])
	res, err := f.ent.BatchReserveSeats(f.ctx, replay)
	require.NoError(t, err)
	require.Equal(t, "RESERVATION_RELEASED", res.GetOutcomes()[0].GetError().GetReason())
	require.Equal(t, "RESERVATION_MISMATCH", res.GetOutcomes()[1].GetError().GetReason())
	require.EqualValues(t, 8, f.available(t))
}

// Concurrent batches on one line item hand out exactly its seats (SPEC ENT-5).
func TestConcurrentBatchesNeverOversell_ENT5(t *testing.T) {
	f := setup(t, 20)
	var granted, refused atomic.Int64
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			res, err := f.ent.BatchReserveSeats(f.ctx, f.batch(newIDs(5)...))
			if !assert.NoError(t, err) { //nolint:testifylint // require cannot stop the test from another goroutine
				return
			}
			for _, o := range res.GetOutcomes() {
				if o.GetError() == nil {
					granted.Add(1)
				} else {
					refused.Add(1)
				}
			}
		})
	}
	wg.Wait()
	require.EqualValues(t, 20, granted.Load())
	require.EqualValues(t, 30, refused.Load())
	require.Zero(t, f.available(t))
}

// A malformed entry refuses the whole batch with the field named, and takes nothing.
func TestBatchReserveValidatesEveryEntry(t *testing.T) {
	f := setup(t, 10)
	_, err := f.ent.BatchReserveSeats(f.ctx, &entitlementpb.BatchReserveSeatsRequest{})
	require.Equal(t, codes.InvalidArgument, status.Code(err))
	req := f.batch(newIDs(3)...)
	req.Reservations[1].Replaces = uuid.NewString()
	req.Reservations[2].ReservationId = "not-a-uuid"
	_, err = f.ent.BatchReserveSeats(f.ctx, req)
	require.Equal(t, codes.InvalidArgument, status.Code(err))
	fields := map[string]bool{}
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields[v.GetField()] = true
			}
		}
	}
	require.True(t, fields["reservations[1].replaces"], "%v", fields)
	require.True(t, fields["reservations[2].reservation_id"], "%v", fields)
	require.EqualValues(t, 10, f.available(t))
}

// BeginMany answers each claim as Begin would: new claims hold their seats, a
// claim refused by the entitlement service is released at once, retried claims are
// recognised, and a crash before the commit gives every seat back.
func TestBeginManyClaimsTogether_ENT5(t *testing.T) {
	f := setup(t, 5)
	first := []seats.Claim{f.claim(2), f.claim(2), f.claim(2)}
	got := f.ledger.BeginMany(f.ctx, first)
	require.NoError(t, got[0])
	require.NoError(t, got[1])
	require.Equal(t, "QUANTITY_EXCEEDED", errs.Reason(got[2]))
	var state string
	require.NoError(t, f.pool.QueryRow(f.ctx, `SELECT state FROM seat_claims WHERE id = $1`, first[2].ID).Scan(&state))
	require.Equal(t, "released", state, "a refused claim is over")
	require.EqualValues(t, 1, f.available(t))

	other := first[0]
	other.Quantity = 1
	again := f.ledger.BeginMany(f.ctx, []seats.Claim{first[0], other, first[2]})
	require.NoError(t, again[0], "the same claim again is a retry")
	require.True(t, errs.IsKind(again[1], errs.KindInvalid), "%v", again[1])
	require.ErrorIs(t, again[2], seats.ErrClaimReleased)
	require.EqualValues(t, 1, f.available(t), "retries took nothing")

	// Nothing committed the claims: the reconciler gives their seats back.
	f.ledger.Grace = 0
	_, err := f.ledger.Reconcile(f.ctx)
	require.NoError(t, err)
	require.EqualValues(t, 5, f.available(t))
}

// More claims than one batch reservation takes are reserved in several calls, each
// counted once.
func TestBeginManyBeyondOneBatch_ENT5(t *testing.T) {
	f := setup(t, 1500)
	claims := make([]seats.Claim, 1200)
	for i := range claims {
		claims[i] = f.claim(1)
	}
	for i, err := range f.ledger.BeginMany(f.ctx, claims) {
		require.NoError(t, err, "claim %d", i)
	}
	require.EqualValues(t, 300, f.available(t))
}
