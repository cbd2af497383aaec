package store

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tessera-dev/tessera/services/device/internal/app"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/events"
	"github.com/tessera-dev/tessera/services/platform/pg"
	"github.com/tessera-dev/tessera/services/platform/seats"
)

// Operation returns the write a request ID was used for.
func (s *Store) Operation(ctx context.Context, tenant, requestID string) (app.Operation, bool, error) {
	var op app.Operation
	err := s.pool.QueryRow(ctx, `SELECT kind, device_id, fingerprint FROM device_operations WHERE tenant_id = $1 AND request_id = $2`, tenant, requestID).
		Scan(&op.Kind, &op.DeviceID, &op.Fingerprint)
	if errors.Is(err, pgx.ErrNoRows) {
		return app.Operation{}, false, nil
	}
	return op, err == nil, err
}

// SkipAccountCheck reports whether the tenant turned the account check off (SPEC
// DEV-3); a tenant without settings keeps it.
func (s *Store) SkipAccountCheck(ctx context.Context, tenant string) (bool, error) {
	var skip bool
	err := s.pool.QueryRow(ctx, `SELECT skip_account_check FROM device_settings WHERE tenant_id = $1`, tenant).Scan(&skip)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return skip, err
}

const liveCols = `m.id, m.device_id, m.activation_id, m.account_id, m.product_id, m.quantity, m.request_id, m.claim_id,
	m.expire_at, m.configured_expire_at, m.replaces, m.created_at, c.state = 'confirmed'`

func scanHeld(r pgx.CollectableRow) (app.Held, error) {
	var h app.Held
	var expire, configured *time.Time
	err := r.Scan(&h.ID, &h.DeviceID, &h.ActivationID, &h.AccountID, &h.ProductID, &h.Quantity, &h.RequestID, &h.ClaimID,
		&expire, &configured, &h.Replaces, &h.CreateTime, &h.Confirmed)
	if expire != nil {
		h.ExpireAt = *expire
	}
	if configured != nil {
		h.ConfiguredExpireAt = *configured
	}
	return h, err
}

