package store

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tessera-dev/tessera/services/entitlement/internal/app"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/pg"
)

// ReserveMany takes seats for new reservations (none replacing another) in one
// transaction and answers each as Reserve would: the reservation, or in refused[i]
// why it takes nothing. It works by sets — one insert of the reservations, one lock
// of their line items in activation ID order (so concurrent batches and single
// reservations cannot deadlock), the counting in memory under those locks, one
// update of the line items — so a hot line item is locked once per batch, not once
// per reservation. A database error fails the whole batch.
func (s *Store) ReserveMany(ctx context.Context, tenant string, reqs []app.ReserveRequest) (out []app.Reservation, refused []error, err error) {
	out = make([]app.Reservation, len(reqs))
	refused = make([]error, len(reqs))
	first := map[uuid.UUID]int{} // reservation ID → its first index in reqs
	var unique []int
	for i, rq := range reqs {
		r := rq.Reservation
		if j, seen := first[r.ID]; seen {
			if other := reqs[j].Reservation; other.ActivationID != r.ActivationID || other.Quantity != r.Quantity {
				refused[i] = errs.FailedPrecondition("RESERVATION_MISMATCH", "reservation %s exists with other parameters", r.ID)
			}
			continue
		}
		first[r.ID] = i
		unique = append(unique, i)
	}
	// Rows go in ID order, so that two batches sharing IDs (retries) wait for each
	// other in one order and cannot deadlock.
	slices.SortFunc(unique, func(a, b int) int { return slices.Compare(reqs[a].Reservation.ID[:], reqs[b].Reservation.ID[:]) })
	var p pending
	for _, i := range unique {
		r := reqs[i].Reservation
		p.ids = append(p.ids, r.ID.String())
		p.activations = append(p.activations, r.ActivationID)
		p.quantities = append(p.quantities, r.Quantity)
		p.holders = append(p.holders, r.Holder)
		p.expires = append(p.expires, r.ExpireTime)
	}
	if err := s.reserveMany(ctx, tenant, reqs, first, p, out, refused); err != nil {
		return nil, nil, err
	}
	for i, rq := range reqs { // repeated IDs share their first answer
		if j := first[rq.Reservation.ID]; j != i && refused[i] == nil {
			out[i], refused[i] = out[j], refused[j]
			out[i].Applied = false
		}
	}
	return out, refused, nil
}

// pending holds the columns of the reservations a batch inserts.
type pending struct {
	ids, activations []string
	quantities       []int64
	holders          []string
	expires          []time.Time
}

