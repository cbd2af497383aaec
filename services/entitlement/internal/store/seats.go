package store

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tessera-dev/tessera/services/entitlement/internal/app"
	"github.com/tessera-dev/tessera/services/platform/errs"
)

const reservationCols = `r.id, r.activation_id, r.quantity, r.holder, r.state, coalesce(li.account_id, '')`

func scanReservation(row pgx.Row) (app.Reservation, error) {
	var r app.Reservation
	err := row.Scan(&r.ID, &r.ActivationID, &r.Quantity, &r.Holder, &r.State, &r.AccountID)
	return r, err
}

func (s *Store) reservationForUpdate(ctx context.Context, tx pgx.Tx, tenant string, id uuid.UUID) (app.Reservation, error) {
	return scanReservation(tx.QueryRow(ctx, `SELECT `+reservationCols+` FROM seat_reservations r
		LEFT JOIN line_items li ON li.tenant_id = r.tenant_id AND li.activation_id = r.activation_id
		WHERE r.tenant_id = $1 AND r.id = $2 FOR UPDATE OF r`, tenant, id))
}

// Reserve takes seats of a line item under a reservation ID. The reservation row is
// inserted first, so concurrent calls with one ID serialize on it and only one of
// them counts seats; the count itself is a conditional update that never lets
// fulfilled pass quantity.
func (s *Store) Reserve(ctx context.Context, tenant string, r app.Reservation, accountIDs []string) (app.Reservation, error) {
	var out app.Reservation
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO seat_reservations (tenant_id, id, activation_id, quantity, holder, state)
			VALUES ($1, $2, $3, $4, $5, 'reserved') ON CONFLICT (tenant_id, id) DO NOTHING`,
			tenant, r.ID, r.ActivationID, r.Quantity, r.Holder)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			prev, err := s.reservationForUpdate(ctx, tx, tenant, r.ID)
			if err != nil {
				return err
			}
			switch {
			case prev.State == app.ReservationReleased:
				return errs.FailedPrecondition("RESERVATION_RELEASED", "reservation %s was released", r.ID)
			case prev.ActivationID != r.ActivationID || prev.Quantity != r.Quantity:
				return errs.FailedPrecondition("RESERVATION_MISMATCH", "reservation %s exists with other parameters", r.ID)
			}
			out = prev
			return nil
		}
		li, err := scanLineItem(tx.QueryRow(ctx, `SELECT `+lineItemCols+` FROM line_items WHERE tenant_id = $1 AND activation_id = $2 FOR UPDATE`, tenant, r.ActivationID))
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && len(accountIDs) > 0 && !slices.Contains(accountIDs, li.AccountID)) {
			return errs.NotFound("line item", r.ActivationID)
		}
		if err != nil {
			return err
		}
		if err := app.CheckActivatable(li); err != nil {
			return err
		}
		if start, expire, first := app.FirstActivation(li, time.Now()); first {
			// The term starts now, once: later activations find the start set.
			if _, err := tx.Exec(ctx, `UPDATE line_items SET start_time = $3, expire_time = $4, updated_at = now() WHERE tenant_id = $1 AND activation_id = $2`,
				tenant, r.ActivationID, start, expire); err != nil {
				return err
			}
		}
		tag, err = tx.Exec(ctx, `UPDATE line_items SET fulfilled = fulfilled + $3
			WHERE tenant_id = $1 AND activation_id = $2 AND (overdraft_allowed OR fulfilled + $3 <= quantity + extra_activations)`, tenant, r.ActivationID, r.Quantity)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			e := errs.FailedPrecondition("QUANTITY_EXCEEDED", "line item %s has %d seats available, %d requested", li.ActivationID, li.Available(), r.Quantity)
			e.Metadata = map[string]string{"available": strconv.FormatInt(li.Available(), 10), "requested": strconv.FormatInt(r.Quantity, 10)}
			return e
		}
		out = r
		out.State = app.ReservationReserved
		out.AccountID = li.AccountID
		out.Applied = true
		return nil
	})
	return out, err
}

// Confirm makes a reservation permanent; confirming twice is a no-op.
func (s *Store) Confirm(ctx context.Context, tenant string, id uuid.UUID) (app.Reservation, error) {
	var out app.Reservation
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		r, err := s.reservationForUpdate(ctx, tx, tenant, id)
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.NotFound("reservation", id.String())
		}
		if err != nil {
			return err
		}
		if r.State == app.ReservationReleased {
			return errs.FailedPrecondition("RESERVATION_RELEASED", "reservation %s was released", id)
		}
		if r.State == app.ReservationReserved {
			if _, err := tx.Exec(ctx, `UPDATE seat_reservations SET state = 'confirmed', updated_at = now() WHERE tenant_id = $1 AND id = $2`, tenant, id); err != nil {
				return err
			}
			r.State = app.ReservationConfirmed
		}
		out = r
		return nil
	})
	return out, err
}

// Release gives a reservation's seats back; releasing twice is a no-op. Releasing an
// unknown ID leaves a tombstone so that a reserve arriving late cannot take seats.
func (s *Store) Release(ctx context.Context, tenant string, id uuid.UUID, holder string) (app.Reservation, error) {
	var out app.Reservation
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO seat_reservations (tenant_id, id, activation_id, quantity, holder, state)
			VALUES ($1, $2, '', 0, $3, 'released') ON CONFLICT (tenant_id, id) DO NOTHING`, tenant, id, holder)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 1 {
			out = app.Reservation{ID: id, Holder: holder, State: app.ReservationReleased}
			return nil
		}
		r, err := s.reservationForUpdate(ctx, tx, tenant, id)
		if err != nil {
			return err
		}
		if r.State != app.ReservationReleased {
			if _, err := tx.Exec(ctx, `UPDATE line_items SET fulfilled = fulfilled - $3 WHERE tenant_id = $1 AND activation_id = $2`, tenant, r.ActivationID, r.Quantity); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE seat_reservations SET state = 'released', updated_at = now() WHERE tenant_id = $1 AND id = $2`, tenant, id); err != nil {
				return err
			}
			r.State = app.ReservationReleased
			r.Applied = true
		}
		out = r
		return nil
	})
	return out, err
}