// ChangeDevices implements app.MappingStore. Every write of a device's mappings
// holds the device's row lock, so the rows plan reads are the rows it changes.
func (s *Store) ChangeDevices(ctx context.Context, tenant string, deviceIDs []string, requestID string, op app.Operation,
	plan func(map[string]app.LockedDevice, []app.Held) (app.Change, error),
) error {
	ids := slices.Clone(deviceIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	wrote := false
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		wrote = false
		if requestID != "" && op.Kind != "" {
			// First: a concurrent call with the request ID waits here for this one,
			// then finds it stored and reserves nothing.
			tag, err := tx.Exec(ctx, `INSERT INTO device_operations (tenant_id, request_id, kind, device_id, fingerprint)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, tenant, requestID, op.Kind, op.DeviceID, op.Fingerprint)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				return app.ErrReplayed
			}
		}
		rows, err := tx.Query(ctx, `SELECT id, coalesce(account_id, ''), status, sequence FROM devices
			WHERE tenant_id = $1 AND id = ANY($2) ORDER BY id FOR UPDATE`, tenant, ids)
		if err != nil {
			return err
		}
		locked := map[string]app.LockedDevice{}
		var d app.LockedDevice
		if _, err := pgx.ForEachRow(rows, []any{&d.ID, &d.AccountID, &d.Status, &d.Sequence}, func() error {
			locked[d.ID] = d
			return nil
		}); err != nil {
			return err
		}
		for _, id := range ids {
			if _, ok := locked[id]; !ok {
				return errs.NotFound("device", id)
			}
		}
		rows, err = tx.Query(ctx, `SELECT `+liveCols+` FROM device_line_items m JOIN seat_claims c ON c.id = m.claim_id
			WHERE m.tenant_id = $1 AND m.device_id = ANY($2) AND m.ended_at IS NULL ORDER BY m.created_at, m.id`, tenant, ids)
		if err != nil {
			return err
		}
		live, err := pgx.CollectRows(rows, scanHeld)
		if err != nil {
			return err
		}
		c, err := plan(locked, live)
		if err != nil {
			return err
		}
		if empty(c) && requestID == "" {
			return nil
		}
		wrote = len(c.Events) > 0
		return apply(ctx, tx, tenant, live, c)
	})
	if err == nil && wrote {
		s.wake.Wake()
	}
	return err
}

// Reserving implements app.MappingStore: a change whose plan reserves seats holds
// its transaction's connection while the ledger needs one of its own, so at most
// half the pool's connections are held that way and the ledger always finds one.
func (s *Store) Reserving(ctx context.Context) (func(), error) {
	select {
	case s.changes <- struct{}{}:
		return func() { <-s.changes }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// LiveMappings implements app.MappingStore.
func (s *Store) LiveMappings(ctx context.Context, tenant, deviceID string) (app.LockedDevice, []app.Held, error) {
	d := app.LockedDevice{ID: deviceID}
	err := s.pool.QueryRow(ctx, `SELECT coalesce(account_id, ''), status, sequence FROM devices WHERE tenant_id = $1 AND id = $2`, tenant, deviceID).
		Scan(&d.AccountID, &d.Status, &d.Sequence)
	if errors.Is(err, pgx.ErrNoRows) {
		return d, nil, errs.NotFound("device", deviceID)
	}
	if err != nil {
		return d, nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+liveCols+` FROM device_line_items m JOIN seat_claims c ON c.id = m.claim_id
		WHERE m.tenant_id = $1 AND m.device_id = $2 AND m.ended_at IS NULL ORDER BY m.created_at, m.id`, tenant, deviceID)
	if err != nil {
		return d, nil, err
	}
	live, err := pgx.CollectRows(rows, scanHeld)
	return d, live, err
}

func empty(c app.Change) bool {
	return len(c.End) == 0 && len(c.Add) == 0 && len(c.Commit) == 0 && len(c.Adopt) == 0 &&
		c.Owner == nil && c.Return == nil && len(c.Events) == 0
}

func apply(ctx context.Context, tx pgx.Tx, tenant string, live []app.Held, c app.Change) error {
	touched := map[string]bool{}
	deviceOf := map[uuid.UUID]string{}
	for _, h := range live {
		deviceOf[h.ID] = h.DeviceID
	}
	for _, e := range c.End {
		tag, err := tx.Exec(ctx, `UPDATE device_line_items SET ended_at = now(), end_reason = $3
			WHERE tenant_id = $1 AND id = $2 AND ended_at IS NULL`, tenant, e.ID, e.Reason)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return errs.Aborted("MAPPING_CHANGED", "a mapping changed meanwhile; retry")
		}
		touched[deviceOf[e.ID]] = true
	}
	for _, claim := range c.Adopt {
		if err := seats.Adopt(ctx, tx, claim); err != nil {
			return err
		}
	}
	for _, id := range c.Commit {
		if err := seats.Commit(ctx, tx, id); err != nil {
			return err
		}
	}
	for _, n := range c.Add {
		if _, err := tx.Exec(ctx, `INSERT INTO device_line_items (id, tenant_id, device_id, activation_id, account_id, product_id, quantity,
				request_id, claim_id, expire_at, configured_expire_at, replaces)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			n.ID, tenant, n.DeviceID, n.ActivationID, n.AccountID, n.ProductID, n.Quantity, n.RequestID, n.ClaimID,
			nullTime(n.ExpireAt), nullTime(n.ConfiguredExpireAt), n.Replaces); err != nil {
			return err
		}
		touched[n.DeviceID] = true
	}
	if c.Owner != nil {
		if _, err := tx.Exec(ctx, `UPDATE devices SET account_id = $3 WHERE tenant_id = $1 AND id = $2`, tenant, c.Device, *c.Owner); err != nil {
			return err
		}
		touched[c.Device] = true
	}
	if r := c.Return; r != nil {
		if _, err := tx.Exec(ctx, `UPDATE devices SET status = 'returned', return_time = $3, rma_number = $4, returned_to = $5
			WHERE tenant_id = $1 AND id = $2`, tenant, c.Device, r.Time, r.RMANumber, pg.NullIfEmpty(r.DestinationDevice)); err != nil {
			return err
		}
		touched[c.Device] = true
	}
	var bump []string
	for id := range touched {
		if id != "" {
			bump = append(bump, id)
		}
	}
	if len(bump) > 0 {
		// What the devices hold changed: capability responses count by it (DEV-9).
		if _, err := tx.Exec(ctx, `UPDATE devices SET sequence = sequence + 1, updated_at = now() WHERE tenant_id = $1 AND id = ANY($2)`, tenant, bump); err != nil {
			return err
		}
	}
	// The events go in one round trip, without a notification: ChangeDevices wakes
	// the relay after the commit (events.Waker).
	var o events.Outbox
	for _, e := range c.Events {
		if _, err := o.Add(ctx, events.Subject("device", e.Entity, e.Verb), tenant, e.Msg); err != nil {
			return err
		}
	}
	b := &pgx.Batch{}
	o.Queue(b)
	if b.Len() == 0 {
		return nil
	}
	return tx.SendBatch(ctx, b).Close()
}

// ExpiredOverrides lists live mappings of every tenant whose override expired by
// now, oldest first.
func (s *Store) ExpiredOverrides(ctx context.Context, now time.Time, limit int) ([]app.ExpiredOverride, error) {
	rows, err := s.pool.Query(ctx, `SELECT tenant_id, device_id, id FROM device_line_items
		WHERE ended_at IS NULL AND expire_at IS NOT NULL AND expire_at <= $1 ORDER BY expire_at, id LIMIT $2`, now, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (app.ExpiredOverride, error) {
		var o app.ExpiredOverride
		return o, r.Scan(&o.TenantID, &o.DeviceID, &o.ID)
	})
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
