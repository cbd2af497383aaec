package seats_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	commonpb "github.com/tessera-dev/tessera/gen/tessera/common/v1"
	entitlementpb "github.com/tessera-dev/tessera/gen/tessera/entitlement/v1"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/pg"
	"github.com/tessera-dev/tessera/services/platform/seats"
	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

type fixture struct {
	env    *suitetest.Env
	seed   suitetest.Seeded
	ent    entitlementpb.EntitlementServiceClient
	ledger *seats.Ledger
	pool   *pgxpool.Pool
	ctx    context.Context
}

// setup runs the suite and builds a ledger over the license schema, as the license
// service does, so a test can stop it at any step as a crash would.
func setup(t *testing.T, quantity int64) *fixture {
	env := suitetest.Start(t)
	seed := env.SeedLineItem(t, "seats-co", quantity)
	pool, err := pg.Connect(t.Context(), env.DatabaseURL, "license", 4)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	ent := entitlementpb.NewEntitlementServiceClient(env.Dial(t, "entitlement"))
	service := &commonpb.Principal{
		Kind: commonpb.PrincipalKind_PRINCIPAL_KIND_SERVICE, TenantId: seed.Tenant, TenantWide: true, Service: "license",
		Permissions: []string{string(authz.SeatsReserve), string(authz.EntitlementsView)},
	}
	ctx := env.As(t, service)
	ledger := seats.NewLedger(pool, seats.Client{Ent: ent}, "license", slog.Default())
	return &fixture{env: env, seed: seed, ent: ent, ledger: ledger, pool: pool, ctx: ctx}
}

func (f *fixture) available(t *testing.T) int64 {
	t.Helper()
	li, err := f.ent.GetLineItem(f.ctx, &entitlementpb.GetLineItemRequest{Name: "lineItems/" + f.seed.ActivationID})
	require.NoError(t, err)
	return li.GetAvailable()
}

func (f *fixture) claim(quantity int64) seats.Claim {
	return seats.Claim{ID: uuid.New(), TenantID: f.seed.Tenant, ActivationID: f.seed.ActivationID, Quantity: quantity}
}

// commit moves a claim to committed in its own transaction, as a service's store does.
func (f *fixture) commit(t *testing.T, id uuid.UUID) {
	t.Helper()
	tx, err := f.pool.Begin(f.ctx)
	require.NoError(t, err)
	require.NoError(t, seats.Commit(f.ctx, tx, id))
	require.NoError(t, tx.Commit(f.ctx))
}

