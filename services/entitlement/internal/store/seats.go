package store

import (
	"cmp"
	"context"
	"errors"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tessera-dev/tessera/services/entitlement/internal/app"
	"github.com/tessera-dev/tessera/services/platform/errs"
)

const reservationCols = `r.id, r.activation_id, r.quantity, r.holder, r.state, coalesce(li.account_id, ''), r.expire_time`

func scanReservation(row pgx.Row) (app.Reservation, error) {
	var r app.Reservation
	var expire *time.Time
	err := row.Scan(&r.ID, &r.ActivationID, &r.Quantity, &r.Holder, &r.State, &r.AccountID, &expire)
	if expire != nil {
		r.ExpireTime = *expire
	}
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
		tag, err := tx.Exec(ctx, `INSERT INTO seat_reservations (tenant_id, id, activation_id, quantity, holder, state, expire_time)
			VALUES ($1, $2, $3, $4, $5, 'reserved', $6) ON CONFLICT (tenant_id, id) DO NOTHING`,
			tenant, r.ID, r.ActivationID, r.Quantity, r.Holder, r.ExpireTime)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			prev, err := s.reservationForUpdate(ctx, tx, tenant, r.ID)
			if err != nil {
				return err
			}
			switch {
			case prev.State == app.ReservationReleased || prev.State == app.ReservationExpired:
				return errGone(prev)
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
		startAt := r.Start
		if startAt.IsZero() {
			startAt = time.Now()
		}
		if start, expire, first := app.FirstActivation(li, startAt); first {
			// The term starts now, once: later activations find the start set.
			if _, err := tx.Exec(ctx, `UPDATE line_items SET start_time = $3, expire_time = $4, updated_at = now() WHERE tenant_id = $1 AND activation_id = $2`,
				tenant, r.ActivationID, start, expire); err != nil {
				return err
			}
		}
		if err := takeSeats(ctx, tx, tenant, li, r.Quantity); err != nil {
			return err
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
		switch r.State {
		case app.ReservationReleased:
			return errGone(r)
		case app.ReservationExpired:
			// The holder outlived its lease but did use the seats: take them again if
			// they are still free, else tell it the seats are gone.
			li, err := scanLineItem(tx.QueryRow(ctx, `SELECT `+lineItemCols+` FROM line_items WHERE tenant_id = $1 AND activation_id = $2 FOR UPDATE`, tenant, r.ActivationID))
			if err != nil {
				return err
			}
			if err := takeSeats(ctx, tx, tenant, li, r.Quantity); err != nil {
				if errs.Reason(err) == "QUANTITY_EXCEEDED" {
					return errGone(r)
				}
				return err
			}
			r.Applied = true
			fallthrough
		case app.ReservationReserved:
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
		if r.State == app.ReservationExpired {
			// The seats went back when it expired; releasing it only closes it.
			if _, err := tx.Exec(ctx, `UPDATE seat_reservations SET state = 'released', updated_at = now() WHERE tenant_id = $1 AND id = $2`, tenant, id); err != nil {
				return err
			}
			r.State = app.ReservationReleased
		} else if r.State != app.ReservationReleased {
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

// takeSeats counts quantity more seats on a locked line item; the conditional update
// never lets fulfilled pass quantity plus extra activations unless overdraft is on.
func takeSeats(ctx context.Context, tx pgx.Tx, tenant string, li app.LineItem, quantity int64) error {
	tag, err := tx.Exec(ctx, `UPDATE line_items SET fulfilled = fulfilled + $3
		WHERE tenant_id = $1 AND activation_id = $2 AND (overdraft_allowed OR fulfilled + $3 <= quantity + extra_activations)`, tenant, li.ActivationID, quantity)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		e := errs.FailedPrecondition("QUANTITY_EXCEEDED", "line item %s has %d seats available, %d requested", li.ActivationID, li.Available(), quantity)
		e.Metadata = map[string]string{"available": strconv.FormatInt(li.Available(), 10), "requested": strconv.FormatInt(quantity, 10)}
		return e
	}
	return nil
}

// errGone refuses to use a reservation whose seats were given back.
func errGone(r app.Reservation) error {
	if r.State == app.ReservationExpired {
		return errs.FailedPrecondition("RESERVATION_EXPIRED", "reservation %s expired unconfirmed and its seats were taken by others", r.ID)
	}
	return errs.FailedPrecondition("RESERVATION_RELEASED", "reservation %s was released", r.ID)
}

// ExpireReservations gives back the seats of up to limit reservations that were
// neither confirmed nor released before their expire time, and returns them. Rows
// locked by a concurrent confirm or release are skipped: that call settles them.
func (s *Store) ExpireReservations(ctx context.Context, now time.Time, limit int) ([]app.Reservation, error) {
	var out []app.Reservation
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `WITH due AS (
				SELECT tenant_id, id FROM seat_reservations
				WHERE state = 'reserved' AND expire_time < $1
				ORDER BY expire_time LIMIT $2 FOR UPDATE SKIP LOCKED
			)
			UPDATE seat_reservations r SET state = 'expired', updated_at = now()
			FROM due WHERE r.tenant_id = due.tenant_id AND r.id = due.id
			RETURNING r.tenant_id, r.id, r.activation_id, r.quantity, r.holder`, now, limit)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (app.Reservation, error) {
			r := app.Reservation{State: app.ReservationExpired}
			return r, row.Scan(&r.TenantID, &r.ID, &r.ActivationID, &r.Quantity, &r.Holder)
		})
		if err != nil {
			return err
		}
		// One update per line item, in a fixed order so concurrent sweeps cannot deadlock.
		back := map[[2]string]int64{}
		for _, r := range out {
			back[[2]string{r.TenantID, r.ActivationID}] += r.Quantity
		}
		keys := slices.SortedFunc(maps.Keys(back), func(a, b [2]string) int { return cmp.Compare(a[0]+"\x00"+a[1], b[0]+"\x00"+b[1]) })
		for _, k := range keys {
			if _, err := tx.Exec(ctx, `UPDATE line_items SET fulfilled = fulfilled - $3 WHERE tenant_id = $1 AND activation_id = $2`, k[0], k[1], back[k]); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}
