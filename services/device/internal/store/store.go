// Package store keeps the device service's data in Postgres.
package store

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	eventspb "github.com/tessera-dev/tessera/gen/tessera/events/v1"
	"github.com/tessera-dev/tessera/services/device/internal/app"
	"github.com/tessera-dev/tessera/services/platform/events"
	"github.com/tessera-dev/tessera/services/platform/seats"
)

// Store implements app.Store.
type Store struct{ pool *pgxpool.Pool }

// New returns a store over pool (search path: the device schema).
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

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
