// Package store keeps the device service's data in Postgres.
package store

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tessera-dev/tessera/services/device/internal/app"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/pg"
)

// Store implements app.Store.
type Store struct {
	pool *pgxpool.Pool
	// changes bounds the device changes in flight (see ChangeDevices).
	changes chan struct{}
}

// New returns a store over pool (search path: the device schema).
func New(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool, changes: make(chan struct{}, max(1, pool.Config().MaxConns/2))}
}

// CreateDevice stores a device, or returns the one created earlier under the same
// request ID.
func (s *Store) CreateDevice(ctx context.Context, tenant string, d app.Device) (app.Device, error) {
	_, err := s.pool.Exec(ctx, `INSERT INTO devices (tenant_id, id, account_id, display_name, host_id, device_type, request_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, tenant, d.ID, d.AccountID, d.DisplayName, d.HostID, d.Type, pg.NullIfEmpty(d.RequestID))
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
	err := s.pool.QueryRow(ctx, `SELECT id, coalesce(account_id, ''), display_name, host_id, device_type, coalesce(request_id, ''), created_at
		FROM devices WHERE tenant_id = $1 AND id = $2`, tenant, id).
		Scan(&d.ID, &d.AccountID, &d.DisplayName, &d.HostID, &d.Type, &d.RequestID, &d.CreateTime)
	if errors.Is(err, pgx.ErrNoRows) {
		return d, errs.NotFound("device", id)
	}
	if err != nil {
		return d, err
	}
	rows, err := s.pool.Query(ctx, `SELECT activation_id, account_id, sum(quantity)::bigint FROM device_line_items
		WHERE tenant_id = $1 AND device_id = $2 AND ended_at IS NULL GROUP BY activation_id, account_id ORDER BY activation_id`, tenant, id)
	if err != nil {
		return d, err
	}
	d.Mappings, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (app.Mapping, error) {
		var m app.Mapping
		return m, r.Scan(&m.ActivationID, &m.AccountID, &m.Quantity)
	})
	return d, err
}

// CountDevices counts the devices of the accounts.
func (s *Store) CountDevices(ctx context.Context, tenant string, accountIDs []string) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM devices WHERE tenant_id = $1 AND account_id = ANY($2)`, tenant, accountIDs).Scan(&n)
	return n, err
}
