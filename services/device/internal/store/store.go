// Package store keeps the device service's data in Postgres.
package store

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	eventspb "github.com/tessera-dev/tessera/gen/tessera/events/v1"
	"github.com/tessera-dev/tessera/services/device/internal/app"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/events"
	"github.com/tessera-dev/tessera/services/platform/pg"
	"github.com/tessera-dev/tessera/services/platform/seats"
)

// Store implements app.Store.
type Store struct{ pool *pgxpool.Pool }

// New returns a store over pool (search path: the device schema).
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// CreateDevice stores a device, or returns the one created earlier under the same
// request ID.
func (s *Store) CreateDevice(ctx context.Context, tenant string, d app.Device) (app.Device, error) {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO devices (tenant_id, id, account_id, display_name, host_id, device_type, request_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, tenant, d.ID, d.AccountID, d.DisplayName, d.HostID, d.Type, pg.NullIfEmpty(d.RequestID)); err != nil {
			return err
		}
		_, err := events.Write(ctx, tx, events.Subject("device", "device", "created"), tenant, &eventspb.DeviceCreated{
			DeviceId: d.ID, AccountId: d.AccountID, HostId: d.HostID, Type: d.Type, DisplayName: d.DisplayName,
		})
		return err
	})
	if e := errs.FromPostgres(err); e != nil && e.Kind == errs.KindAlreadyExists {
		if prev, perr := s.GetDevice(ctx, tenant, d.ID); perr == nil && d.RequestID != "" && prev.RequestID == d.RequestID {
			return prev, nil
		}
		return app.Device{}, errs.AlreadyExists("device", d.ID)
	}
	if err != nil {
		return app.Device{}, err
	}
	return s.GetDevice(ctx, tenant, d.ID)
}

// GetDevice reads a device with its mapped seats summed per line item.
func (s *Store) GetDevice(ctx context.Context, tenant, id string) (app.Device, error) {
	var d app.Device
	err := s.pool.QueryRow(ctx, `SELECT id, account_id, display_name, host_id, device_type, coalesce(request_id, ''), created_at
		FROM devices WHERE tenant_id = $1 AND id = $2`, tenant, id).
		Scan(&d.ID, &d.AccountID, &d.DisplayName, &d.HostID, &d.Type, &d.RequestID, &d.CreateTime)
	if errors.Is(err, pgx.ErrNoRows) {
		return d, errs.NotFound("device", id)
	}
	if err != nil {
		return d, err
	}
	rows, err := s.pool.Query(ctx, `SELECT activation_id, account_id, product_id, sum(quantity)::bigint FROM device_line_items
		WHERE tenant_id = $1 AND device_id = $2 AND ended_at IS NULL GROUP BY activation_id, account_id, product_id ORDER BY activation_id`, tenant, id)
	if err != nil {
		return d, err
	}
	d.Mappings, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (app.Mapping, error) {
		var m app.Mapping
		return m, r.Scan(&m.ActivationID, &m.AccountID, &m.ProductID, &m.Quantity)
	})
	return d, err
}

// MappingByRequest returns the mapping a request ID produced and its device, if any.
func (s *Store) MappingByRequest(ctx context.Context, tenant, requestID string) (string, app.Mapping, bool, error) {
	var deviceID string
	m := app.Mapping{RequestID: requestID}
	err := s.pool.QueryRow(ctx, `SELECT device_id, activation_id, quantity, claim_id FROM device_line_items WHERE tenant_id = $1 AND request_id = $2`, tenant, requestID).
		Scan(&deviceID, &m.ActivationID, &m.Quantity, &m.ClaimID)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", app.Mapping{}, false, nil
	}
	return deviceID, m, err == nil, err
}

// AddMapping stores a mapping, commits its seat claim and writes the event.
func (s *Store) AddMapping(ctx context.Context, tenant, deviceID string, m app.Mapping) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO device_line_items (id, tenant_id, device_id, activation_id, quantity, request_id, claim_id, account_id)
			VALUES ($6, $1, $2, $3, $4, $5, $6, $7)`, tenant, deviceID, m.ActivationID, m.Quantity, m.RequestID, m.ClaimID, m.AccountID); err != nil {
			return err
		}
		if err := seats.Commit(ctx, tx, m.ClaimID); err != nil {
			return err
		}
		_, err := events.Write(ctx, tx, events.Subject("device", "device", "line_item_mapped"), tenant,
			&eventspb.DeviceLineItemMapped{DeviceId: deviceID, ActivationId: m.ActivationID, Quantity: m.Quantity})
		return err
	})
}

// CountDevices counts the devices of the accounts.
func (s *Store) CountDevices(ctx context.Context, tenant string, accountIDs []string) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM devices WHERE tenant_id = $1 AND account_id = ANY($2)`, tenant, accountIDs).Scan(&n)
	return n, err
}