// reserveMany is ReserveMany's transaction, in two round trips: the reservations'
// insert with the lock of their line items, then the counts with the commit.
func (s *Store) reserveMany(ctx context.Context, tenant string, reqs []app.ReserveRequest, first map[uuid.UUID]int, p pending, out []app.Reservation, refused []error) error {
	tx, err := pg.BeginPipelined(ctx, s.pool)
	if err != nil {
		return err
	}
	defer tx.Close(ctx)
	var inserted []uuid.UUID
	var lineItems map[string]*lockedLineItem
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO seat_reservations (tenant_id, id, activation_id, quantity, holder, state, expire_time)
		SELECT $1, id, activation_id, quantity, holder, 'reserved', expire_time
		FROM unnest($2::uuid[], $3::text[], $4::bigint[], $5::text[], $6::timestamptz[]) AS r(id, activation_id, quantity, holder, expire_time)
		ON CONFLICT (tenant_id, id) DO NOTHING RETURNING id`, tenant, p.ids, p.activations, p.quantities, p.holders, p.expires).
		Query(func(rows pgx.Rows) (err error) {
			inserted, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
			return err
		})
	queueLockLineItems(b, tenant, p.activations, &lineItems)
	if err := tx.Send(ctx, b); err != nil {
		return err
	}
	fresh := map[uuid.UUID]bool{}
	for _, id := range inserted {
		fresh[id] = true
	}
	if len(fresh) < len(first) {
		if err := answerReplays(ctx, tx, tenant, reqs, first, fresh, out, refused); err != nil {
			return err
		}
	}
	var rejected []uuid.UUID
	for i, rq := range reqs { // in the request's order: who asked first is served first
		r := rq.Reservation
		if first[r.ID] != i || !fresh[r.ID] {
			continue
		}
		li, ok := lineItems[r.ActivationID]
		if err := takeInMemory(li, ok, rq.AccountIDs, r); err != nil {
			refused[i] = err
			rejected = append(rejected, r.ID)
			continue
		}
		out[i] = r
		out[i].State, out[i].AccountID, out[i].Applied = app.ReservationReserved, li.AccountID, true
	}
	b = &pgx.Batch{}
	if len(rejected) > 0 {
		// A refused reservation leaves no row, as a refused ReserveSeats does.
		b.Queue(`DELETE FROM seat_reservations WHERE tenant_id = $1 AND id = ANY($2)`, tenant, rejected)
	}
	queueLineItemCounts(b, tenant, lineItems)
	return tx.Commit(ctx, b)
}

// answerReplays answers the reservations that existed before the batch as Reserve
// answers a retry: with the reservation, or why it cannot be used.
func answerReplays(ctx context.Context, tx *pg.PipelinedTx, tenant string, reqs []app.ReserveRequest, first map[uuid.UUID]int, fresh map[uuid.UUID]bool, out []app.Reservation, refused []error) error {
	var replayed []uuid.UUID
	for id := range first {
		if !fresh[id] {
			replayed = append(replayed, id)
		}
	}
	var prevs []app.Reservation
	b := &pgx.Batch{}
	b.Queue(`SELECT `+reservationCols+` FROM seat_reservations r
		LEFT JOIN line_items li ON li.tenant_id = r.tenant_id AND li.activation_id = r.activation_id
		WHERE r.tenant_id = $1 AND r.id = ANY($2) FOR UPDATE OF r`, tenant, replayed).
		Query(func(rows pgx.Rows) (err error) {
			prevs, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (app.Reservation, error) { return scanReservation(row) })
			return err
		})
	if err := tx.Send(ctx, b); err != nil {
		return err
	}
	for _, prev := range prevs {
		i := first[prev.ID]
		r := reqs[i].Reservation
		switch {
		case prev.State == app.ReservationReleased || prev.State == app.ReservationExpired:
			refused[i] = errGone(prev)
		case prev.ActivationID != r.ActivationID || prev.Quantity != r.Quantity || prev.Replaces != nil:
			refused[i] = errs.FailedPrecondition("RESERVATION_MISMATCH", "reservation %s exists with other parameters", r.ID)
		default:
			out[i] = prev
		}
	}
	return nil
}

// lockedLineItem is a line item locked for the batch, with what the batch changes.
type lockedLineItem struct {
	app.LineItem
	taken      int64
	firstStart *time.Time
}

// queueLockLineItems locks the line items in activation ID order into *out.
func queueLockLineItems(b *pgx.Batch, tenant string, activations []string, out *map[string]*lockedLineItem) {
	sorted := slices.Compact(slices.Sorted(slices.Values(activations)))
	b.Queue(`SELECT `+lineItemCols+` FROM line_items WHERE tenant_id = $1 AND activation_id = ANY($2)
		ORDER BY activation_id FOR UPDATE`, tenant, sorted).
		Query(func(rows pgx.Rows) error {
			locked := map[string]*lockedLineItem{}
			for rows.Next() {
				li := &lockedLineItem{}
				if err := scanLineItemInto(rows, &li.LineItem); err != nil {
					return err
				}
				locked[li.ActivationID] = li
			}
			*out = locked
			return rows.Err()
		})
}

// takeInMemory applies Reserve's checks and count to a locked line item.
func takeInMemory(li *lockedLineItem, found bool, accountIDs []string, r app.Reservation) error {
	if !found || (len(accountIDs) > 0 && !slices.Contains(accountIDs, li.AccountID)) {
		return errs.NotFound("line item", r.ActivationID)
	}
	if err := app.CheckActivatable(li.LineItem); err != nil {
		return err
	}
	if !li.OverdraftAllowed && li.Fulfilled+r.Quantity > li.Quantity+li.ExtraActivations {
		return quantityExceeded(li.LineItem, r.Quantity)
	}
	startAt := r.Start
	if startAt.IsZero() {
		startAt = time.Now()
	}
	if start, expire, first := app.FirstActivation(li.LineItem, startAt); first {
		li.StartTime, li.ExpireTime, li.firstStart = &start, expire, &start
	}
	li.Fulfilled += r.Quantity
	li.taken += r.Quantity
	return nil
}

// queueLineItemCounts writes what the batch took of each locked line item, and the
// term start of those whose term it started.
func queueLineItemCounts(b *pgx.Batch, tenant string, lineItems map[string]*lockedLineItem) {
	var activations []string
	var taken []int64
	var starts, expires []*time.Time
	for _, li := range lineItems {
		if li.taken == 0 {
			continue
		}
		activations = append(activations, li.ActivationID)
		taken = append(taken, li.taken)
		starts = append(starts, li.firstStart)
		expires = append(expires, li.ExpireTime)
	}
	if len(activations) == 0 {
		return
	}
	b.Queue(`UPDATE line_items l SET fulfilled = l.fulfilled + d.taken,
			start_time = coalesce(d.start_time, l.start_time),
			expire_time = CASE WHEN d.start_time IS NULL THEN l.expire_time ELSE d.expire_time END,
			updated_at = CASE WHEN d.start_time IS NULL THEN l.updated_at ELSE now() END
		FROM unnest($2::text[], $3::bigint[], $4::timestamptz[], $5::timestamptz[]) AS d(activation_id, taken, start_time, expire_time)
		WHERE l.tenant_id = $1 AND l.activation_id = d.activation_id`, tenant, activations, taken, starts, expires).
		Exec(func(tag pgconn.CommandTag) error {
			if tag.RowsAffected() != int64(len(activations)) {
				return errors.New("store: a locked line item vanished")
			}
			return nil
		})
}
