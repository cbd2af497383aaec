package store

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tessera-dev/tessera/services/entitlement/internal/app"
	"github.com/tessera-dev/tessera/services/platform/errs"
)

const reservationCols = `r.id, r.activation_id, r.quantity, r.holder, r.state, coalesce(li.account_id, ''), r.expire_time, r.replaces, coalesce(r.replaced_state, '')`

func scanReservation(row pgx.Row) (app.Reservation, error) {
	var r app.Reservation
	var expire *time.Time
	err := row.Scan(&r.ID, &r.ActivationID, &r.Quantity, &r.Holder, &r.State, &r.AccountID, &expire, &r.Replaces, &r.ReplacedState)
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

func lockLineItem(ctx context.Context, tx pgx.Tx, tenant, activationID string) (app.LineItem, error) {
	return scanLineItem(tx.QueryRow(ctx, `SELECT `+lineItemCols+` FROM line_items WHERE tenant_id = $1 AND activation_id = $2 FOR UPDATE`, tenant, activationID))
}

// readLineItem reads a line item, under its row lock when lock is set.
func readLineItem(ctx context.Context, tx pgx.Tx, tenant, activationID string, lock bool) (app.LineItem, error) {
	if lock {
		return lockLineItem(ctx, tx, tenant, activationID)
	}
	return scanLineItem(tx.QueryRow(ctx, `SELECT `+lineItemCols+` FROM line_items WHERE tenant_id = $1 AND activation_id = $2`, tenant, activationID))
}

// mayAddSeats reports whether a replacement holding quantity seats may take more
// than the reservation it replaces holds (read without a lock: a reservation's
// quantity only ever shrinks, and Reserve checks again under the lock).
func (s *Store) mayAddSeats(ctx context.Context, tx pgx.Tx, tenant string, replaced uuid.UUID, quantity int64) bool {
	var held int64
	err := tx.QueryRow(ctx, `SELECT quantity FROM seat_reservations WHERE tenant_id = $1 AND id = $2`, tenant, replaced).Scan(&held)
	return err != nil || quantity > held
}

func setState(ctx context.Context, tx pgx.Tx, tenant string, id uuid.UUID, state string) error {
	_, err := tx.Exec(ctx, `UPDATE seat_reservations SET state = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2`, tenant, id, state)
	return err
}

func addFulfilled(ctx context.Context, tx pgx.Tx, tenant, activationID string, delta int64) error {
	if delta == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `UPDATE line_items SET fulfilled = fulfilled + $3 WHERE tenant_id = $1 AND activation_id = $2`, tenant, activationID, delta)
	return err
}

