package suite_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	devicepb "github.com/tessera-dev/tessera/gen/tessera/device/v1"
	entitlementpb "github.com/tessera-dev/tessera/gen/tessera/entitlement/v1"
	"github.com/tessera-dev/tessera/services/platform/ids"
	"github.com/tessera-dev/tessera/services/platform/seats"
)

func (w *seatWorld) returnDevice(ctx context.Context, deviceID, destination, rma, requestID string) (*devicepb.Device, error) {
	req := &devicepb.ReturnDeviceRequest{Name: "devices/" + deviceID, RmaNumber: rma, RequestId: requestID}
	if destination != "" {
		req.DestinationDevice = "devices/" + destination
	}
	return w.dev.ReturnDevice(ctx, req)
}

// liveClaim is the claim of the device's only live mapping of the line item, once
// confirmed.
func (w *seatWorld) liveClaim(t *testing.T, deviceID, activationID string) (row, claim uuid.UUID) {
	t.Helper()
	require.NoError(t, w.pool.QueryRow(t.Context(), `SELECT id, claim_id FROM device_line_items
		WHERE tenant_id = $1 AND device_id = $2 AND activation_id = $3 AND ended_at IS NULL`, w.tenant, deviceID, activationID).Scan(&row, &claim))
	require.Eventually(t, func() bool {
		var state string
		_ = w.pool.QueryRow(t.Context(), `SELECT state FROM seat_claims WHERE id = $1`, claim).Scan(&state)
		return state == "confirmed"
	}, 10*time.Second, 20*time.Millisecond)
	return row, claim
}

// DEV-8: a returned device gives every seat back, records its RMA number, answers
// replays with the first result, and refuses every further write.
func TestReturnGivesSeatsBackOnce_DEV8_ENT5(t *testing.T) {
	w := newSeatWorld(t, "return-pool")
	acct := w.account(t, "Return")
	a, b := w.lineItem(t, acct, 5), w.lineItem(t, acct, 5)
	d, other := w.device(t, acct), w.device(t, acct)
	ctx := w.customer(t, acct)
	_, err := w.mapOne(ctx, d, a, 3, "")
	require.NoError(t, err)
	_, err = w.mapOne(ctx, d, b, 2, "")
	require.NoError(t, err)
	_, _, before := w.row(t, d)

	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			_, err := w.returnDevice(ctx, d, "", "RMA-77", "ret-1")
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	require.EqualValues(t, 5, w.available(t, a))
	require.EqualValues(t, 5, w.available(t, b))
	_, st, after := w.row(t, d)
	require.Equal(t, "returned", st)
	require.Equal(t, before+1, after)
	var rma string
	require.NoError(t, w.pool.QueryRow(t.Context(), `SELECT rma_number FROM devices WHERE tenant_id = $1 AND id = $2`, w.tenant, d).Scan(&rma))
	require.Equal(t, "RMA-77", rma)
	require.Equal(t, 1, w.events(t, "tessera.device.device.returned"))
	require.Equal(t, 2, w.events(t, "tessera.device.device.line_item_unmapped"))

	_, err = w.returnDevice(ctx, d, "", "RMA-77", "ret-1")
	require.NoError(t, err, "a replay answers the first result")
	_, err = w.returnDevice(ctx, d, "", "RMA-78", "ret-1")
	require.Equal(t, codes.InvalidArgument, status.Code(err), "the request ID with other parameters")
	for name, err := range map[string]error{
		"map":    second(w.mapOne(ctx, d, a, 1, "")),
		"unmap":  second(w.unmap(ctx, d, a, 1, "")),
		"return": second(w.returnDevice(ctx, d, "", "", "")),
		"move":   second(w.dev.MoveDevice(w.producer, &devicepb.MoveDeviceRequest{Name: "devices/" + d, ToAccount: "accounts/" + w.account(t, "Else")})),
	} {
		require.Equal(t, codes.FailedPrecondition, status.Code(err), "%s: %v", name, err)
	}
	_, err = w.returnDevice(ctx, other, d, "", "")
	require.Equal(t, codes.InvalidArgument, status.Code(err), "a returned device receives nothing")
	require.EqualValues(t, 5, w.available(t, a), "nothing was taken after the return")
	_, st, _ = w.row(t, other)
	require.Equal(t, "active", st)
}

func second[T any](_ T, err error) error { return err }

