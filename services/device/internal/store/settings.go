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

// UpdateSettings stores the tenant's device settings with their event.
func (s *Store) UpdateSettings(ctx context.Context, tenant string, in app.Settings) (app.Settings, error) {
	out := in
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO device_settings (tenant_id, skip_account_check, device_user_mode) VALUES ($1, $2, $3)
			ON CONFLICT (tenant_id) DO UPDATE SET skip_account_check = $2, device_user_mode = $3, updated_at = now()
			RETURNING updated_at`, tenant, in.SkipAccountCheck, in.DeviceUserMode).Scan(&out.UpdateTime)
		if err != nil {
			return err
		}
		_, err = events.Write(ctx, tx, events.Subject("device", "settings", "updated"), tenant,
			&eventspb.DeviceSettingsUpdated{SkipAccountCheck: in.SkipAccountCheck, DeviceUserMode: in.DeviceUserMode})
		return err
	})
	return out, err
}