// Reserve takes seats of a line item under a reservation ID. The reservation row is
// inserted first, so concurrent calls with one ID serialize on it and only one of
// them counts seats; the count itself is a conditional update that never lets
// fulfilled pass quantity.
//
// A reservation that replaces another (r.Replaces) holds the larger of the two
// quantities until it is confirmed: it takes only the seats it adds, and gives back
// the ones it drops at confirmation, so that a release or expiry can restore the
// replaced reservation exactly.
func (s *Store) Reserve(ctx context.Context, tenant string, r app.Reservation, accountIDs []string) (app.Reservation, error) {
	var out app.Reservation
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO seat_reservations (tenant_id, id, activation_id, quantity, holder, state, expire_time, replaces)
			VALUES ($1, $2, $3, $4, $5, 'reserved', $6, $7) ON CONFLICT (tenant_id, id) DO NOTHING`,
			tenant, r.ID, r.ActivationID, r.Quantity, r.Holder, r.ExpireTime, r.Replaces)
		if e := errs.FromPostgres(err); e != nil && e.Metadata["constraint"] == "seat_reservations_one_replacement" {
			return errs.FailedPrecondition("RESERVATION_NOT_REPLACEABLE", "reservation %s is being replaced already", *r.Replaces)
		}
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
			case prev.ActivationID != r.ActivationID || prev.Quantity != r.Quantity || !sameID(prev.Replaces, r.Replaces):
				return errs.FailedPrecondition("RESERVATION_MISMATCH", "reservation %s exists with other parameters", r.ID)
			}
			out = prev
			return nil
		}
		// A replacement that adds no seats (a return, an unmap) changes no count, so it
		// reads the line item without its row lock: give-backs do not queue on a hot
		// line item behind the reservations taking its seats.
		locked := r.Replaces == nil || s.mayAddSeats(ctx, tx, tenant, *r.Replaces, r.Quantity)
		li, err := readLineItem(ctx, tx, tenant, r.ActivationID, locked)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && len(accountIDs) > 0 && !slices.Contains(accountIDs, li.AccountID)) {
			return errs.NotFound("line item", r.ActivationID)
		}
		if err != nil {
			return err
		}
		add := r.Quantity
		if r.Replaces != nil {
			old, err := s.reservationForUpdate(ctx, tx, tenant, *r.Replaces)
			if errors.Is(err, pgx.ErrNoRows) || (err == nil && old.ActivationID != r.ActivationID) {
				return errs.FailedPrecondition("RESERVATION_NOT_REPLACEABLE", "reservation %s does not hold seats of line item %s", *r.Replaces, r.ActivationID)
			}
			if err != nil {
				return err
			}
			if old.State != app.ReservationConfirmed && old.State != app.ReservationReserved {
				return errs.FailedPrecondition("RESERVATION_NOT_REPLACEABLE", "reservation %s is %s and cannot be replaced", old.ID, old.State)
			}
			if _, err := tx.Exec(ctx, `UPDATE seat_reservations SET replaced_state = state, state = 'replaced', updated_at = now() WHERE tenant_id = $1 AND id = $2`, tenant, old.ID); err != nil {
				return err
			}
			add = max(0, r.Quantity-old.Quantity)
		}
		if add > 0 && !locked {
			// The replaced reservation shrank meanwhile (seats moved with a host): the
			// count changes after all.
			if li, err = lockLineItem(ctx, tx, tenant, r.ActivationID); err != nil {
				return err
			}
		}
		if add > 0 {
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
			if err := takeSeats(ctx, tx, tenant, li, add); err != nil {
				return err
			}
		}
		out = r
		out.State = app.ReservationReserved
		out.AccountID = li.AccountID
		out.Applied = true
		return nil
	})
	return out, err
}

func sameID(a, b *uuid.UUID) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

// Confirm makes a reservation permanent; confirming twice is a no-op. Confirming a
// replacement gives back the seats it dropped and ends the replaced reservation.
func (s *Store) Confirm(ctx context.Context, tenant string, id uuid.UUID) (app.Reservation, error) {
	var out app.Reservation
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		out, err = s.confirm(ctx, tx, tenant, id)
		return err
	})
	return out, err
}

// ConfirmMany confirms reservations in one transaction; a reservation that cannot
// be confirmed is answered with its error and does not stop the others. Each
// reservation is confirmed by its one holder, so concurrent batches do not share
// rows; should they (a reconciler racing a confirmer), Postgres breaks the deadlock
// and the losing batch is confirmed again later.
func (s *Store) ConfirmMany(ctx context.Context, tenant string, ids []uuid.UUID) (map[uuid.UUID]error, error) {
	sorted := slices.Clone(ids)
	slices.SortFunc(sorted, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
	sorted = slices.Compact(sorted)
	out := map[uuid.UUID]error{}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// The common case in one statement: plain reservations still held. The rest
		// (replacements, expired, released, unknown) go one by one below.
		rows, err := tx.Query(ctx, `UPDATE seat_reservations SET state = 'confirmed', updated_at = now()
			WHERE tenant_id = $1 AND id = ANY($2) AND state = 'reserved' AND replaces IS NULL RETURNING id`, tenant, sorted)
		if err != nil {
			return err
		}
		plain, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		if err != nil {
			return err
		}
		for _, id := range plain {
			out[id] = nil
		}
		for _, id := range sorted {
			if _, done := out[id]; done {
				continue
			}
			_, err := s.confirm(ctx, tx, tenant, id)
			if _, known := errs.As(err); err != nil && !known {
				return err // a database error: the whole batch is retried later
			}
			out[id] = err
		}
		return nil
	})
	return out, err
}

func (s *Store) confirm(ctx context.Context, tx pgx.Tx, tenant string, id uuid.UUID) (app.Reservation, error) {
	r, err := s.reservationForUpdate(ctx, tx, tenant, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, errs.NotFound("reservation", id.String())
	}
	if err != nil {
		return r, err
	}
	switch r.State {
	case app.ReservationReleased, app.ReservationReplaced:
		return r, errGone(r)
	case app.ReservationExpired:
		if r.Replaces != nil {
			return r, errGone(r) // its expiry restored the replaced reservation
		}
		// The holder outlived its lease but did use the seats: take them again if
		// they are still free, else tell it the seats are gone.
		li, err := lockLineItem(ctx, tx, tenant, r.ActivationID)
		if err != nil {
			return r, err
		}
		if err := takeSeats(ctx, tx, tenant, li, r.Quantity); err != nil {
			if errs.Reason(err) == "QUANTITY_EXCEEDED" {
				return r, errGone(r)
			}
			return r, err
		}
		r.Applied = true
		fallthrough
	case app.ReservationReserved:
		if r.Replaces != nil {
			old, err := s.reservationForUpdate(ctx, tx, tenant, *r.Replaces)
			if err != nil {
				return r, err
			}
			if err := addFulfilled(ctx, tx, tenant, r.ActivationID, -max(0, old.Quantity-r.Quantity)); err != nil {
				return r, err
			}
			if err := setState(ctx, tx, tenant, old.ID, app.ReservationReleased); err != nil {
				return r, err
			}
		}
		if err := setState(ctx, tx, tenant, id, app.ReservationConfirmed); err != nil {
			return r, err
		}
		r.State = app.ReservationConfirmed
	}
	return r, nil
}

// Release gives a reservation's seats back; releasing twice is a no-op. Releasing an
// unknown ID leaves a tombstone so that a reserve arriving late cannot take seats.
// Releasing an unconfirmed replacement restores the reservation it replaced.
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
		switch r.State {
		case app.ReservationReplaced:
			return errs.FailedPrecondition("RESERVATION_REPLACED", "reservation %s was replaced; release its replacement", id)
		case app.ReservationExpired:
			// The seats went back when it expired; releasing it only closes it.
			if err := setState(ctx, tx, tenant, id, app.ReservationReleased); err != nil {
				return err
			}
			r.State = app.ReservationReleased
		case app.ReservationReserved, app.ReservationConfirmed:
			if err := s.giveBack(ctx, tx, tenant, r); err != nil {
				return err
			}
			if err := setState(ctx, tx, tenant, id, app.ReservationReleased); err != nil {
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

// giveBack returns what a live reservation holds: all of it, or for an unconfirmed
// replacement the seats it added, restoring the replaced reservation.
func (s *Store) giveBack(ctx context.Context, tx pgx.Tx, tenant string, r app.Reservation) error {
	if r.Replaces == nil || r.State != app.ReservationReserved {
		return addFulfilled(ctx, tx, tenant, r.ActivationID, -r.Quantity)
	}
	old, err := s.reservationForUpdate(ctx, tx, tenant, *r.Replaces)
	if err != nil {
		return err
	}
	if err := addFulfilled(ctx, tx, tenant, r.ActivationID, -max(0, r.Quantity-old.Quantity)); err != nil {
		return err
	}
	return setState(ctx, tx, tenant, old.ID, old.ReplacedState)
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
		return quantityExceeded(li, quantity)
	}
	return nil
}

func quantityExceeded(li app.LineItem, quantity int64) error {
	e := errs.FailedPrecondition("QUANTITY_EXCEEDED", "line item %s has %d seats available, %d requested", li.ActivationID, li.Available(), quantity)
	e.Metadata = map[string]string{"available": strconv.FormatInt(li.Available(), 10), "requested": strconv.FormatInt(quantity, 10)}
	return e
}

// errGone refuses to use a reservation whose seats were given back.
func errGone(r app.Reservation) error {
	switch r.State {
	case app.ReservationExpired:
		return errs.FailedPrecondition("RESERVATION_EXPIRED", "reservation %s expired unconfirmed and its seats were given back", r.ID)
	case app.ReservationReplaced:
		return errs.FailedPrecondition("RESERVATION_REPLACED", "reservation %s was replaced by another", r.ID)
	}
	return errs.FailedPrecondition("RESERVATION_RELEASED", "reservation %s was released", r.ID)
}

// ExpireReservations gives back the seats of up to limit reservations that were
// neither confirmed nor released before their expire time, and returns them. Rows
// locked by a concurrent confirm or release are skipped: that call settles them.
func (s *Store) ExpireReservations(ctx context.Context, now time.Time, limit int) ([]app.Reservation, error) {
	var out []app.Reservation
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT r.tenant_id, `+reservationCols+` FROM seat_reservations r
			LEFT JOIN line_items li ON li.tenant_id = r.tenant_id AND li.activation_id = r.activation_id
			WHERE r.held AND r.expire_time < $1
			ORDER BY r.tenant_id, r.activation_id LIMIT $2 FOR UPDATE OF r SKIP LOCKED`, now, limit)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (app.Reservation, error) {
			var r app.Reservation
			var expire *time.Time
			err := row.Scan(&r.TenantID, &r.ID, &r.ActivationID, &r.Quantity, &r.Holder, &r.State, &r.AccountID, &expire, &r.Replaces, &r.ReplacedState)
			return r, err
		})
		if err != nil {
			return err
		}
		// Line items are locked in (tenant, activation) order so concurrent sweeps
		// cannot deadlock.
		for i, r := range out {
			if err := s.giveBack(ctx, tx, r.TenantID, r); err != nil {
				return err
			}
			if err := setState(ctx, tx, r.TenantID, r.ID, app.ReservationExpired); err != nil {
				return err
			}
			out[i].State = app.ReservationExpired
		}
		return nil
	})
	return out, err
}

// Reservation reads one reservation.
func (s *Store) Reservation(ctx context.Context, tenant string, id uuid.UUID) (app.Reservation, error) {
	r, err := scanReservation(s.pool.QueryRow(ctx, `SELECT `+reservationCols+` FROM seat_reservations r
		LEFT JOIN line_items li ON li.tenant_id = r.tenant_id AND li.activation_id = r.activation_id
		WHERE r.tenant_id = $1 AND r.id = $2`, tenant, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, errs.NotFound("reservation", id.String())
	}
	return r, err
}