// DEV-8 with a destination: the seats move to the destination device under claims
// replacing their own, so the line items never see them free; a crashed return is
// finished by its retry.
func TestReturnToDestinationKeepsSeats_DEV8_ENT5(t *testing.T) {
	w := newSeatWorld(t, "return-dest")
	acct := w.account(t, "Dest")
	li := w.lineItem(t, acct, 10)
	src, dest := w.device(t, acct), w.device(t, acct)
	ctx := w.customer(t, acct)
	_, err := w.mapOne(ctx, src, li, 4, "")
	require.NoError(t, err)
	_, err = w.mapOne(ctx, dest, li, 1, "")
	require.NoError(t, err)
	_, claim := w.liveClaim(t, src, li)

	// The service died after reserving the replacing claim; the client retries.
	ledger, sctx := w.ledger(t)
	replacing := ids.FromKey(w.tenant, "device", "ret-d/return/"+claim.String())
	_, err = ledger.Begin(sctx, seats.Claim{ID: replacing, TenantID: w.tenant, ActivationID: li, Quantity: 4, Replaces: &claim})
	require.NoError(t, err)
	require.EqualValues(t, 5, w.available(t, li))

	_, err = w.returnDevice(w.producer, src, dest, "RMA-1", "ret-d")
	require.NoError(t, err)
	require.EqualValues(t, 5, w.available(t, li), "the seats never went back")
	require.Zero(t, w.held(t, src, li))
	require.EqualValues(t, 5, w.held(t, dest, li))
	var returnedTo string
	require.NoError(t, w.pool.QueryRow(t.Context(), `SELECT returned_to FROM devices WHERE tenant_id = $1 AND id = $2`, w.tenant, src).Scan(&returnedTo))
	require.Equal(t, dest, returnedTo)

	_, err = w.unmap(ctx, dest, li, 5, "")
	require.NoError(t, err, "the moved seats are the destination's to give back")
	require.EqualValues(t, 10, w.available(t, li))

	third := w.device(t, acct)
	_, err = w.returnDevice(ctx, third, src, "", "")
	require.Equal(t, codes.InvalidArgument, status.Code(err), "a returned device takes no seats")
	_, err = w.returnDevice(ctx, third, "NOPE", "", "")
	require.Equal(t, codes.InvalidArgument, status.Code(err))
	require.Equal(t, []string{"destination_device"}, violationFields(err))
}

// A return whose replacing claim was abandoned past the ledger's grace: the
// reconciler restores the mapping's seats, the request ID is spent, and a return
// under a new one gives the seats back once.
func TestAbandonedReturnIsReconciled_DEV8_ENT5(t *testing.T) {
	w := newSeatWorld(t, "return-crash")
	acct := w.account(t, "Crash")
	li := w.lineItem(t, acct, 10)
	d := w.device(t, acct)
	ctx := w.customer(t, acct)
	_, err := w.mapOne(ctx, d, li, 6, "")
	require.NoError(t, err)
	_, claim := w.liveClaim(t, d, li)
	ledger, sctx := w.ledger(t)
	_, err = ledger.Begin(sctx, seats.Claim{ID: ids.FromKey(w.tenant, "device", "ret-x/return/"+claim.String()), TenantID: w.tenant, ActivationID: li, Replaces: &claim})
	require.NoError(t, err)
	ledger.Grace = 0
	_, err = ledger.Reconcile(sctx)
	require.NoError(t, err)
	require.EqualValues(t, 4, w.available(t, li))
	_, err = w.returnDevice(ctx, d, "", "", "ret-x")
	require.Equal(t, codes.Aborted, status.Code(err), "%v", err)
	_, st, _ := w.row(t, d)
	require.Equal(t, "active", st)
	_, err = w.returnDevice(ctx, d, "", "", "ret-y")
	require.NoError(t, err)
	require.EqualValues(t, 10, w.available(t, li))
}