// A caller that reserved and died before committing loses nothing: the reconciler
// gives the seats back, and a retry of that request is told to start afresh.
func TestCrashBeforeCommitReleasesSeats(t *testing.T) {
	f := setup(t, 10)
	c := f.claim(4)
	_, err := f.ledger.Begin(f.ctx, c)
	require.NoError(t, err)
	require.EqualValues(t, 6, f.available(t))

	f.ledger.Grace = 0
	n, err := f.ledger.Reconcile(f.ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.EqualValues(t, 10, f.available(t))

	_, err = f.ledger.Begin(f.ctx, c)
	require.ErrorIs(t, err, seats.ErrClaimReleased)
	tx, err := f.pool.Begin(f.ctx)
	require.NoError(t, err)
	require.ErrorIs(t, seats.Commit(f.ctx, tx, c.ID), seats.ErrClaimReleased, "a late commit of a released claim fails")
	require.NoError(t, tx.Rollback(f.ctx))
	require.EqualValues(t, 10, f.available(t))
}

// A caller that committed and died before confirming keeps its seats: the
// reconciler confirms them.
func TestCrashAfterCommitConfirmsSeats(t *testing.T) {
	f := setup(t, 10)
	c := f.claim(3)
	_, err := f.ledger.Begin(f.ctx, c)
	require.NoError(t, err)
	f.commit(t, c.ID)

	f.ledger.Grace = 0
	n, err := f.ledger.Reconcile(f.ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.EqualValues(t, 7, f.available(t))
	r, err := f.ent.ConfirmSeats(f.ctx, &entitlementpb.ConfirmSeatsRequest{ReservationId: c.ID.String()})
	require.NoError(t, err)
	require.Equal(t, entitlementpb.ReservationState_RESERVATION_STATE_CONFIRMED, r.GetState())
	n, err = f.ledger.Reconcile(f.ctx)
	require.NoError(t, err)
	require.Zero(t, n, "nothing is left open")
}

// The reconciler and a committing caller race for a claim: the row lock decides,
// and the seats end up either used and held, or unused and free, never both.
func TestReleaseRacingCommitKeepsSeatsWithTheWinner(t *testing.T) {
	f := setup(t, 10)
	c := f.claim(2)
	_, err := f.ledger.Begin(f.ctx, c)
	require.NoError(t, err)

	tx, err := f.pool.Begin(f.ctx)
	require.NoError(t, err)
	require.NoError(t, seats.Commit(f.ctx, tx, c.ID)) // holds the claim's row lock
	f.ledger.Grace = 0
	done := make(chan error, 1)
	go func() {
		_, err := f.ledger.Reconcile(f.ctx) // sees "pending", waits for the lock
		done <- err
	}()
	require.NoError(t, tx.Commit(f.ctx))
	require.NoError(t, <-done)
	_, err = f.ledger.Reconcile(f.ctx)
	require.NoError(t, err)
	require.EqualValues(t, 8, f.available(t), "the committed claim keeps its seats")
}

// Concurrent reservations never hand out more seats than the line item has, and a
// reservation ID retried concurrently counts once.
// 50 concurrent reservations against 10 seats: exactly 10 are granted (SPEC ENT-5).
func TestConcurrentReservationsNeverOversell_ENT5(t *testing.T) {
	f := setup(t, 10)
	var wg sync.WaitGroup
	var mu sync.Mutex
	granted, refused := 0, 0
	for range 50 {
		wg.Go(func() {
			_, err := f.ent.ReserveSeats(f.ctx, &entitlementpb.ReserveSeatsRequest{
				ReservationId: uuid.NewString(), ActivationId: f.seed.ActivationID, Quantity: 1, Holder: "test",
			})
			mu.Lock()
			defer mu.Unlock()
			switch status.Code(err) {
			case codes.OK:
				granted++
			case codes.FailedPrecondition:
				refused++
			default:
				t.Errorf("unexpected error: %v", err)
			}
		})
	}
	wg.Wait()
	require.Equal(t, 10, granted)
	require.Equal(t, 40, refused)
	require.Zero(t, f.available(t))

	// Give two back, then retry one reservation ID from many goroutines.
	f2 := f.claim(2)
	_, err := f.ent.ReleaseSeats(f.ctx, &entitlementpb.ReleaseSeatsRequest{ReservationId: f2.ID.String()})
	require.NoError(t, err)
	require.Zero(t, f.available(t), "releasing an unknown reservation frees nothing")
	_, err = f.ent.ReserveSeats(f.ctx, &entitlementpb.ReserveSeatsRequest{ReservationId: f2.ID.String(), ActivationId: f.seed.ActivationID, Quantity: 1, Holder: "test"})
	require.Equal(t, codes.FailedPrecondition, status.Code(err), "a reservation released before it arrived is refused")
}

// One reservation ID retried 20 times at once counts once (SPEC ENT-5).
func TestRetriedReservationCountsOnce_ENT5(t *testing.T) {
	f := setup(t, 10)
	id := uuid.NewString()
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			_, err := f.ent.ReserveSeats(f.ctx, &entitlementpb.ReserveSeatsRequest{ReservationId: id, ActivationId: f.seed.ActivationID, Quantity: 3, Holder: "test"})
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	require.EqualValues(t, 7, f.available(t))
	for range 2 {
		_, err := f.ent.ReleaseSeats(f.ctx, &entitlementpb.ReleaseSeatsRequest{ReservationId: id})
		require.NoError(t, err)
	}
	require.EqualValues(t, 10, f.available(t), "a release counts once too")
	_, err := f.ent.ReserveSeats(f.ctx, &entitlementpb.ReserveSeatsRequest{ReservationId: id, ActivationId: f.seed.ActivationID, Quantity: 3, Holder: "test"})
	require.Equal(t, codes.FailedPrecondition, status.Code(err))
}

// A request ID reused for other seats while the first call is in flight is refused,
// and the first call's claim stays intact.
func TestReusedClaimWithOtherParametersIsRefused(t *testing.T) {
	f := setup(t, 10)
	c := f.claim(2)
	_, err := f.ledger.Begin(f.ctx, c)
	require.NoError(t, err)
	other := c
	other.Quantity = 9
	_, err = f.ledger.Begin(f.ctx, other)
	require.True(t, errs.IsKind(err, errs.KindInvalid), "%v", err)
	_, err = f.ledger.Begin(f.ctx, c)
	require.NoError(t, err, "the same parameters are a retry")
	f.commit(t, c.ID)
	require.EqualValues(t, 8, f.available(t))
}

// The entitlement service's own reconciler: a holder that reserved and vanished for
// good (its claim ledger lost too) gets its seats released when the reservation's
// lease ends, while a confirmed reservation of the same age is never touched
// (SPEC ENT-5, DESIGN decision 3).
func TestUnconfirmedReservationExpiresConfirmedStays_ENT5(t *testing.T) {
	f := setup(t, 10)
	reserve := func(id string, quantity int64) *entitlementpb.Reservation {
		t.Helper()
		r, err := f.ent.ReserveSeats(f.ctx, &entitlementpb.ReserveSeatsRequest{
			ReservationId: id, ActivationId: f.seed.ActivationID, Quantity: quantity, Holder: "test", Ttl: durationpb.New(time.Second),
		})
		require.NoError(t, err)
		return r
	}
	_, err := f.ent.ReserveSeats(f.ctx, &entitlementpb.ReserveSeatsRequest{
		ReservationId: uuid.NewString(), ActivationId: f.seed.ActivationID, Quantity: 1, Holder: "test", Ttl: durationpb.New(48 * time.Hour),
	})
	require.Equal(t, codes.InvalidArgument, status.Code(err), "a lease beyond 24 h is refused")
	abandoned, kept := uuid.NewString(), uuid.NewString()
	r := reserve(abandoned, 4)
	require.WithinDuration(t, time.Now().Add(time.Second), r.GetExpireTime().AsTime(), 5*time.Second)
	reserve(kept, 3)
	_, err = f.ent.ConfirmSeats(f.ctx, &entitlementpb.ConfirmSeatsRequest{ReservationId: kept})
	require.NoError(t, err)
	require.EqualValues(t, 3, f.available(t))

	require.Eventually(t, func() bool { return f.available(t) == 7 }, 20*time.Second, 50*time.Millisecond,
		"the abandoned reservation's 4 seats come back, the confirmed 3 stay taken")
	again, err := f.ent.ReserveSeats(f.ctx, &entitlementpb.ReserveSeatsRequest{ReservationId: abandoned, ActivationId: f.seed.ActivationID, Quantity: 4, Holder: "test"})
	require.Equal(t, codes.FailedPrecondition, status.Code(err), "a late retry of an expired reservation takes nothing: %v", again)
	require.Equal(t, "RESERVATION_EXPIRED", errs.Reason(err))

	// A late confirmation takes the seats again while they are free …
	c, err := f.ent.ConfirmSeats(f.ctx, &entitlementpb.ConfirmSeatsRequest{ReservationId: abandoned})
	require.NoError(t, err)
	require.Equal(t, entitlementpb.ReservationState_RESERVATION_STATE_CONFIRMED, c.GetState())
	require.EqualValues(t, 3, f.available(t))
	_, err = f.ent.ConfirmSeats(f.ctx, &entitlementpb.ConfirmSeatsRequest{ReservationId: abandoned})
	require.NoError(t, err)
	require.EqualValues(t, 3, f.available(t), "confirming twice counts once")

	// … and is refused once others hold them.
	late := uuid.NewString()
	reserve(late, 3)
	require.Eventually(t, func() bool { return f.available(t) == 3 }, 20*time.Second, 50*time.Millisecond)
	reserve(uuid.NewString(), 3)
	_, err = f.ent.ConfirmSeats(f.ctx, &entitlementpb.ConfirmSeatsRequest{ReservationId: late})
	require.Equal(t, "RESERVATION_EXPIRED", errs.Reason(err), "%v", err)
	rel, err := f.ent.ReleaseSeats(f.ctx, &entitlementpb.ReleaseSeatsRequest{ReservationId: late})
	require.NoError(t, err)
	require.Equal(t, entitlementpb.ReservationState_RESERVATION_STATE_RELEASED, rel.GetState())
	require.Zero(t, f.available(t), "releasing an expired reservation gives nothing back twice")
}

// A holder whose commit outlived its reservation's lease, and whose seats others
// took meanwhile, is told so once: the claim is marked lost rather than confirmed or
// retried forever, and no seat is counted twice.
func TestLedgerMarksClaimLostWhenItsReservationExpired(t *testing.T) {
	f := setup(t, 2)
	f.ledger.TTL = time.Second
	c := f.claim(2)
	_, err := f.ledger.Begin(f.ctx, c)
	require.NoError(t, err)
	f.commit(t, c.ID)
	require.Eventually(t, func() bool { return f.available(t) == 2 }, 20*time.Second, 50*time.Millisecond)
	_, err = f.ent.ReserveSeats(f.ctx, &entitlementpb.ReserveSeatsRequest{ReservationId: uuid.NewString(), ActivationId: f.seed.ActivationID, Quantity: 2, Holder: "other"})
	require.NoError(t, err)

	n, err := f.ledger.Reconcile(f.ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	var state string
	require.NoError(t, f.pool.QueryRow(f.ctx, `SELECT state FROM seat_claims WHERE id = $1`, c.ID).Scan(&state))
	require.Equal(t, "lost", state)
	require.Zero(t, f.available(t))
	n, err = f.ledger.Reconcile(f.ctx)
	require.NoError(t, err)
	require.Zero(t, n, "a lost claim is not retried")
}

// A replacement reservation (a partial return) holds the larger quantity until it
// is confirmed; releasing or expiring it restores the replaced one exactly; retries
// count once (SPEC ENT-5, LIC-8).
func TestReplacementReservations_ENT5(t *testing.T) {
	f := setup(t, 10)
	reserve := func(id string, quantity int64, replaces string, ttl time.Duration) error {
		req := &entitlementpb.ReserveSeatsRequest{ReservationId: id, ActivationId: f.seed.ActivationID, Quantity: quantity, Holder: "test", Replaces: replaces}
		if ttl > 0 {
			req.Ttl = durationpb.New(ttl)
		}
		_, err := f.ent.ReserveSeats(f.ctx, req)
		return err
	}
	confirm := func(id string) error {
		_, err := f.ent.ConfirmSeats(f.ctx, &entitlementpb.ConfirmSeatsRequest{ReservationId: id})
		return err
	}
	release := func(id string) error {
		_, err := f.ent.ReleaseSeats(f.ctx, &entitlementpb.ReleaseSeatsRequest{ReservationId: id})
		return err
	}
	orig := uuid.NewString()
	require.NoError(t, reserve(orig, 6, "", 0))
	require.NoError(t, confirm(orig))
	require.EqualValues(t, 4, f.available(t))

	// Give 4 back, but the holder aborts: everything is as before.
	r1 := uuid.NewString()
	require.NoError(t, reserve(r1, 2, orig, 0))
	require.EqualValues(t, 4, f.available(t), "nothing is given back before confirmation")
	require.Equal(t, "RESERVATION_REPLACED", errs.Reason(release(orig)), "the replaced one is suspended")
	require.NoError(t, release(r1))
	require.EqualValues(t, 4, f.available(t))

	// Give 4 back, retried 20 times at once, then confirmed.
	r2 := uuid.NewString()
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() { assert.NoError(t, reserve(r2, 2, orig, 0)) })
	}
	wg.Wait()
	require.Equal(t, codes.FailedPrecondition, status.Code(reserve(uuid.NewString(), 1, orig, 0)), "one replacement at a time")
	require.NoError(t, confirm(r2))
	require.NoError(t, confirm(r2))
	require.EqualValues(t, 8, f.available(t))
	require.Equal(t, codes.FailedPrecondition, status.Code(confirm(orig)), "the replaced one is over")

	// Growing by replacement takes the added seats at once; its expiry gives them back
	// and restores the one it replaced.
	r3 := uuid.NewString()
	require.NoError(t, reserve(r3, 5, r2, time.Second))
	require.EqualValues(t, 5, f.available(t))
	require.Eventually(t, func() bool { return f.available(t) == 8 }, 20*time.Second, 50*time.Millisecond)
	require.NoError(t, release(r2), "r2 holds its seats again and can be released")
	require.EqualValues(t, 10, f.available(t))

	// Replacing by 0 gives everything back at confirmation.
	r4, r5 := uuid.NewString(), uuid.NewString()
	require.NoError(t, reserve(r4, 3, "", 0))
	require.NoError(t, confirm(r4))
	require.NoError(t, reserve(r5, 0, r4, 0))
	require.NoError(t, confirm(r5))
	require.EqualValues(t, 10, f.available(t))
	require.Equal(t, codes.InvalidArgument, status.Code(reserve(uuid.NewString(), 0, "", 0)), "0 seats only when replacing")
}

// The batching confirmer confirms committed claims many at a time: every claim ends
// confirmed in the ledger and in the entitlement service, seats counted once.
func TestBatchingConfirmer_ENT5(t *testing.T) {
	f := setup(t, 100)
	ctx, cancel := context.WithCancel(f.ctx)
	done := make(chan error, 1)
	go func() { done <- f.ledger.RunConfirmer(ctx) }()
	t.Cleanup(func() {
		cancel()
		assert.NoError(t, <-done)
	})
	require.Eventually(t, f.ledger.Confirming, 5*time.Second, time.Millisecond)

	var wg sync.WaitGroup
	ids := make(chan uuid.UUID, 40)
	for range 40 {
		wg.Go(func() {
			c := f.claim(2)
			_, err := f.ledger.Begin(f.ctx, c)
			if err != nil {
				t.Error(err)
				return
			}
			tx, err := f.pool.Begin(f.ctx)
			if err != nil {
				t.Error(err)
				return
			}
			assert.NoError(t, seats.Commit(f.ctx, tx, c.ID))
			assert.NoError(t, tx.Commit(f.ctx))
			f.ledger.Confirm(f.ctx, c.ID)
			ids <- c.ID
		})
	}
	wg.Wait()
	close(ids)
	require.Eventually(t, func() bool {
		var open int
		require.NoError(t, f.pool.QueryRow(f.ctx, `SELECT count(*) FROM seat_claims WHERE state <> 'confirmed'`).Scan(&open))
		return open == 0
	}, 20*time.Second, 20*time.Millisecond, "every claim is confirmed")
	for id := range ids {
		r, err := f.ent.ConfirmSeats(f.ctx, &entitlementpb.ConfirmSeatsRequest{ReservationId: id.String()})
		require.NoError(t, err)
		require.Equal(t, entitlementpb.ReservationState_RESERVATION_STATE_CONFIRMED, r.GetState())
	}
	require.EqualValues(t, 20, f.available(t))
	_, err := f.ent.BatchConfirmSeats(f.ctx, &entitlementpb.BatchConfirmSeatsRequest{})
	require.Equal(t, codes.InvalidArgument, status.Code(err))
	res, err := f.ent.BatchConfirmSeats(f.ctx, &entitlementpb.BatchConfirmSeatsRequest{ReservationIds: []string{uuid.NewString()}})
	require.NoError(t, err)
	require.Len(t, res.GetRefused(), 1, "an unknown reservation is refused on its own")
}

// A retry of a request whose use was stored takes nothing and is answered as held,
// whatever the line item has left and even after that use gave its seats back (a
// full return replaced and released its reservation): Begin and BeginMany alike
// (PLT-6).
func TestBeginOfUsedClaimHoldsWhateverTheSeats_PLT6(t *testing.T) {
	f := setup(t, 5)
	used := f.claim(3)
	_, err := f.ledger.Begin(f.ctx, used)
	require.NoError(t, err)
	f.commit(t, used.ID)
	f.ledger.ConfirmNow(f.ctx, used.ID)
	rest := f.claim(2)
	_, err = f.ledger.Begin(f.ctx, rest)
	require.NoError(t, err)
	f.commit(t, rest.ID)
	require.EqualValues(t, 0, f.available(t), "the line item is full")

	_, err = f.ledger.Begin(f.ctx, used)
	require.NoError(t, err, "a replay of a stored use")
	require.NoError(t, f.ledger.BeginMany(f.ctx, []seats.Claim{used, rest})[0])
	require.NoError(t, f.ledger.BeginMany(f.ctx, []seats.Claim{used, rest})[1])

	// The use is returned in full: a replacing claim of 0 takes over and is confirmed,
	// which releases the first reservation in the entitlement service.
	old := used.ID
	ret := seats.Claim{ID: uuid.New(), TenantID: f.seed.Tenant, ActivationID: f.seed.ActivationID, Quantity: 0, Replaces: &old}
	_, err = f.ledger.Begin(f.ctx, ret)
	require.NoError(t, err)
	f.commit(t, ret.ID)
	f.ledger.ConfirmNow(f.ctx, ret.ID)
	require.EqualValues(t, 3, f.available(t))

	_, err = f.ledger.Begin(f.ctx, used)
	require.NoError(t, err, "the replay still finds its first use, not a released reservation")
	require.NoError(t, f.ledger.BeginMany(f.ctx, []seats.Claim{used})[0])
	require.EqualValues(t, 3, f.available(t), "replays took nothing")
}
