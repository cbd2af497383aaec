package store

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	eventspb "github.com/tessera-dev/tessera/gen/tessera/events/v1"
	"github.com/tessera-dev/tessera/services/device/internal/app"
	"github.com/tessera-dev/tessera/services/platform/events"
)

// GetSettings reads the tenant's device settings (the defaults without a row).
func (s *Store) GetSettings(ctx context.Context, tenant string) (app.Settings, error) {
	var out app.Settings
	err := s.pool.QueryRow(ctx, `SELECT skip_account_check, device_user_mode, updated_at FROM device_settings WHERE tenant_id = $1`, tenant).
		Scan(&out.SkipAccountCheck, &out.DeviceUserMode, &out.UpdateTime)
	if errors.Is(err, pgx.ErrNoRows) {
		return app.DefaultSettings, nil
	}
	return out, err
}

// UpdateSettings changes the tenant's device settings under their row lock (a
// tenant without a row starts from the defaults) and writes their event.
func (s *Store) UpdateSettings(ctx context.Context, tenant string, change func(*app.Settings)) (app.Settings, error) {
	var out app.Settings
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO device_settings (tenant_id, skip_account_check, device_user_mode) VALUES ($1, $2, $3)
			ON CONFLICT (tenant_id) DO NOTHING`, tenant, app.DefaultSettings.SkipAccountCheck, app.DefaultSettings.DeviceUserMode); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT skip_account_check, device_user_mode FROM device_settings WHERE tenant_id = $1 FOR UPDATE`, tenant).
			Scan(&out.SkipAccountCheck, &out.DeviceUserMode); err != nil {
			return err
		}
		change(&out)
		if err := tx.QueryRow(ctx, `UPDATE device_settings SET skip_account_check = $2, device_user_mode = $3, updated_at = now()
			WHERE tenant_id = $1 RETURNING updated_at`, tenant, out.SkipAccountCheck, out.DeviceUserMode).Scan(&out.UpdateTime); err != nil {
			return err
		}
		_, err := events.Write(ctx, tx, events.Subject("device", "settings", "updated"), tenant,
			&eventspb.DeviceSettingsUpdated{SkipAccountCheck: out.SkipAccountCheck, DeviceUserMode: out.DeviceUserMode})
		return err
	})
	return out, err
}