// DEV-8: a move takes the device and its seats to a related account through the
// entitlement service's MoveSeats; a move that died after the seats moved is
// finished by its retry without moving anything twice, and replays count once.
func TestMoveDeviceMovesSeatsOnce_DEV8_ENT5(t *testing.T) {
	w := newSeatWorld(t, "move")
	from, to := w.account(t, "From"), w.account(t, "To")
	li := w.lineItem(t, from, 10)
	d := w.device(t, from)
	ctx := w.customer(t, from, to)
	_, err := w.mapOne(ctx, d, li, 3, "")
	require.NoError(t, err)
	row, claim := w.liveClaim(t, d, li)

	_, err = w.dev.MoveDevice(w.customer(t, from), &devicepb.MoveDeviceRequest{Name: "devices/" + d, ToAccount: "accounts/" + to})
	require.Equal(t, codes.InvalidArgument, status.Code(err), "only to an account the caller acts for")

	// The entitlement moved the seats, then the device service died.
	_, sctx := w.ledger(t)
	next := ids.FromKey(w.tenant, "device", "mv-1/move/"+row.String())
	_, err = w.ent.MoveSeats(sctx, &entitlementpb.MoveSeatsRequest{ReservationId: claim.String(), Quantity: 3, ToAccount: "accounts/" + to, NewReservationId: next.String()})
	require.NoError(t, err)

	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			_, err := w.dev.MoveDevice(ctx, &devicepb.MoveDeviceRequest{Name: "devices/" + d, ToAccount: "accounts/" + to, RequestId: "mv-1"})
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	owner, _, _ := w.row(t, d)
	require.Equal(t, to, owner)
	require.Zero(t, w.held(t, d, li))
	var moved string
	var account string
	var n int64
	require.NoError(t, w.pool.QueryRow(t.Context(), `SELECT activation_id, account_id, quantity FROM device_line_items
		WHERE tenant_id = $1 AND device_id = $2 AND ended_at IS NULL`, w.tenant, d).Scan(&moved, &account, &n))
	require.Equal(t, to, account)
	require.EqualValues(t, 3, n)
	target, err := w.ent.GetLineItem(w.producer, &entitlementpb.GetLineItemRequest{Name: "lineItems/" + moved})
	require.NoError(t, err)
	require.Equal(t, "accounts/"+to, target.GetAccount())
	require.EqualValues(t, 3, target.GetQuantity()-target.GetAvailable(), "the moved seats are held once")
	source, err := w.ent.GetLineItem(w.producer, &entitlementpb.GetLineItemRequest{Name: "lineItems/" + li})
	require.NoError(t, err)
	require.EqualValues(t, 7, source.GetQuantity(), "the quantity moved with the seats, once")
	require.EqualValues(t, 7, source.GetAvailable())
	require.Equal(t, 1, w.events(t, "tessera.device.device.moved"))

	_, err = w.unmap(w.customer(t, to), d, moved, 3, "")
	require.NoError(t, err, "the new owner gives the moved seats back")
	target, err = w.ent.GetLineItem(w.producer, &entitlementpb.GetLineItemRequest{Name: "lineItems/" + moved})
	require.NoError(t, err)
	require.Equal(t, target.GetQuantity(), target.GetAvailable())
}

// DEV-8: a move never hands another account's seats to the target: a device holding
// them refuses the move and every line item keeps its seats.
func TestMoveRefusesOtherAccountsSeats_DEV8(t *testing.T) {
	w := newSeatWorld(t, "move-foreign")
	owner, other, target := w.account(t, "Par"), w.account(t, "Unr"), w.account(t, "Chi")
	own, foreign := w.lineItem(t, owner, 5), w.lineItem(t, other, 5)
	d := w.device(t, owner)
	w.skipAccountCheck(t, true)
	_, err := w.mapOne(w.customer(t, owner), d, own, 1, "")
	require.NoError(t, err)
	_, err = w.mapOne(w.customer(t, other), d, foreign, 2, "")
	require.NoError(t, err)

	for _, pool := range []bool{true, false} {
		for _, ctx := range []context.Context{w.customer(t, owner, target), w.producer} {
			_, err = w.dev.MoveDevice(ctx, &devicepb.MoveDeviceRequest{Name: "devices/" + d, ToAccount: "accounts/" + target, Pool: pool})
			require.Equal(t, codes.FailedPrecondition, status.Code(err))
			require.Contains(t, status.Convert(err).Message(), "1 line item")
		}
	}
	o, _, _ := w.row(t, d)
	require.Equal(t, owner, o)
	require.EqualValues(t, 2, w.held(t, d, foreign))
	require.EqualValues(t, 1, w.held(t, d, own))
	li, err := w.ent.GetLineItem(w.producer, &entitlementpb.GetLineItemRequest{Name: "lineItems/" + foreign})
	require.NoError(t, err)
	require.EqualValues(t, 5, li.GetQuantity(), "the other account keeps its seats")

	_, err = w.unmap(w.customer(t, other), d, foreign, 2, "")
	require.NoError(t, err)
	_, err = w.dev.MoveDevice(w.customer(t, owner, target), &devicepb.MoveDeviceRequest{Name: "devices/" + d, ToAccount: "accounts/" + target})
	require.NoError(t, err, "with only its owner's seats the device moves")
	o, _, _ = w.row(t, d)
	require.Equal(t, target, o)
	require.EqualValues(t, 5, w.available(t, foreign))
}

