package store

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	eventspb "github.com/tessera-dev/tessera/gen/tessera/events/v1"
	"github.com/tessera-dev/tessera/services/device/internal/app"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/events"
)

// CreateIDType stores a publisher-defined ID type with its event.
func (s *Store) CreateIDType(ctx context.Context, tenant string, t app.IDType) (app.IDType, error) {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO device_id_types (tenant_id, id_type, display_name, pattern, case_insensitive)
			VALUES ($1, $2, $3, $4, $5) RETURNING created_at`, tenant, t.Name, t.DisplayName, t.Pattern, t.CaseInsensitive).Scan(&t.CreateTime)
		if err != nil {
			return err
		}
		_, err = events.Write(ctx, tx, events.Subject("device", "id_type", "created"), tenant,
			&eventspb.DeviceIdTypeCreated{IdType: t.Name, Pattern: t.Pattern, CaseInsensitive: t.CaseInsensitive})
		return err
	})
	if e := errs.FromPostgres(err); e != nil && e.Kind == errs.KindAlreadyExists {
		return app.IDType{}, errs.AlreadyExists("device ID type", t.Name)
	}
	return t, err
}

// IDType reads one of the tenant's ID types.
func (s *Store) IDType(ctx context.Context, tenant, name string) (app.IDType, bool, error) {
	t := app.IDType{Name: name}
	err := s.pool.QueryRow(ctx, `SELECT display_name, pattern, case_insensitive, created_at FROM device_id_types
		WHERE tenant_id = $1 AND id_type = $2`, tenant, name).Scan(&t.DisplayName, &t.Pattern, &t.CaseInsensitive, &t.CreateTime)
	if errors.Is(err, pgx.ErrNoRows) {
		return app.IDType{}, false, nil
	}
	return t, err == nil, err
}

// ListIDTypes lists the tenant's ID types by name.
func (s *Store) ListIDTypes(ctx context.Context, tenant string) ([]app.IDType, error) {
	rows, err := s.pool.Query(ctx, `SELECT id_type, display_name, pattern, case_insensitive, created_at FROM device_id_types
		WHERE tenant_id = $1 ORDER BY id_type`, tenant)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (app.IDType, error) {
		var t app.IDType
		return t, r.Scan(&t.Name, &t.DisplayName, &t.Pattern, &t.CaseInsensitive, &t.CreateTime)
	})
}
