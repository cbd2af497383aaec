package store

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-dev/tessera/services/license/internal/app"
)

// Settings reads the tenant's license settings; a tenant that never changed them
// has the defaults.
func (s *Store) Settings(ctx context.Context, tenant string) (app.Settings, error) {
	return s.settings.GetOr(tenant, func() (app.Settings, error) {
		var out app.Settings
		err := s.pool.QueryRow(ctx, `SELECT relax_ip_validation, updated_at FROM license_settings WHERE tenant_id = $1`, tenant).
			Scan(&out.RelaxIPValidation, &out.UpdateTime)
		if errors.Is(err, pgx.ErrNoRows) {
			return app.Settings{}, nil
		}
		return out, err
	})
}

// UpdateSettings applies fn to the tenant's settings under a row lock.
func (s *Store) UpdateSettings(ctx context.Context, tenant string, fn func(*app.Settings) error) (app.Settings, error) {
	var out app.Settings
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO license_settings (tenant_id) VALUES ($1) ON CONFLICT DO NOTHING`, tenant); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT relax_ip_validation FROM license_settings WHERE tenant_id = $1 FOR UPDATE`, tenant).Scan(&out.RelaxIPValidation); err != nil {
			return err
		}
		if err := fn(&out); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `UPDATE license_settings SET relax_ip_validation = $2, updated_at = now() WHERE tenant_id = $1 RETURNING updated_at`,
			tenant, out.RelaxIPValidation).Scan(&out.UpdateTime)
	})
	s.settings.Delete(tenant)
	return out, err
}