// DEV-8: a return moves seats only to a device of the same owner; an unowned or
// another account's destination is refused and nothing moves.
func TestReturnDestinationOfSameOwner_DEV8(t *testing.T) {
	w := newSeatWorld(t, "return-owner")
	acct, other := w.account(t, "Owner"), w.account(t, "Other")
	li := w.lineItem(t, acct, 5)
	src, foreign, unowned := w.device(t, acct), w.device(t, other), w.unownedDevice(t)
	_, err := w.mapOne(w.customer(t, acct), src, li, 3, "")
	require.NoError(t, err)
	for _, dest := range []string{unowned, foreign} {
		_, err = w.returnDevice(w.producer, src, dest, "", "")
		require.Equal(t, codes.InvalidArgument, status.Code(err), dest)
		require.Equal(t, []string{"destination_device"}, violationFields(err))
	}
	_, st, _ := w.row(t, src)
	require.NotEqual(t, "returned", st)
	require.EqualValues(t, 3, w.held(t, src, li))
	require.Zero(t, w.held(t, unowned, li))
}

// DEV-4: claiming an unowned device that holds seats of another account is refused:
// the claimer would control seats it does not own.
func TestClaimRefusedWithOthersSeats_DEV4(t *testing.T) {
	w := newSeatWorld(t, "claim-foreign")
	owner, claimer := w.account(t, "Owner"), w.account(t, "Claimer")
	held, own := w.lineItem(t, owner, 5), w.lineItem(t, claimer, 5)
	d := w.unownedDevice(t)
	// Seats of owner's line item on the unowned device, as a return used to leave them.
	_, err := w.mapOne(w.customer(t, owner), d, held, 2, "")
	require.NoError(t, err)
	_, err = w.pool.Exec(t.Context(), `UPDATE devices SET account_id = NULL WHERE tenant_id = $1 AND id = $2`, w.tenant, d)
	require.NoError(t, err)

	_, err = w.mapOne(w.customer(t, claimer), d, own, 1, "")
	require.Equal(t, codes.FailedPrecondition, status.Code(err))
	o, _, _ := w.row(t, d)
	require.Empty(t, o)
	require.Zero(t, w.held(t, d, own))
	require.EqualValues(t, 5, w.available(t, own))
	require.EqualValues(t, 2, w.held(t, d, held))
}

// DEV-8: a return racing give-backs of the same mappings plans again instead of
// answering with a claim it lost to them, and names no internal reservation.
func TestReturnRacingUnmapsRetries_DEV8(t *testing.T) {
	w := newSeatWorld(t, "return-race")
	acct := w.account(t, "Race")
	li := w.lineItem(t, acct, 40)
	for round := range 4 {
		d, dest := w.device(t, acct), w.device(t, acct)
		ctx := w.customer(t, acct)
		_, err := w.mapOne(ctx, d, li, 8, "")
		require.NoError(t, err)
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				_, err := w.unmap(ctx, d, li, 1, "")
				if err != nil {
					assert.NotContains(t, status.Convert(err).Message(), "reservation", "%v", err)
				}
			})
		}
		wg.Go(func() {
			_, err := w.returnDevice(ctx, d, dest, "", "")
			if err != nil {
				assert.NotEqual(t, "RESERVATION_NOT_REPLACEABLE", reasonOf(err), "round %d: %v", round, err)
				assert.NotContains(t, status.Convert(err).Message(), "reservation", "%v", err)
			}
		})
		wg.Wait()
		require.Zero(t, w.held(t, d, li))
	}
	require.EqualValues(t, 40, w.available(t, li)+w.heldAll(t, li))
}

func reasonOf(err error) string {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}
